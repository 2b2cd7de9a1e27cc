// Retention: events, deliveries and attempts past HOOKLINE_RETENTION are deleted in batches; recent
// rows, and expired events with a delivery still pending, are kept. Rows are made old by
// backdating created_at with raw SQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../shared/ids.js';
import { deleteExpiredData, retentionCronItems } from '../server/retention.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { tenantWithEndpoint } from './helpers/fixtures.js';

let app: TestApp;
let tenantId: string;
let endpointId: string;
const DAY = 24 * 3600 * 1000;

beforeAll(async () => {
  app = await startTestApp({ env: { HOOKLINE_RETENTION: '30d' } });
  await app.admin.eventTypes.upsert.mutate({ name: 'job.completed' });
  const created = await tenantWithEndpoint(app, 'http://127.0.0.1:9/hooks', { disabled: true, tenantName: 'Retention Co' });
  tenantId = created.tenantId;
  endpointId = created.endpoint.id;
});
afterAll(() => app.close());

/**
 * Inserts `count` events, each with one delivery in `status` and `attemptsEach` attempts, all
 * created `ageDays` ago. One statement per table, so thousands of rows take a moment.
 */
async function seed(count: number, ageDays: number, status: 'succeeded' | 'failed' | 'pending', attemptsEach = 1) {
  const at = Date.now() - ageDays * DAY;
  const createdAt = new Date(at).toISOString();
  // Ids are time-ordered: make them as old as the rows.
  const ids = Array.from({ length: count }, () => ({ event: newId('event', at), delivery: newId('delivery', at) }));
  const events = ids.map((i) => i.event);
  const deliveries = ids.map((i) => i.delivery);
  await app.deps.sql`
    insert into events (id, tenant_id, type, payload, created_at)
    select id, ${tenantId}, 'job.completed', '{}', ${createdAt}::timestamptz from unnest(${events}::text[]) as id`;
  await app.deps.sql`
    insert into deliveries (id, tenant_id, event_id, endpoint_id, status, attempt_count, created_at, updated_at)
    select d, ${tenantId}, e, ${endpointId}, ${status}, ${attemptsEach}, ${createdAt}::timestamptz, ${createdAt}::timestamptz
      from unnest(${deliveries}::text[], ${events}::text[]) as t(d, e)`;
  await app.deps.sql`
    insert into attempts (id, delivery_id, tenant_id, number, started_at, status_code, duration_ms, created_at)
    select 'att_' || md5(d || n), d, ${tenantId}, n, ${createdAt}::timestamptz, 200, 5, ${createdAt}::timestamptz
      from unnest(${deliveries}::text[]) as d, generate_series(1, ${attemptsEach}) as n`;
  return { events, deliveries };
}

async function countRows(eventIds: string[]) {
  const [row] = await app.deps.sql<{ events: number; deliveries: number; attempts: number }[]>`
    select (select count(*) from events where id = any(${eventIds}::text[]))::int as events,
           (select count(*) from deliveries where event_id = any(${eventIds}::text[]))::int as deliveries,
           (select count(*) from attempts a join deliveries d on d.id = a.delivery_id
             where d.event_id = any(${eventIds}::text[]))::int as attempts`;
  return row!;
}

describe('deleteExpiredData', () => {
  it('deletes expired events, deliveries and attempts in batches and keeps recent ones', async () => {
    const old = await seed(2_500, 31, 'succeeded', 2);
    const oldFailed = await seed(300, 45, 'failed', 4);
    const recent = await seed(200, 29, 'succeeded', 1);

    const counts = await deleteExpiredData(app.deps, { batchSize: 1_000 });
    // More rows than one batch in every table: the loop ran several statements per table.
    expect(counts).toEqual({ attempts: 2_500 * 2 + 300 * 4, deliveries: 2_800, events: 2_800 });
    expect(await countRows([...old.events, ...oldFailed.events])).toEqual({ events: 0, deliveries: 0, attempts: 0 });
    expect(await countRows(recent.events)).toEqual({ events: 200, deliveries: 200, attempts: 200 });

    // Nothing left to do: a second run deletes nothing.
    expect(await deleteExpiredData(app.deps, { batchSize: 1_000 })).toEqual({ attempts: 0, deliveries: 0, events: 0 });
  });

  it('keeps an expired event while one of its deliveries is pending, and deletes it once finished', async () => {
    const stuck = await seed(3, 40, 'pending', 2);
    const counts = await deleteExpiredData(app.deps, { batchSize: 2 });
    expect(counts).toEqual({ attempts: 0, deliveries: 0, events: 0 });
    expect(await countRows(stuck.events)).toEqual({ events: 3, deliveries: 3, attempts: 6 });

    await app.deps.sql`update deliveries set status = 'succeeded' where id = any(${stuck.deliveries}::text[])`;
    expect(await deleteExpiredData(app.deps, { batchSize: 2 })).toEqual({ attempts: 6, deliveries: 3, events: 3 });
  });

  it('expires events with no deliveries at all, and measures age from `now`', async () => {
    const at = Date.now() - 10 * DAY;
    const createdAt = new Date(at).toISOString();
    const id = newId('event', at);
    await app.deps.sql`insert into events (id, tenant_id, type, payload, created_at)
                       values (${id}, ${tenantId}, 'job.completed', '{}', ${createdAt}::timestamptz)`;
    expect(await deleteExpiredData(app.deps)).toEqual({ attempts: 0, deliveries: 0, events: 0 });
    const later = new Date(Date.now() + 21 * DAY);
    const counts = await deleteExpiredData(app.deps, { now: later });
    expect(counts.events).toBeGreaterThanOrEqual(1);
    expect(await countRows([id])).toEqual({ events: 0, deliveries: 0, attempts: 0 });
  });
});

describe('the cron item', () => {
  it('parses as an hourly graphile-worker schedule of the retention task', () => {
    const [item] = retentionCronItems();
    expect(item).toMatchObject({ task: 'retention', identifier: 'hookline-retention' });
    const at = (minute: number) => ({ min: minute, hour: 3, date: 1, month: 1, dow: 0 });
    expect(item!.match(at(0))).toBe(true);
    expect(item!.match(at(30))).toBe(false);
  });

  it('is registered with the worker: a queued retention job runs the deletion', async () => {
    const old = await seed(5, 31, 'failed', 1);
    await app.deps.sql`select graphile_worker.add_job('retention', '{}'::json)`;
    const worker = await app.composed.startWorker({ pollIntervalMs: 100 });
    try {
      const deadline = Date.now() + 10_000;
      while ((await countRows(old.events)).events > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(await countRows(old.events)).toEqual({ events: 0, deliveries: 0, attempts: 0 });
    } finally {
      await worker.stop();
    }
  });
});
