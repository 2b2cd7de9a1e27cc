// Per-endpoint rate limits (server/delivery/rate-limit.ts, db/sql/rate-slots.ts) on real
// PostgreSQL, real graphile-worker and real loopback receivers: the limit holds at the receiver
// across two workers (any one-second window), close to the limit; nothing lost, no attempt counted
// while waiting, each waiting job moved once; a limited endpoint's backlog does not hold back
// another tenant's endpoint; the stranded sweeper leaves waiting deliveries alone; the API's rules.
import { afterEach, describe, expect, it } from 'vitest';
import { takeRateSlot } from '../db/sql/rate-slots.js';
import { rateSlotRequest, rateSpacingUs } from '../server/delivery/rate-limit.js';
import { sendEvent } from '../server/events/send.js';
import type { Worker, WorkerOptions } from '../server/worker/worker.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { codeOf } from './helpers/errors.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function app(): Promise<TestApp> {
  const a = await startTestApp({ env: { HOOKLINE_RETRY_SCHEDULE: '' } });
  cleanups.push(() => a.close());
  await a.admin.eventTypes.upsert.mutate({ name: 'job.completed' });
  return a;
}
async function receiver(): Promise<Receiver> {
  const r = await startReceiver();
  cleanups.push(() => r.close());
  return r;
}
async function worker(a: TestApp, options: WorkerOptions = {}): Promise<Worker> {
  // The sweeper runs at its most eager: a waiting delivery it took for stranded would get a second job.
  const w = await a.composed.startWorker({ pollIntervalMs: 200, sweeper: { intervalMs: 100, graceMs: 0 }, ...options });
  cleanups.push(() => w.stop());
  return w;
}
async function tenantWithEndpoint(a: TestApp, url: string, rateLimit: number | null) {
  const { tenant, apiKey } = await a.admin.tenants.create.mutate({ name: 'Limited' });
  const { endpoint } = await a.client(apiKey).endpoints.create.mutate({ url, rateLimit });
  return { tenantId: tenant.id, endpointId: endpoint.id, client: a.client(apiKey), apiKey };
}
async function queue(a: TestApp, tenantId: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i += 50) {
    const sent = await Promise.all(
      Array.from({ length: Math.min(50, n - i) }, (_, j) => sendEvent(a.deps, tenantId, { type: 'job.completed', payload: { i: i + j } })),
    );
    ids.push(...sent.map((s) => s.event.id));
  }
  return ids;
}
/** The most arrivals in any window [t, t + 1000 ms) (t at an arrival: the worst window starts at one). */
function mostInOneSecond(times: number[]): number {
  const sorted = [...times].sort((x, y) => x - y);
  let most = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end++) {
    while (sorted[end]! - sorted[start]! >= 1000) start++;
    most = Math.max(most, end - start + 1);
  }
  return most;
}
async function jobsCreated(a: TestApp): Promise<number> {
  const [row] = await a.deps.sql<{ n: string }[]>`
    select coalesce(max(last_value), 0)::text as n from pg_sequences where schemaname = 'graphile_worker' and sequencename like '%jobs%'`;
  return Number(row?.n ?? 0);
}

describe('rate limits', () => {
  it('two workers keep one endpoint within its limit in any one-second window, close to the limit, losing nothing', async () => {
    const a = await app();
    const r = await receiver();
    const limit = 10;
    const n = 45;
    const { tenantId, endpointId } = await tenantWithEndpoint(a, `${r.url}/limited`, limit);
    const jobsBefore = await jobsCreated(a);
    const eventIds = await queue(a, tenantId, n);
    await worker(a);
    await worker(a);

    const received = await r.waitFor(n, { timeoutMs: 30_000 }).catch((error) => {
      const t0 = r.requests[0]?.receivedAt ?? 0;
      console.log(r.requests.map((q) => q.receivedAt - t0).join(' '));
      throw error;
    });
    await new Promise((resolve) => setTimeout(resolve, 300)); // (a duplicate would arrive by now)
    const times = received.map((request) => request.receivedAt);
    const most = mostInOneSecond(times);
    const span = Math.max(...times) - Math.min(...times);
    const rate = ((n - 1) * 1000) / span;
    console.log(`rateLimit ${limit}, ${n} deliveries, two workers: at most ${most} in any 1 s window, ${rate.toFixed(2)}/s overall`);
    expect(most).toBeLessThanOrEqual(limit);
    expect(rate).toBeGreaterThan(limit * 0.8);

    // Every event exactly once, each in one attempt (waiting counted none).
    expect(r.requests.length).toBe(n);
    expect(new Set(received.map((request) => request.headers['webhook-id']))).toEqual(new Set(eventIds));
    expect(received.every((request) => request.headers['webhook-attempt'] === '1')).toBe(true);
    const rows = await a.deps.sql<{ status: string; attempts: number }[]>`
      select status, attempt_count as attempts from deliveries where endpoint_id = ${endpointId}`;
    expect(rows).toHaveLength(n);
    expect(rows.every((row) => row.status === 'succeeded' && row.attempts === 1)).toBe(true);
    // A waiting job is moved once, not again and again: at most the send's job and one moved job
    // per delivery (a few more if a worker ran one too late for its slot).
    const jobs = (await jobsCreated(a)) - jobsBefore;
    console.log(`jobs written for ${n} deliveries: ${jobs}`);
    expect(jobs).toBeLessThanOrEqual(2 * n + Math.ceil(n / 5));
  }, 60_000);

  it("a limited endpoint's backlog waits in the queue, not in the worker: another tenant's endpoint is not slowed", async () => {
    const a = await app();
    const slow = await receiver();
    const other = await receiver();
    const limited = await tenantWithEndpoint(a, `${slow.url}/limited`, 2);
    const free = await tenantWithEndpoint(a, `${other.url}/free`, null);
    await queue(a, limited.tenantId, 40); // 20 s of slots
    // Few delivery slots: were waiting jobs held in the worker, the other tenant would find none.
    await worker(a, {});
    await slow.waitFor(2, { timeoutMs: 10_000 });

    const started = Date.now();
    await queue(a, free.tenantId, 30);
    await other.waitFor(30, { timeoutMs: 10_000 });
    const took = Date.now() - started;
    console.log(`30 deliveries to an unlimited endpoint beside a backlog of 40 at 2/s: ${took} ms`);
    expect(took).toBeLessThan(3000);

    // The limited endpoint's deliveries wait without attempts: pending ones have none recorded.
    const [counts] = await a.deps.sql<{ pending: number; pending_with_attempts: number }[]>`
      select count(*) filter (where status = 'pending')::int as pending,
             count(*) filter (where status = 'pending' and attempt_count > 0)::int as pending_with_attempts
        from deliveries where endpoint_id = ${limited.endpointId}`;
    expect(counts!.pending).toBeGreaterThan(20);
    expect(counts!.pending_with_attempts).toBe(0);
    expect(slow.requests.length).toBeLessThanOrEqual(2 + Math.ceil(((Date.now() - started) / 1000 + 2) * 2));
  }, 60_000);

  it('slots: starts spaced evenly on the database clock; a moved job takes no new slot, late or not; a crowd of late ones is moved on', async () => {
    const a = await app();
    const { tenantId, endpointId } = await tenantWithEndpoint(a, 'http://127.0.0.1:9/x', 5);
    const spacing = rateSpacingUs(5); // 210 ms
    const job = { deliveryId: 'dlv_test', tenantId, endpointId, attempt: 1 };
    const first = await takeRateSlot(a.deps.sql, rateSlotRequest(job, 0, 5));
    expect(first).toEqual({ moved: false, waitMs: 0 });
    const slots = [];
    for (let i = 0; i < 4; i++) slots.push(await takeRateSlot(a.deps.sql, rateSlotRequest(job, 0, 5)));
    expect(slots.every((slot) => slot.moved)).toBe(true);
    // The moved jobs carry their slots, run at them, and the slots are one spacing apart (to the µs).
    const moved = await a.deps.sql<{ gap_us: string | null; on_slot: boolean }[]>`
      select (extract(epoch from slot - lag(slot) over (order by slot)) * 1e6)::bigint::text as gap_us, run_at = slot as on_slot
        from (select run_at, (payload->>'rateSlotAt')::timestamptz as slot from graphile_worker._private_jobs) j
       order by slot`;
    expect(moved).toHaveLength(4);
    expect(moved.every((row) => row.on_slot)).toBe(true);
    expect(moved.slice(1).map((row) => Number(row.gap_us))).toEqual([1, 2, 3].map(() => spacing));

    // A job holding a slot, even a second late, goes through the gate and takes no new slot.
    const times = async () =>
      (
        await a.deps.sql<{ next: string; last: string }[]>`
        select next_at::text as next, last_at::text as last from endpoint_rate_slots where endpoint_id = ${endpointId}`
      )[0]!;
    await new Promise((resolve) => setTimeout(resolve, 1000)); // past the slots given out
    const before = await times();
    const late = await takeRateSlot(a.deps.sql, rateSlotRequest({ ...job, rateSlotAt: new Date(Date.now() - 1000).toISOString() }, 0, 5));
    expect(late).toEqual({ moved: false, waitMs: 0 });
    const after = await times();
    expect(after.next).toBe(before.next);
    expect(after.last).not.toBe(before.last);
    // The gate (limit 100: starts 10.5 ms apart): a start within 100 ms is waited for in the
    // worker; a later one (many late jobs at once) moves the job on to the schedule's next free slot.
    await a.deps.sql`update endpoints set rate_limit = 100 where id = ${endpointId}`;
    const held = { ...job, rateSlotAt: new Date(Date.now() - 1000).toISOString() };
    await a.deps.sql`update endpoint_rate_slots set last_at = clock_timestamp() + interval '30 ms' where endpoint_id = ${endpointId}`;
    const soon = await takeRateSlot(a.deps.sql, rateSlotRequest(held, 0, 100));
    expect(soon.moved).toBe(false);
    expect(!soon.moved && soon.waitMs).toBeGreaterThan(0);
    expect(!soon.moved && soon.waitMs).toBeLessThanOrEqual(40.5);
    await a.deps.sql`update endpoint_rate_slots set last_at = clock_timestamp() + interval '200 ms' where endpoint_id = ${endpointId}`;
    const crowded = await takeRateSlot(a.deps.sql, rateSlotRequest(held, 0, 100));
    expect(crowded.moved).toBe(true);
    const [row] = await a.deps.sql<{ ok: boolean }[]>`
      -- (The moved time comes back as a Date, to the millisecond: a spacing of 10.5 ms less up to 1 ms.)
      select ${crowded.moved ? crowded.at.toISOString() : null}::timestamptz >= last_at + interval '9.5 ms' as ok
        from endpoint_rate_slots where endpoint_id = ${endpointId}`;
    expect(row!.ok).toBe(true);
  });

  it('rateLimit is set, shown, changed and cleared; out-of-range values are BAD_REQUEST', async () => {
    const a = await app();
    const { client, endpointId, apiKey } = await tenantWithEndpoint(a, 'http://127.0.0.1:9/x', 5);
    expect((await client.endpoints.get.query({ endpointId })).rateLimit).toBe(5);
    expect((await client.endpoints.update.mutate({ endpointId, rateLimit: 10_000 })).rateLimit).toBe(10_000);
    expect((await client.endpoints.list.query()).items[0]!.rateLimit).toBe(10_000);
    expect((await client.endpoints.update.mutate({ endpointId, description: 'x' })).rateLimit).toBe(10_000);
    expect((await client.endpoints.update.mutate({ endpointId, rateLimit: null })).rateLimit).toBeNull();
    // (A whole number written as a string, "5", is read as the number, as every whole-number input is for REST.)
    for (const bad of [0, -1, 10_001, 1.5, 'five' as unknown as number, '5.5' as unknown as number]) {
      expect(await codeOf(client.endpoints.update.mutate({ endpointId, rateLimit: bad }))).toBe('BAD_REQUEST');
      expect(await codeOf(client.endpoints.create.mutate({ url: 'http://127.0.0.1:9/y', rateLimit: bad }))).toBe('BAD_REQUEST');
    }
    const created = await client.endpoints.create.mutate({ url: 'http://127.0.0.1:9/z' });
    expect(created.endpoint.rateLimit).toBeNull();

    // REST: the same field and rules.
    const patch = (body: unknown) =>
      fetch(`${a.url}/api/v1/endpoints/${endpointId}`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const ok = await patch({ rateLimit: 7 });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { rateLimit: number }).rateLimit).toBe(7);
    const bad = await patch({ rateLimit: 0 });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(await bad.json())).toContain('rateLimit must be at least 1'); // (in `issues`)
    const document = (await (await fetch(`${a.url}/api/v1/openapi.json`)).json()) as {
      components: { schemas: { Endpoint: { properties: object } } };
    };
    expect(document.components.schemas.Endpoint.properties).toHaveProperty('rateLimit');
  });
});
