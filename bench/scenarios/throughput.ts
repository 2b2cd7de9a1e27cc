// Throughput: 20,000 events to 10 tenants × 1 endpoint each, end to end — from the first send to
// the last attempt recorded (sent → signed POST received → attempt row committed). Sending and
// delivering overlap, as they do in production. Then, to tell the two sides apart, the worker
// alone: the same number of deliveries queued in bulk beforehand, drained from a standing start.
import { describeCpu, startCpuMeter } from '../lib/cpu.js';
import { envInt, now, sleep } from '../lib/clock.js';
import { createTenants, startHookline } from '../lib/hookline.js';
import { sendClosedLoop } from '../lib/load.js';
import { queueDeliveriesBySql } from '../lib/queue.js';
import { startReceiver } from '../lib/receiver.js';
import type { Figure, ScenarioResult } from '../lib/report.js';
import { layoutLines, type Scenario } from '../lib/scenario.js';
import { perSecond, summarize } from '../lib/stats.js';

export const throughputScenario: Scenario = {
  name: 'throughput',
  title: 'deliveries per second end to end',
  needsCeilings: true,
  async run(context): Promise<ScenarioResult> {
    const total = envInt('BENCH_EVENTS', 20_000);
    const tenantCount = 10;
    const senders = envInt('BENCH_SEND_CONCURRENCY', 10);
    const warmup = Math.min(1000, total);
    const database = await context.server.fresh('throughput');
    const receiver = await startReceiver({ mode: 'ok' });
    const hookline = await startHookline(database);
    try {
      const tenants = await createTenants(hookline, {
        label: 'throughput',
        tenants: tenantCount,
        endpointsPerTenant: 1,
        urlFor: (t) => `${receiver.urls[0]}/tenant-${t}`,
      });
      const tenantIds = tenants.map((t) => t.id);
      const api = hookline.apiRuntime.deps;
      let worker = await hookline.startWorker();

      context.log(`throughput: warm-up with ${warmup} events`);
      await sendClosedLoop(api, { tenantIds, total: warmup, concurrency: senders });
      await worker.attempts.waitFor(warmup, 120_000);
      await sleep(500);

      // Phase 1: end to end, sending while delivering.
      context.log(`throughput: sending ${total} events with ${senders} concurrent senders`);
      const before = worker.attempts.total;
      const cpuEndToEnd = startCpuMeter();
      const send = await sendClosedLoop(api, { tenantIds, total, concurrency: senders, offset: warmup });
      const attemptsAtSendEnd = worker.attempts.total - before;
      await worker.attempts.waitFor(before + total, 600_000);
      const lastRecordedAt = worker.attempts.lastAt!;
      const cpu1 = cpuEndToEnd.stop();
      const succeeded1 = worker.attempts.byOutcome.succeeded;
      await worker.stop();

      // Phase 2: the worker alone, from a queue filled beforehand.
      context.log(`throughput: worker alone — queueing ${total} deliveries in bulk, then draining`);
      const queueMs = await queueDeliveriesBySql(hookline.workerRuntime.deps.sql, { tenants, label: 'drain', from: 1, to: total });
      const cpuDrain = startCpuMeter();
      const drainStartedAt = now();
      worker = await hookline.startWorker();
      await worker.attempts.waitFor(total, 600_000);
      const drainMs = worker.attempts.lastAt! - drainStartedAt;
      const cpu2 = cpuDrain.stop();
      const succeeded2 = worker.attempts.byOutcome.succeeded;
      await worker.stop();

      const received = await receiver.stats();
      const [dbCheck] = await hookline.workerRuntime.deps.sql<{ succeeded: number; pending: number }[]>`
        select count(*) filter (where status = 'succeeded')::int as succeeded,
               count(*) filter (where status = 'pending')::int as pending from deliveries`;

      const elapsedMs = lastRecordedAt - send.startedAt;
      const rate = perSecond(total, elapsedMs);
      const sendRate = perSecond(total, send.endedAt - send.startedAt);
      const drainRate = perSecond(total, drainMs);
      const ceilings = context.ceilings!;
      const sendMs = summarize(send.sent.map((s) => s.sendMs));
      const figures: Figure[] = [
        { name: 'deliveries/s end to end', value: rate, unit: 'deliveries/s', goal: { op: '>=', target: 5000 }, note: `${total} in ${Math.round(elapsedMs)} ms` },
        {
          name: 'end to end vs combined ceiling',
          value: rate / ceilings.combinedPerSecond,
          unit: '×',
          goal: { op: '>=', target: 0.4 },
          goalText: `(ceiling ${Math.round(ceilings.combinedPerSecond)}/s)`,
        },
        {
          name: 'send rate while delivering',
          value: sendRate,
          unit: 'events/s',
          note: `sendEvent, ${senders} senders; p50 ${sendMs.p50.toFixed(1)} ms, p99 ${sendMs.p99.toFixed(1)} ms; ${attemptsAtSendEnd} delivered by the last send`,
        },
        { name: 'worker alone: deliveries/s from a filled queue', value: drainRate, unit: 'deliveries/s', note: `${total} queued in bulk (${Math.round(queueMs)} ms), drained in ${Math.round(drainMs)} ms` },
        { name: 'worker alone vs combined ceiling', value: drainRate / ceilings.combinedPerSecond, unit: '×' },
      ];
      const problems = [
        succeeded1 < total + warmup || succeeded2 < total ? 'not every attempt succeeded' : '',
        received.unsigned > 0 ? `${received.unsigned} unsigned requests` : '',
        dbCheck!.succeeded < 2 * total + warmup || dbCheck!.pending > 0 ? `database shows ${dbCheck!.succeeded} succeeded, ${dbCheck!.pending} pending` : '',
      ].filter(Boolean);
      return {
        scenario: 'throughput',
        title: throughputScenario.title,
        context: [
          `${total} events (after ${warmup} warm-up) round-robin to ${tenantCount} tenants × 1 endpoint; one receiver origin, a path per tenant`,
          ...layoutLines(context, hookline),
          `timed from the first send to the last attempt recorded (onAttempt, after the attempt's transaction commits)`,
          `end to end: ${describeCpu(cpu1)}`,
          `worker alone: ${describeCpu(cpu2)}`,
          `checks: ${problems.length ? problems.join('; ') : `all ${2 * total + warmup} deliveries succeeded, every request signed, database agrees`}`,
        ],
        figures,
        details: {
          total,
          warmup,
          senders,
          endToEnd: { elapsedMs, sendWindowMs: send.endedAt - send.startedAt, attemptsAtSendEnd, sendMs, cpu: cpu1 },
          workerAlone: { queueMs, drainMs, cpu: cpu2 },
          receiver: received,
          database: dbCheck,
          ceilings,
          problems,
        },
      };
    } finally {
      await hookline.close();
      await receiver.close();
      await database.drop();
    }
  },
};
