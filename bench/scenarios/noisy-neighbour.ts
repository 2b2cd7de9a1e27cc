// Noisy neighbour: tenant B sends 100 events/s to one healthy endpoint; tenant A has 500 endpoints
// that accept the connection and never answer (each attempt waits for HOOKLINE_TIMEOUT). B's p99
// send-to-receive latency with A active is compared with B's p99 alone, measured in the same run.
// A sends one event (500 deliveries) every BENCH_NOISY_A_INTERVAL_MS (default 5 s: 100 hanging
// deliveries/s, the same delivery volume as B) from 5 s before B's window until its end.
import { sendEvent } from '../../server/events/send.js';
import { describeCpu, startCpuMeter } from '../lib/cpu.js';
import { envInt, now, sleep } from '../lib/clock.js';
import { BENCH_EVENT_TYPE, benchPayload, createTenants, startHookline } from '../lib/hookline.js';
import { describeLatency, joinLatencies, latencySamples, type LatencyReport } from '../lib/latency.js';
import { sendOpenLoop } from '../lib/load.js';
import { startReceiver } from '../lib/receiver.js';
import type { Figure, ScenarioResult } from '../lib/report.js';
import { layoutLines, type Scenario } from '../lib/scenario.js';

export const noisyNeighbourScenario: Scenario = {
  name: 'noisy-neighbour',
  title: "a tenant with 500 black-hole endpoints vs another tenant's latency",
  needsCeilings: false,
  async run(context): Promise<ScenarioResult> {
    const rateB = envInt('BENCH_NOISY_B_RATE', 100);
    const seconds = envInt('BENCH_NOISY_SECONDS', 20);
    const endpointsA = envInt('BENCH_NOISY_A_ENDPOINTS', 500);
    const intervalA = envInt('BENCH_NOISY_A_INTERVAL_MS', 5000);
    const leadInMs = 5000;
    const database = await context.server.fresh('noisy');
    const receiver = await startReceiver({ mode: 'ok', record: true });
    const blackHole = await startReceiver({ mode: 'hang' });
    const hookline = await startHookline(database);
    try {
      const [tenantB] = await createTenants(hookline, {
        label: 'noisy-b',
        tenants: 1,
        endpointsPerTenant: 1,
        urlFor: () => `${receiver.urls[0]}/tenant-b`,
      });
      context.log(`noisy-neighbour: registering ${endpointsA} black-hole endpoints for tenant A`);
      const [tenantA] = await createTenants(hookline, {
        label: 'noisy-a',
        tenants: 1,
        endpointsPerTenant: endpointsA,
        urlFor: (_t, e) => `${blackHole.urls[0]}/tenant-a/${e}`,
      });
      const api = hookline.apiRuntime.deps;
      const worker = await hookline.startWorker();

      const measureB = async (
        label: string,
      ): Promise<{ report: LatencyReport; complete: boolean; samples: Array<{ at: number; ms: number }> }> => {
        const base = (await receiver.stats()).count;
        await receiver.takeArrivals();
        context.log(`noisy-neighbour: B at ${rateB}/s for ${seconds} s (${label})`);
        const run = await sendOpenLoop(api, { tenantIds: [tenantB!.id], ratePerSecond: rateB, durationMs: seconds * 1000 });
        const complete = await receiver
          .waitForCount(base + run.sent.length, 60_000)
          .then(() => true)
          .catch(() => false);
        const arrivals = await receiver.takeArrivals();
        return { report: joinLatencies(run.sent, arrivals), complete, samples: latencySamples(run.sent, arrivals) };
      };

      // Warm-up, then B alone.
      await sendOpenLoop(api, { tenantIds: [tenantB!.id], ratePerSecond: rateB, durationMs: 2000 });
      await sleep(1000);
      const cpuAlone = startCpuMeter();
      const alone = await measureB('alone');
      const usageAlone = cpuAlone.stop();

      // A starts its black-hole traffic, then B again.
      const stopA = new AbortController();
      let eventsA = 0;
      const sendsA: number[] = [];
      const sendingA = (async () => {
        while (!stopA.signal.aborted) {
          sendsA.push(now());
          await sendEvent(api, tenantA!.id, { type: BENCH_EVENT_TYPE, payload: benchPayload(eventsA++) });
          await sleep(intervalA);
        }
      })();
      const attemptsBeforeA = { ...worker.attempts.byOutcome };
      // Every job ever added takes the next id, so the id sequence counts re-queued jobs too.
      const jobIds = async () => {
        const [row] = await hookline.workerRuntime.deps.sql<{ last: string }[]>`
          select coalesce(pg_sequence_last_value(pg_get_serial_sequence('graphile_worker._private_jobs', 'id')), 0)::text as last`;
        return Number(row!.last);
      };
      const jobIdsBeforeA = await jobIds();
      context.log(`noisy-neighbour: tenant A active (${endpointsA} deliveries every ${intervalA} ms), ${leadInMs} ms lead-in`);
      await sleep(leadInMs);
      const cpuNoisy = startCpuMeter();
      const noisy = await measureB('with A');
      const usageNoisy = cpuNoisy.stop();
      stopA.abort();
      await sendingA;
      const jobsAdded = (await jobIds()) - jobIdsBeforeA;
      const attemptsA = {
        timedOut: worker.attempts.byOutcome.retry - attemptsBeforeA.retry,
        failed: worker.attempts.byOutcome.failed - attemptsBeforeA.failed,
      };
      // Cut A's hanging requests so the worker stops promptly (they are recorded as errors).
      await blackHole.close();
      await worker.stop();

      const ratio = noisy.report.endToEnd.p99 / alone.report.endToEnd.p99;
      const tail = whereTheTailSits(noisy.samples, noisy.report.endToEnd.p95, sendsA, hookline.config.timeoutMs);
      // Jobs added beyond B's events, A's deliveries and A's retries: fairness deferrals.
      const deferred = jobsAdded - noisy.report.sent - eventsA * endpointsA - attemptsA.timedOut;
      const figures: Figure[] = [
        { name: 'B p99 alone', value: alone.report.endToEnd.p99, unit: 'ms', note: `p50 ${alone.report.endToEnd.p50.toFixed(1)} ms` },
        {
          name: 'B p99 with A',
          value: noisy.report.endToEnd.p99,
          unit: 'ms',
          note: `p50 ${noisy.report.endToEnd.p50.toFixed(1)} ms, max ${noisy.report.endToEnd.max.toFixed(0)} ms`,
        },
        { name: 'B p99 with A / alone', value: ratio, unit: '×', goal: { op: '<=', target: 2 } },
        { name: 'B events received with A', value: noisy.report.received, unit: `of ${noisy.report.sent}` },
        {
          name: "A's attempts recorded (timed out)",
          value: attemptsA.timedOut + attemptsA.failed,
          unit: 'attempts',
          note: `${eventsA} A events = ${eventsA * endpointsA} deliveries`,
        },
        {
          name: "A's jobs re-queued by fairness",
          value: deferred,
          unit: 'jobs',
          note: `${Math.round(deferred / (leadInMs / 1000 + seconds))}/s while A was active`,
        },
      ];
      return {
        scenario: 'noisy-neighbour',
        title: noisyNeighbourScenario.title,
        context: [
          `B: 1 endpoint, ${rateB} events/s open loop for ${seconds} s, alone and then with A; latency = intended send → arrival (missing = ∞)`,
          `A: ${endpointsA} endpoints on a loopback server that accepts and never answers; one event every ${intervalA} ms ` +
            `from ${leadInMs / 1000} s before B's window; per-attempt timeout ${hookline.config.timeoutMs} ms; fairness cap ${Math.floor(hookline.config.workerConcurrency / 2)} slots per tenant`,
          `B alone: ${describeLatency(alone.report)}${alone.complete ? '' : ' — INCOMPLETE'}`,
          `B with A: ${describeLatency(noisy.report)}${noisy.complete ? '' : ' — INCOMPLETE within 60 s'}`,
          ...layoutLines(context, hookline),
          `alone: ${describeCpu(usageAlone)}`,
          `with A: ${describeCpu(usageNoisy)}`,
          `B's slowest 5 % with A (≥ ${noisy.report.endToEnd.p95.toFixed(0)} ms), by when they were sent — ${tail.line}`,
        ],
        figures,
        details: {
          rateB,
          seconds,
          endpointsA,
          intervalA,
          eventsA,
          attemptsA,
          jobsAdded,
          deferred,
          tail: tail.counts,
          alone: alone.report,
          noisy: noisy.report,
          cpu: { alone: usageAlone, noisy: usageNoisy },
        },
      };
    } finally {
      await hookline.close();
      await blackHole.close();
      await receiver.close();
      await database.drop();
    }
  },
};

/**
 * Where B's slow events sit relative to A's activity: within a second after one of A's sends (its
 * 500 deliveries arriving), within a second after A's deliveries of one send time out together
 * (a send's attempts started together, so they end together), or elsewhere.
 */
function whereTheTailSits(
  samples: Array<{ at: number; ms: number }>,
  threshold: number,
  sendsA: number[],
  timeoutMs: number,
): { counts: Record<string, number>; line: string } {
  const counts = { afterSend: 0, afterTimeouts: 0, elsewhere: 0 };
  const within = (at: number, starts: number[]) => starts.some((start) => at >= start && at < start + 1000);
  const timeouts = sendsA.map((sentAt) => sentAt + timeoutMs);
  for (const sample of samples) {
    if (sample.ms < threshold) continue;
    if (within(sample.at, sendsA)) counts.afterSend++;
    else if (within(sample.at, timeouts)) counts.afterTimeouts++;
    else counts.elsewhere++;
  }
  const share = `${sendsA.length} A sends, a 1 s window after each`;
  return {
    counts,
    line: `≤ 1 s after an A send: ${counts.afterSend}; ≤ 1 s after A's attempts of one send time out: ${counts.afterTimeouts}; elsewhere: ${counts.elsewhere} (${share})`,
  };
}
