// Latency: an open loop of 200 events/s for 30 s (10 tenants × 1 endpoint) and the time from each
// event's intended send time to its arrival at the receiver. Split into the API's share (sendEvent
// committing the event, delivery and job) and the worker's (pickup, load, sign, POST).
import { describeCpu, startCpuMeter } from '../lib/cpu.js';
import { envInt, sleep } from '../lib/clock.js';
import { createTenants, startHookline } from '../lib/hookline.js';
import { describeLatency, joinLatencies } from '../lib/latency.js';
import { sendOpenLoop } from '../lib/load.js';
import { startReceiver } from '../lib/receiver.js';
import type { Figure, ScenarioResult } from '../lib/report.js';
import { layoutLines, type Scenario } from '../lib/scenario.js';

export const latencyScenario: Scenario = {
  name: 'latency',
  title: 'send-to-receive latency under a steady open-loop load',
  needsCeilings: false,
  async run(context): Promise<ScenarioResult> {
    const rate = envInt('BENCH_LATENCY_RATE', 200);
    const seconds = envInt('BENCH_LATENCY_SECONDS', 30);
    const warmupSeconds = envInt('BENCH_LATENCY_WARMUP_SECONDS', 10);
    const database = await context.server.fresh('latency');
    const receiver = await startReceiver({ mode: 'ok', record: true });
    const hookline = await startHookline(database);
    try {
      const tenants = await createTenants(hookline, {
        label: 'latency',
        tenants: 10,
        endpointsPerTenant: 1,
        urlFor: (t) => `${receiver.urls[0]}/tenant-${t}`,
      });
      const tenantIds = tenants.map((t) => t.id);
      const api = hookline.apiRuntime.deps;
      const worker = await hookline.startWorker();

      context.log(`latency: warm-up, ${warmupSeconds} s at ${rate}/s`);
      const warm = await sendOpenLoop(api, { tenantIds, ratePerSecond: rate, durationMs: warmupSeconds * 1000 });
      await receiver.waitForCount(warm.sent.length, 60_000);
      await sleep(500);
      await receiver.takeArrivals();
      const base = (await receiver.stats()).count;

      context.log(`latency: ${seconds} s at ${rate} events/s (open loop)`);
      const cpu = startCpuMeter();
      const run = await sendOpenLoop(api, { tenantIds, ratePerSecond: rate, durationMs: seconds * 1000, offset: warm.sent.length });
      const complete = await receiver
        .waitForCount(base + run.sent.length, 60_000)
        .then(() => true)
        .catch(() => false);
      const usage = cpu.stop();
      const report = joinLatencies(run.sent, await receiver.takeArrivals());
      await worker.stop();

      const e = report.endToEnd;
      const achievedRate = run.sent.length / seconds;
      const figures: Figure[] = [
        { name: 'send-to-receive p50', value: e.p50, unit: 'ms', goal: { op: '<=', target: 10 } },
        { name: 'send-to-receive p95', value: e.p95, unit: 'ms' },
        { name: 'send-to-receive p99', value: e.p99, unit: 'ms', goal: { op: '<=', target: 50 } },
        { name: 'send-to-receive max', value: e.max, unit: 'ms' },
        { name: 'API share: sendEvent p50 / p99', value: report.send.p50, unit: 'ms', note: `p99 ${report.send.p99.toFixed(1)} ms` },
        {
          name: 'worker share: commit → receive p50 / p99',
          value: report.afterCommit.p50,
          unit: 'ms',
          note: `p99 ${report.afterCommit.p99.toFixed(1)} ms`,
        },
      ];
      return {
        scenario: 'latency',
        title: latencyScenario.title,
        context: [
          `open loop: ${run.sent.length} events at ${rate}/s for ${seconds} s (${achievedRate.toFixed(0)}/s sent; ${run.failed.length} sends failed; ` +
            `sender lag max ${run.maxLagMs.toFixed(1)} ms), after a ${warmupSeconds} s warm-up; 10 tenants × 1 endpoint`,
          `latency = receiver arrival − the event's intended send time (includes sendEvent); ${complete ? 'every event arrived' : 'NOT every event arrived within 60 s: missing ones count as ∞'}`,
          ...layoutLines(context, hookline),
          describeCpu(usage),
        ],
        figures,
        details: {
          rate,
          seconds,
          report,
          summary: describeLatency(report),
          sendFailures: run.failed.slice(0, 5),
          maxLagMs: run.maxLagMs,
          cpu: usage,
        },
      };
    } finally {
      await hookline.close();
      await receiver.close();
      await database.drop();
    }
  },
};
