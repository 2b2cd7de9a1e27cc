// FIFO endpoints: what one-at-a-time, in-order delivery costs. A backlog of BENCH_FIFO_EVENTS
// (default 3,000) deliveries over 10 endpoints (10 tenants × 1), sent through the product's send
// statement (so FIFO deliveries join their lines as in production) while no worker runs, is drained
// by `hookline worker` in its own process; the same with `ordering: "none"` and with "fifo", in
// alternating rounds (none, fifo, none, fifo: BENCH_FIFO_ROUNDS, default 2) on one database.
// Rate = deliveries / (last attempt recorded − first attempt started). The receiver records every
// arrival, so each FIFO endpoint's order is checked too.
import { envInt } from '../lib/clock.js';
import { describeCpu } from '../lib/cpu.js';
import { attemptWindow, waitForDeliveries } from '../lib/drain.js';
import { BENCH_EVENT_TYPE, benchPayload, createTenants, startHookline, type BenchHookline, type BenchTenant } from '../lib/hookline.js';
import { startReceiver, type Receiver } from '../lib/receiver.js';
import type { Figure, ScenarioResult } from '../lib/report.js';
import type { Scenario } from '../lib/scenario.js';
import { median, perSecond } from '../lib/stats.js';
import { startCpuMeter, type CpuUsage } from '../lib/cpu.js';
import { startWorkerProcess } from '../lib/worker-process.js';
import { updateEndpoint } from '../../server/endpoints/service.js';
import { sendEvent } from '../../server/events/send.js';
import { describeWorkerSettings } from '../../server/worker/settings.js';

type Ordering = 'none' | 'fifo';

interface Round {
  ordering: Ordering;
  perSecond: number;
  ms: number;
  attempts: number;
  /** FIFO: every endpoint's arrivals in event-id order (none: not checked). */
  inOrder: boolean | null;
  cpu: CpuUsage | undefined;
}

const ENDPOINTS = 10;

export const fifoScenario: Scenario = {
  name: 'fifo',
  title: 'throughput with 10 FIFO endpoints',
  needsCeilings: false,
  async run(context): Promise<ScenarioResult> {
    const count = envInt('BENCH_FIFO_EVENTS', 3_000);
    const rounds = envInt('BENCH_FIFO_ROUNDS', 2);
    const database = await context.server.fresh('fifo');
    const receiver = await startReceiver({ mode: 'ok', record: true });
    const hookline = await startHookline(database);
    try {
      const results: Round[] = [];
      for (let round = 0; round < rounds; round++) {
        for (const ordering of ['none', 'fifo'] as const) {
          context.log(`fifo: round ${round + 1}, ordering ${ordering}: queueing ${count} deliveries`);
          results.push(await drainRound(hookline, receiver, { label: `r${round}-${ordering}`, ordering, count }));
          const last = results.at(-1)!;
          context.log(`fifo: ${ordering}: ${Math.round(last.perSecond)} deliveries/s${last.inOrder === false ? ' — OUT OF ORDER' : ''}`);
        }
      }
      const of = (ordering: Ordering) => results.filter((r) => r.ordering === ordering);
      const none = median(of('none').map((r) => r.perSecond));
      const fifo = median(of('fifo').map((r) => r.perSecond));
      const raw = (ordering: Ordering) =>
        of(ordering)
          .map((r) => Math.round(r.perSecond))
          .join(', ');
      const figures: Figure[] = [
        { name: `drain rate, ordering none (${ENDPOINTS} endpoints)`, value: none, unit: 'deliveries/s', note: `rounds: ${raw('none')}` },
        { name: `drain rate, ordering fifo (${ENDPOINTS} endpoints)`, value: fifo, unit: 'deliveries/s', note: `rounds: ${raw('fifo')}` },
        { name: 'fifo / none', value: fifo / none, unit: '×' },
        { name: 'fifo, per endpoint', value: fifo / ENDPOINTS, unit: 'deliveries/s', note: 'one attempt at a time each' },
      ];
      const ordered = of('fifo').every((r) => r.inOrder);
      return {
        scenario: 'fifo',
        title: fifoScenario.title,
        context: [
          `${count} deliveries per round over ${ENDPOINTS} endpoints (${ENDPOINTS} tenants × 1), sent by sendEvent (the product's send statement) with no worker running; ` +
            `rounds alternate none, fifo (${rounds} each)`,
          `worker: \`hookline worker\` as a child process (${describeWorkerSettings(hookline.config)}); rate = deliveries / (last attempt recorded − first attempt started)`,
          `PostgreSQL ${context.server.version} ${context.server.kind}: ${context.server.durability}`,
          ...results.map((r, i) => `round ${i + 1} (${r.ordering}): ${Math.round(r.ms)} ms, ${r.attempts} attempts; ${describeCpu(r.cpu)}`),
          `checks: ${ordered ? 'every FIFO endpoint received its events in event-id order, one request each' : 'a FIFO endpoint received events OUT OF ORDER'}`,
        ],
        figures,
        details: { rounds: results },
      };
    } finally {
      await hookline.close();
      await receiver.close();
      await database.drop();
    }
  },
};

/** Fresh tenants with the given ordering, a backlog sent to them, drained by a worker process. */
async function drainRound(
  hookline: BenchHookline,
  receiver: Receiver,
  spec: { label: string; ordering: Ordering; count: number },
): Promise<Round> {
  const deps = hookline.apiRuntime.deps;
  const tenants: BenchTenant[] = await createTenants(hookline, {
    label: spec.label,
    tenants: ENDPOINTS,
    endpointsPerTenant: 1,
    urlFor: (t) => `${receiver.urls[0]}/${spec.label}/tenant-${t}`,
  });
  if (spec.ordering === 'fifo') {
    for (const t of tenants) await updateEndpoint(deps, t.id, t.endpointIds[0]!, { ordering: 'fifo' });
  }
  // Sent 100 at a time (round-robin over the tenants), as concurrent API calls would be.
  const eventIds: string[] = [];
  for (let from = 0; from < spec.count; from += 100) {
    const sent = await Promise.all(
      Array.from({ length: Math.min(100, spec.count - from) }, (_, i) =>
        sendEvent(deps, tenants[(from + i) % ENDPOINTS]!.id, { type: BENCH_EVENT_TYPE, payload: benchPayload(from + i) }),
      ),
    );
    eventIds.push(...sent.map((s) => s.event.id));
  }
  await receiver.takeArrivals();
  const sql = hookline.workerRuntime.deps.sql;
  const receivedBefore = (await receiver.stats()).count;
  const cpu = startCpuMeter();
  const worker = startWorkerProcess(hookline.env);
  let usage: CpuUsage | undefined;
  try {
    await waitForDeliveries(sql, receiver, {
      from: receivedBefore,
      count: spec.count,
      worker,
      what: spec.label,
      deadlineMs: Math.max(120_000, spec.count * 20),
    });
  } finally {
    usage = cpu.stop();
    await worker.stop();
  }
  const tenantIds = tenants.map((t) => t.id);
  const window = await attemptWindow(sql, sql`tenant_id = any(${tenantIds}::text[])`);
  const ms = window.lastRecordedAt - window.firstStartedAt;
  let inOrder: boolean | null = null;
  if (spec.ordering === 'fifo') {
    const byPath = new Map<string, string[]>();
    for (const [id, path] of await receiver.takeArrivals()) {
      const ids = byPath.get(path) ?? [];
      ids.push(id);
      byPath.set(path, ids);
    }
    inOrder = [...byPath.values()].every((ids) => ids.every((id, i) => i === 0 || ids[i - 1]! < id));
    inOrder &&= [...byPath.values()].reduce((n, ids) => n + ids.length, 0) === spec.count;
  }
  return { ordering: spec.ordering, perSecond: perSecond(spec.count, ms), ms, attempts: window.attempts, inOrder, cpu: usage };
}
