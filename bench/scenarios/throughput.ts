// Throughput: 20,000 events to 10 tenants × 1 endpoint each, end to end — from the first send to
// the last attempt recorded (sent → signed POST received → attempt row committed). Sending and
// delivering overlap, as they do in production: the senders call sendEvent in this process (as an
// API process would), the worker is `hookline worker` in its own. Then, to tell the two sides
// apart, the worker alone: the same number of deliveries queued in bulk beforehand, drained from a
// standing start.
import { describeWorkerSettings } from '../../server/worker/settings.js';
import { describeCpu, startCpuMeter, type CpuUsage } from '../lib/cpu.js';
import { envInt, sleep } from '../lib/clock.js';
import { attemptWindow, drainWithWorkerProcess, waitForDeliveries } from '../lib/drain.js';
import { createTenants, startHookline } from '../lib/hookline.js';
import { sendClosedLoop } from '../lib/load.js';
import { queueDeliveriesBySql } from '../lib/queue.js';
import { startReceiver } from '../lib/receiver.js';
import type { Figure, ScenarioResult } from '../lib/report.js';
import { pgSettingsLine, type Scenario } from '../lib/scenario.js';
import { startWorkerProcess } from '../lib/worker-process.js';
import { perSecond, summarize } from '../lib/stats.js';

export const throughputScenario: Scenario = {
  name: 'throughput',
  title: 'deliveries per second end to end',
  needsCeilings: true,
  async run(context): Promise<ScenarioResult> {
    const total = envInt('BENCH_EVENTS', 20_000);
    const tenantCount = 10;
    // Enough concurrent senders that the system, not the sending loop, sets the rate: with 10, each
    // waits on its send and the rate is 10 / the send latency (docs/BENCHMARKS.md has the sweep).
    const senders = envInt('BENCH_SEND_CONCURRENCY', 50);
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
      const sql = hookline.workerRuntime.deps.sql;

      // Phase 1: end to end, sending while delivering. The worker is `hookline worker` in its own
      // process, as deployed; the senders call sendEvent in this one, as an API process would.
      const worker = startWorkerProcess(hookline.env);
      let cpu1: CpuUsage | undefined;
      let send: Awaited<ReturnType<typeof sendClosedLoop>>;
      let attemptsAtSendEnd: number;
      let exitCode1: number | null;
      try {
        context.log(`throughput: warm-up with ${warmup} events`);
        await sendClosedLoop(api, { tenantIds, total: warmup, concurrency: senders });
        await waitForDeliveries(sql, receiver, { from: 0, count: warmup, worker, what: 'throughput warm-up', deadlineMs: 120_000 });
        await sleep(500);

        context.log(`throughput: sending ${total} events with ${senders} concurrent senders`);
        const cpuEndToEnd = startCpuMeter();
        send = await sendClosedLoop(api, { tenantIds, total, concurrency: senders, offset: warmup });
        attemptsAtSendEnd = (await receiver.stats()).count - warmup;
        await waitForDeliveries(sql, receiver, { from: warmup, count: total, worker, what: 'throughput', deadlineMs: 600_000 });
        cpu1 = cpuEndToEnd.stop();
      } finally {
        exitCode1 = await worker.stop();
      }
      const recorded = await attemptWindow(sql, sql`started_at >= to_timestamp(${send.startedAt / 1000})`);
      const lastRecordedAt = recorded.lastRecordedAt;

      // Phase 2: the worker alone, from a queue filled beforehand, from a standing start.
      context.log(`throughput: worker alone — queueing ${total} deliveries in bulk, then draining`);
      const queueMs = await queueDeliveriesBySql(sql, { tenants, label: 'drain', from: 1, to: total });
      const drain = await drainWithWorkerProcess(hookline, receiver, 'drain', total);
      const cpu2 = drain.cpu;

      const received = await receiver.stats();
      const [dbCheck] = await sql<{ succeeded: number; pending: number }[]>`
        select count(*) filter (where status = 'succeeded')::int as succeeded,
               count(*) filter (where status = 'pending')::int as pending from deliveries`;

      const elapsedMs = lastRecordedAt - send.startedAt;
      const rate = perSecond(total, elapsedMs);
      const sendRate = perSecond(total, send.endedAt - send.startedAt);
      const drainRate = drain.perSecond;
      const ceilings = context.ceilings!;
      const sendMs = summarize(send.sent.map((s) => s.sendMs));
      const figures: Figure[] = [
        {
          name: 'deliveries/s end to end',
          value: rate,
          unit: 'deliveries/s',
          goal: { op: '>=', target: 5000 },
          note: `${total} in ${Math.round(elapsedMs)} ms`,
        },
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
        {
          name: 'worker alone: deliveries/s from a filled queue',
          value: drainRate,
          unit: 'deliveries/s',
          note: `${total} queued in bulk (${Math.round(queueMs)} ms), drained in ${Math.round(drain.ms)} ms`,
        },
        { name: 'worker alone vs combined ceiling', value: drainRate / ceilings.combinedPerSecond, unit: '×' },
      ];
      const problems = [
        recorded.attempts !== total || recorded.succeeded < total || drain.succeeded < total ? 'not every attempt succeeded' : '',
        exitCode1 !== 0 || drain.exitCode !== 0 ? `worker exit codes ${exitCode1}/${drain.exitCode} on SIGTERM` : '',
        received.unsigned > 0 ? `${received.unsigned} unsigned requests` : '',
        dbCheck!.succeeded < 2 * total + warmup || dbCheck!.pending > 0
          ? `database shows ${dbCheck!.succeeded} succeeded, ${dbCheck!.pending} pending`
          : '',
      ].filter(Boolean);
      return {
        scenario: 'throughput',
        title: throughputScenario.title,
        context: [
          `${total} events (after ${warmup} warm-up) round-robin to ${tenantCount} tenants × 1 endpoint; one receiver origin, a path per tenant`,
          `layout: \`hookline worker\` in its own process (${describeWorkerSettings(hookline.config)}); sender in the bench process (sendEvent, own pool 10); receiver in a child Node process; PostgreSQL ${context.server.version} ${context.server.kind}`,
          `PostgreSQL: ${context.server.durability}; ${pgSettingsLine(context)}`,
          `timed from the first send to the last attempt recorded (the latest attempt row's created_at); worker alone: first attempt started → last recorded`,
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
          workerAlone: { queueMs, ...drain },
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
