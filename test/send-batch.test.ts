// events.sendBatch: one result per item in order, a bad item failing only itself with its own code,
// idempotency keys per item and shared within a batch, one fan-out statement for a batch, the count
// limit — through the router in-process (createCaller) — and, over real HTTP with the typed client,
// the byte limits of the request body and admin only.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { adminCaller, type Caller } from './helpers/caller.js';
import { codeOf, errorOf } from './helpers/errors.js';
import { cleanupTracker } from './helpers/fixtures.js';

let app: TestApp;
let admin: Caller;
let tenantId: string;
let tenantKey: string;
let endpointId: string;
const cleanup = cleanupTracker();

beforeAll(async () => {
  app = await startTestApp({ env: { HOOKLINE_MAX_PAYLOAD_BYTES: '2000', HOOKLINE_MAX_BATCH_BYTES: '200000' } });
  admin = adminCaller(app);
  await app.admin.eventTypes.upsert.mutate({ name: 'job.completed' });
  await app.admin.eventTypes.upsert.mutate({ name: 'job.retired' });
  await app.admin.eventTypes.archive.mutate({ name: 'job.retired' });
  const created = await app.admin.tenants.create.mutate({ name: 'Batcher' });
  tenantId = created.tenant.id;
  tenantKey = created.apiKey;
  // No worker runs: the endpoint is never contacted.
  const receiver = await cleanup.receiver();
  ({
    endpoint: { id: endpointId },
  } = await app.client(tenantKey).endpoints.create.mutate({ url: receiver.url }));
});
afterAll(async () => {
  await cleanup.runAll();
  await app.close();
});

describe('events.sendBatch', () => {
  it('answers one result per item, in order, each with its event and deliveries', async () => {
    const { results } = await admin.events.sendBatch({
      events: Array.from({ length: 30 }, (_, i) => ({ tenantId, type: 'job.completed', payload: { i } })),
    });
    expect(results).toHaveLength(30);
    results.forEach((result, i) => {
      if (!result.ok) throw new Error(`item ${i} failed: ${result.error.message}`);
      expect(result.event.payload).toEqual({ i });
      expect(result.deliveries.map((d) => d.endpointId)).toEqual([endpointId]);
      expect(result.deliveries[0]!.eventId).toBe(result.event.id);
    });
    // Each accepted event is stored with its delivery and its job.
    const ids = results.map((r) => (r.ok ? r.event.id : ''));
    const [row] = await app.database.sql<{ events: number; deliveries: number; jobs: number }[]>`
      select (select count(*)::int from events where id = any(${ids})) as events,
             (select count(*)::int from deliveries where event_id = any(${ids})) as deliveries,
             (select count(*)::int from graphile_worker._private_jobs where true
                and payload->>'deliveryId' in (select id from deliveries where event_id = any(${ids}))) as jobs`;
    expect(row).toEqual({ events: 30, deliveries: 30, jobs: 30 });
  });

  it('fails a bad item alone, with its own code and message', async () => {
    const unknownTenant = 'tnt_00000000000000000000000000';
    const { results } = await admin.events.sendBatch({
      events: [
        { tenantId, type: 'job.completed', payload: { n: 1 } },
        { tenantId: unknownTenant, type: 'job.completed', payload: { n: 2 } },
        { tenantId, type: 'job.unknown', payload: { n: 3 } },
        { tenantId, type: 'job.retired', payload: { n: 4 } },
        { tenantId, type: 'job.completed', payload: { blob: 'x'.repeat(2100) } },
        { tenantId, type: 'job.completed', payload: { n: 6 }, url: 'ftp://example.com/hook' },
        { tenantId, type: 'job.completed', payload: { n: 7 } },
      ],
    });
    expect(results.map((r) => (r.ok ? 'ok' : r.error.code))).toEqual([
      'ok',
      'NOT_FOUND',
      'BAD_REQUEST',
      'BAD_REQUEST',
      'PAYLOAD_TOO_LARGE',
      'BAD_REQUEST',
      'ok',
    ]);
    const messages = results.map((r) => (r.ok ? '' : r.error.message));
    expect(messages[1]).toBe('tenant not found');
    expect(messages[2]).toContain('"job.unknown" is not registered');
    expect(messages[3]).toContain('"job.retired" is not registered (or is archived)');
    expect(messages[4]).toContain('HOOKLINE_MAX_PAYLOAD_BYTES');
    expect(messages[5]).toMatch(/^url: /);
    expect(results[6]!.ok && results[6]!.event.payload).toEqual({ n: 7 });
  });

  it('answers a known idempotency key with the event already accepted, also for two items of one batch', async () => {
    const first = await admin.events.send({ tenantId, type: 'job.completed', payload: { v: 'first' }, idempotencyKey: 'k-earlier' });
    const { results } = await admin.events.sendBatch({
      events: [
        { tenantId, type: 'job.completed', payload: { v: 'a' }, idempotencyKey: 'k-shared' },
        { tenantId, type: 'job.completed', payload: { v: 'again' }, idempotencyKey: 'k-earlier' },
        { tenantId, type: 'job.completed', payload: { v: 'b' }, idempotencyKey: 'k-shared' },
        { tenantId, type: 'job.completed', payload: { v: 'c' }, idempotencyKey: 'k-shared' },
        { tenantId, type: 'job.completed', payload: { v: 'own' }, idempotencyKey: 'k-own' },
      ],
    });
    const ids = results.map((r) => (r.ok ? r.event.id : r.error.code));
    expect(ids[1]).toBe(first.event.id);
    expect(ids[2]).toBe(ids[0]);
    expect(ids[3]).toBe(ids[0]);
    expect(new Set(ids).size).toBe(3);
    // The repeats answer with the first item's event and its deliveries, not their own payload.
    expect(results[2]!.ok && results[2]!.event.payload).toEqual({ v: 'a' });
    expect(results[2]!.ok && results[2]!.deliveries.map((d) => d.id)).toEqual(results[0]!.ok && results[0]!.deliveries.map((d) => d.id));
    const [row] = await app.database.sql<{ n: number }[]>`
      select count(*)::int as n from events where tenant_id = ${tenantId} and idempotency_key = 'k-shared'`;
    expect(row!.n).toBe(1);
  });

  it('a key older than the idempotency window makes a new event (the old one keeps its history, not the key)', async () => {
    const old = await admin.events.send({ tenantId, type: 'job.completed', payload: { v: 'old' }, idempotencyKey: 'k-expired' });
    await app.database.sql`update events set created_at = now() - interval '25 hours' where id = ${old.event.id}`;
    const { results } = await admin.events.sendBatch({
      events: [{ tenantId, type: 'job.completed', payload: { v: 'new' }, idempotencyKey: 'k-expired' }],
    });
    expect(results[0]!.ok && results[0]!.event.id).not.toBe(old.event.id);
    expect(results[0]!.ok && results[0]!.event.payload).toEqual({ v: 'new' });
    const rows = await app.database.sql<{ id: string; key: string | null }[]>`
      select id, idempotency_key as key from events where id in (${old.event.id}, ${results[0]!.ok ? results[0]!.event.id : ''}) order by id`;
    expect(rows.map((r) => r.key)).toEqual([null, 'k-expired']);
  });

  it('a key whose first item failed does not hold back a later item with that key', async () => {
    const { results } = await admin.events.sendBatch({
      events: [
        { tenantId, type: 'job.unknown', payload: {}, idempotencyKey: 'k-retry' },
        { tenantId, type: 'job.completed', payload: {}, idempotencyKey: 'k-retry' },
      ],
    });
    expect(results.map((r) => r.ok)).toEqual([false, true]);
  });

  it('writes a batch of 100 in one fan-out statement (one transaction: one created_at)', async () => {
    const { results } = await admin.events.sendBatch({
      events: Array.from({ length: 100 }, (_, i) => ({ tenantId, type: 'job.completed', payload: { i } })),
    });
    expect(results.every((r) => r.ok)).toBe(true);
    // created_at defaults to now(), the start of the transaction: one value means one statement.
    expect(new Set(results.map((r) => r.ok && r.event.createdAt)).size).toBe(1);
  });

  it('refuses more than 1,000 items (BAD_REQUEST) and none (BAD_REQUEST)', async () => {
    const item = { tenantId, type: 'job.completed', payload: {} };
    expect(await codeOf(admin.events.sendBatch({ events: Array.from({ length: 1001 }, () => item) }))).toBe('BAD_REQUEST');
    expect(await codeOf(admin.events.sendBatch({ events: [] }))).toBe('BAD_REQUEST');
  });

  it('refuses a batch over HOOKLINE_MAX_BATCH_BYTES whole (PAYLOAD_TOO_LARGE), storing nothing of it', async () => {
    const events = Array.from({ length: 140 }, (_, i) => ({
      tenantId,
      type: 'job.completed',
      payload: { tag: 'too-big', i, blob: 'x'.repeat(1600) },
    }));
    const error = await errorOf(app.admin.events.sendBatch.mutate({ events }));
    expect(error.data?.code).toBe('PAYLOAD_TOO_LARGE');
    expect(error.message).toContain('HOOKLINE_MAX_BATCH_BYTES');
    const [row] = await app.database.sql<{ n: number }[]>`select count(*)::int as n from events where payload like '%too-big%'`;
    expect(row!.n).toBe(0);
  });

  it('reads a batch body larger than a single event body may be', async () => {
    // 60 × ~1.6 kB ≈ 98 kB: over the 2000 × 2 + 64 KiB one events.send body may be, within the batch limit.
    const events = Array.from({ length: 60 }, (_, i) => ({ tenantId, type: 'job.completed', payload: { i, blob: 'y'.repeat(1600) } }));
    const { results } = await app.admin.events.sendBatch.mutate({ events });
    expect(results.every((r) => r.ok)).toBe(true);
  });

  it('is for the admin key only', async () => {
    expect(
      await codeOf(app.client(tenantKey).events.sendBatch.mutate({ events: [{ tenantId, type: 'job.completed', payload: {} }] })),
    ).toBe('FORBIDDEN');
  });
});
