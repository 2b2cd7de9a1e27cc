// Ingest: events accepted per second through the API over HTTP, as a busy producer feels it. The API
// is `hookline serve` in its own process (the product's env and pool); no worker runs, so every
// accepted event only waits in the queue. One endpoint per tenant, so one delivery per event.
//   single — events.send, one event per request, 16 concurrent callers (closed loop);
//   REST   — the same single sends as `POST /api/v1/events` (what a producer in Python or Go calls);
//   batch  — events.sendBatch, 100 events per request, 4 concurrent callers;
//   ceiling — the same client, concurrency and body size against a bare Node HTTP server (the
//             bench receiver) in the same run: what a round trip costs with no API behind it.
// The client is undici's Pool with keep-alive connections, plain JSON (no tRPC client), in this
// process.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import postgres from 'postgres';
import { Pool } from 'undici';
import { loadConfig, type ReadyConfig } from '../../server/env.js';
import { envInt, now } from '../lib/clock.js';
import { describeCpu, startCpuMeter } from '../lib/cpu.js';
import { startApiProcess } from '../lib/api-process.js';
import { BENCH_EVENT_TYPE, benchPayload, productEnv } from '../lib/hookline.js';
import { sendClosedLoop } from '../lib/load.js';
import { startRuntime } from '../../server/runtime.js';
import { startReceiver } from '../lib/receiver.js';
import type { Figure, ScenarioResult } from '../lib/report.js';
import type { Scenario } from '../lib/scenario.js';
import { perSecond, summarize } from '../lib/stats.js';

interface Loop {
  requests: number;
  ms: number;
  failures: number;
  firstFailure?: string;
  latencies: number[];
}

/** `total` requests, `concurrency` at a time, each built by `body(n)`; a non-200 answer is a failure. */
async function closedLoop(
  pool: Pool,
  path: string,
  headers: Record<string, string>,
  total: number,
  concurrency: number,
  body: (n: number) => string,
): Promise<Loop> {
  let next = 0;
  const loop: Loop = { requests: total, ms: 0, failures: 0, latencies: [] };
  const startedAt = now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const n = next++;
        const sentAt = now();
        const response = await pool.request({ path, method: 'POST', headers, body: body(n) });
        const text = await response.body.text();
        loop.latencies.push(now() - sentAt);
        if (response.statusCode !== 200) {
          loop.failures++;
          loop.firstFailure ??= `${response.statusCode} ${text.slice(0, 300)}`;
        }
      }
    }),
  );
  loop.ms = now() - startedAt;
  return loop;
}

/** CPU seconds a process has used (user + system), from /proc; NaN off Linux. */
function cpuSecondsOf(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/**
 * Events stored so far and the statements that wrote them. Every event a statement inserts gets
 * the same created_at (now(): the transaction's start), so distinct created_at values count the
 * fan-out statements (and commits) — a load-insensitive figure: how well concurrent sends share.
 */
async function countWrites(sql: postgres.Sql): Promise<{ events: number; statements: number }> {
  const [row] = await sql<{ events: number; statements: number }[]>`
    select count(*)::int as events, count(distinct created_at)::int as statements from events`;
  return row!;
}

async function call<T>(pool: Pool, key: string, procedure: string, input: unknown): Promise<T> {
  const response = await pool.request({
    path: `/trpc/${procedure}`,
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify(input),
  });
  const answer = (await response.body.json()) as { result?: { data: T }; error?: unknown };
  if (!answer.result) throw new Error(`${procedure}: ${JSON.stringify(answer.error)}`);
  return answer.result.data;
}

export const ingestScenario: Scenario = {
  name: 'ingest',
  title: 'events accepted per second through the HTTP API (hookline serve), no worker',
  needsCeilings: false,
  async run(context): Promise<ScenarioResult> {
    const singles = envInt('BENCH_INGEST_SINGLE', 20_000);
    const restSingles = envInt('BENCH_INGEST_REST', 10_000);
    const batched = envInt('BENCH_INGEST_BATCHED', 100_000);
    const batchSize = envInt('BENCH_INGEST_BATCH_SIZE', 100);
    const singleCallers = envInt('BENCH_INGEST_CALLERS', 16);
    const batchCallers = envInt('BENCH_INGEST_BATCH_CALLERS', 4);
    const tenantCount = 10;
    const database = await context.server.fresh('ingest');
    const keys = { admin: `hk_admin_${randomBytes(24).toString('base64url')}`, encryption: randomBytes(32).toString('base64') };
    const env = productEnv(database.url, keys);
    const config = loadConfig(env) as ReadyConfig;
    const receiver = await startReceiver({ mode: 'ok' });
    const api = await startApiProcess(env);
    const pool = new Pool(api.url, { connections: Math.max(singleCallers, batchCallers), pipelining: 1 });
    const bare = new Pool(receiver.urls[0]!, { connections: singleCallers, pipelining: 1 });
    try {
      // One endpoint per tenant (never contacted: no worker runs).
      await call(pool, keys.admin, 'eventTypes.upsert', { name: BENCH_EVENT_TYPE });
      const tenantIds: string[] = [];
      for (let t = 0; t < tenantCount; t++) {
        const { tenant } = await call<{ tenant: { id: string } }>(pool, keys.admin, 'tenants.create', { name: `ingest ${t}` });
        await call(pool, keys.admin, 'endpoints.create', { tenantId: tenant.id, url: `${receiver.urls[0]}/tenant-${t}` });
        tenantIds.push(tenant.id);
      }
      const adminHeaders = { 'content-type': 'application/json', authorization: `Bearer ${keys.admin}` };
      const event = (n: number) => ({ tenantId: tenantIds[n % tenantCount]!, type: BENCH_EVENT_TYPE, payload: benchPayload(n) });
      const singleBody = (n: number) => JSON.stringify(event(n));
      const batchBody = (offset: number) => (n: number) =>
        JSON.stringify({ events: Array.from({ length: batchSize }, (_, i) => event(offset + n * batchSize + i)) });

      context.log(`ingest: warm-up (1,000 single sends, 10 batches)`);
      await closedLoop(pool, '/trpc/events.send', adminHeaders, 1000, singleCallers, singleBody);
      await closedLoop(pool, '/trpc/events.sendBatch', adminHeaders, 10, batchCallers, batchBody(1e7));
      await closedLoop(bare, '/ceiling', { 'content-type': 'application/json' }, 1000, singleCallers, singleBody);

      context.log(`ingest: ceiling — ${singles} bare round trips, ${singleCallers} in flight`);
      const cpuCeiling = startCpuMeter();
      const ceiling = await closedLoop(bare, '/ceiling', { 'content-type': 'application/json' }, singles, singleCallers, singleBody);
      const cpu0 = cpuCeiling.stop();

      const counter = postgres(database.url, { max: 1, onnotice: () => {} });
      const writes0 = await countWrites(counter);
      context.log(`ingest: ${singles} single sends, ${singleCallers} concurrent callers`);
      const cpuSingle = startCpuMeter();
      const apiCpu0 = cpuSecondsOf(api.pid);
      const single = await closedLoop(pool, '/trpc/events.send', adminHeaders, singles, singleCallers, (n) => singleBody(2e7 + n));
      const cpu1 = cpuSingle.stop();
      const apiCpu1 = cpuSecondsOf(api.pid);
      const writes1 = await countWrites(counter).finally(() => counter.end());

      context.log(`ingest: ${restSingles} single sends through REST (POST /api/v1/events), ${singleCallers} concurrent callers`);
      await closedLoop(pool, '/api/v1/events', adminHeaders, 500, singleCallers, (n) => singleBody(6e7 + n));
      const apiCpuRest0 = cpuSecondsOf(api.pid);
      const rest = await closedLoop(pool, '/api/v1/events', adminHeaders, restSingles, singleCallers, (n) => singleBody(7e7 + n));
      const apiCpuRest1 = cpuSecondsOf(api.pid);

      // The same sends without HTTP: the product's sendEvent in this process, same callers, its own
      // pool of 10 (as an API process has) — what the HTTP layer adds is the difference.
      context.log(`ingest: ${singles} in-process sendEvent calls, ${singleCallers} concurrent callers`);
      const runtime = await startRuntime({ env, migrate: false });
      let inProcess: Awaited<ReturnType<typeof sendClosedLoop>>;
      try {
        await sendClosedLoop(runtime.deps, { tenantIds, total: 500, concurrency: singleCallers, offset: 4e7 });
        inProcess = await sendClosedLoop(runtime.deps, { tenantIds, total: singles, concurrency: singleCallers, offset: 5e7 });
      } finally {
        await runtime.close();
      }
      const inProcessRate = perSecond(singles, inProcess.endedAt - inProcess.startedAt);

      const batchRequests = Math.ceil(batched / batchSize);
      context.log(`ingest: ${batchRequests * batchSize} events in batches of ${batchSize}, ${batchCallers} concurrent callers`);
      const cpuBatch = startCpuMeter();
      const batch = await closedLoop(pool, '/trpc/events.sendBatch', adminHeaders, batchRequests, batchCallers, batchBody(3e7));
      const cpu2 = cpuBatch.stop();
      const apiCpu2 = cpuSecondsOf(api.pid);

      const sql = postgres(database.url, { max: 1, onnotice: () => {} });
      const [stored] = await sql<{ events: number; deliveries: number }[]>`
        select (select count(*)::int from events) as events, (select count(*)::int from deliveries) as deliveries`.finally(() => sql.end());
      const singleRate = perSecond(single.requests - single.failures, single.ms);
      const batchRate = perSecond((batch.requests - batch.failures) * batchSize, batch.ms);
      const ceilingRate = perSecond(ceiling.requests, ceiling.ms);
      const singleLatency = summarize(single.latencies);
      const batchLatency = summarize(batch.latencies);
      const figures: Figure[] = [
        {
          name: `events/s, batches of ${batchSize} (events.sendBatch)`,
          value: batchRate,
          unit: 'events/s',
          goal: { op: '>=', target: 10_000 },
          note: `${batchRequests} requests, ${batchCallers} in flight, ${batch.failures} failed; p50 ${batchLatency.p50.toFixed(1)} ms, p99 ${batchLatency.p99.toFixed(1)} ms per batch`,
        },
        {
          name: 'events/s, single sends (events.send)',
          value: singleRate,
          unit: 'events/s',
          goal: { op: '>=', target: 3_000 },
          note: `${single.requests} requests, ${singleCallers} in flight, ${single.failures} failed; p50 ${singleLatency.p50.toFixed(2)} ms, p99 ${singleLatency.p99.toFixed(2)} ms`,
        },
        {
          name: 'ceiling: bare HTTP round trips/s (same client, same body)',
          value: ceilingRate,
          unit: 'requests/s',
          note: `${ceiling.requests} requests to a bare Node server answering 200, ${singleCallers} in flight`,
        },
        { name: 'single sends / ceiling', value: singleRate / ceilingRate, unit: 'ratio' },
        {
          name: 'in-process sendEvent/s (no HTTP), same callers',
          value: inProcessRate,
          unit: 'events/s',
          note: `${singles} calls, ${singleCallers} in flight; HTTP single sends reach ${((singleRate / inProcessRate) * 100).toFixed(0)}% of it`,
        },
        {
          name: 'API process CPU per single send',
          value: ((apiCpu1 - apiCpu0) * 1e6) / single.requests,
          unit: 'µs',
          note: 'user + system time of hookline serve (/proc), less sensitive to other load than rates',
        },
        {
          name: 'PostgreSQL CPU per single send',
          value: cpu1 ? (cpu1.postgres * cpu1.seconds * 1e6) / single.requests : Number.NaN,
          unit: 'µs',
          note: 'all backends of the embedded server during the single sends (/proc)',
        },
        {
          name: 'single sends per fan-out statement (commit)',
          value: (writes1.events - writes0.events) / (writes1.statements - writes0.statements),
          unit: 'events',
          note: `${writes1.statements - writes0.statements} statements for ${writes1.events - writes0.events} events: concurrent sends sharing one statement (server/batcher.ts)`,
        },
        {
          name: 'events/s, single sends through REST (POST /api/v1/events)',
          value: perSecond(rest.requests - rest.failures, rest.ms),
          unit: 'events/s',
          note: `${rest.requests} requests, ${singleCallers} in flight, ${rest.failures} failed; API CPU ${(((apiCpuRest1 - apiCpuRest0) * 1e6) / rest.requests).toFixed(0)} µs per send`,
        },
        { name: 'API process CPU per batched event', value: ((apiCpu2 - apiCpuRest1) * 1e6) / (batchRequests * batchSize), unit: 'µs' },
      ];
      return {
        scenario: 'ingest',
        title: ingestScenario.title,
        context: [
          `API: hookline serve in its own process (pool 10, log level ${config.logLevel}); client: undici Pool in the bench process, plain JSON over keep-alive connections; no worker`,
          `${tenantCount} tenants × 1 endpoint; payload ${JSON.stringify(benchPayload(0)).length} bytes; stored after the run: ${stored?.events} events, ${stored?.deliveries} deliveries`,
          `ceiling: ${describeCpu(cpu0)}`,
          `single: ${describeCpu(cpu1)} (the API process counts as a child)`,
          `batch: ${describeCpu(cpu2)}`,
          `PostgreSQL ${context.server.version} ${context.server.kind}: ${context.server.durability}`,
          ...(single.firstFailure ? [`first single failure: ${single.firstFailure}`] : []),
          ...(batch.firstFailure ? [`first batch failure: ${batch.firstFailure}`] : []),
          ...(rest.firstFailure ? [`first REST failure: ${rest.firstFailure}`] : []),
        ],
        figures,
        details: {
          single: { ...single, latencies: singleLatency },
          batch: { ...batch, latencies: batchLatency },
          ceiling: { ...ceiling, latencies: summarize(ceiling.latencies) },
          cpu: { ceiling: cpu0, single: cpu1, batch: cpu2 },
        },
      };
    } finally {
      await pool.close();
      await bare.close();
      await api.stop();
      await receiver.close();
      await database.drop();
    }
  },
};
