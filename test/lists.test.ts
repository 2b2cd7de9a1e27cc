// Lists people can use, through the router in-process (createCaller, with each caller's key): time
// ranges (since/until) and newest first (order: 'desc') with keyset paging in both directions, the
// status walk in both directions, deliveries by event type and naming it, the payload in
// deliveries.get, and the operator's view across tenants (admin only; an admin call naming no
// tenant stays BAD_REQUEST) — and the admin CLI reading them over HTTP.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENT_LIST_SETTLE_MS } from '../server/events/read.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { adminCaller, callerFor, type Caller } from './helpers/caller.js';
import { codeOf } from './helpers/errors.js';
import { cleanupTracker } from './helpers/fixtures.js';

let app: TestApp;
let admin: Caller;
const cleanup = cleanupTracker();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Fixture {
  tenantId: string;
  client: Caller;
  /** Events in send order; the first three before `middle`, the rest after. */
  eventIds: string[];
  types: string[];
  middle: string;
}
let a: Fixture;
let b: Fixture;

async function fixture(name: string): Promise<Fixture> {
  const { tenant, apiKey } = await admin.tenants.create({ name });
  const client = callerFor(app, apiKey);
  const receiver = await cleanup.receiver();
  await client.endpoints.create({ url: receiver.url });
  const types = ['job.completed', 'job.failed', 'job.completed', 'job.failed', 'job.completed', 'job.completed'];
  const eventIds: string[] = [];
  let middle = '';
  for (const [i, type] of types.entries()) {
    if (i === 3) {
      await sleep(5);
      middle = new Date().toISOString();
      await sleep(5);
    }
    const { event } = await admin.events.send({ tenantId: tenant.id, type, payload: { i, tenant: name } });
    eventIds.push(event.id);
  }
  return { tenantId: tenant.id, client, eventIds, types, middle };
}

/** Every item of a list, page by page (`limit` per page). */
async function walk<T extends { id: string }>(read: (cursor: string | undefined) => Promise<{ items: T[]; nextCursor: string | null }>) {
  const items: T[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 50; pages++) {
    const page = await read(cursor);
    items.push(...page.items);
    if (page.nextCursor === null) return items;
    cursor = page.nextCursor;
  }
  throw new Error('too many pages');
}

beforeAll(async () => {
  app = await startTestApp(); // no worker: deliveries stay pending unless a test says otherwise
  admin = adminCaller(app);
  for (const name of ['job.completed', 'job.failed']) await admin.eventTypes.upsert({ name });
  a = await fixture('A');
  b = await fixture('B');
  await sleep(EVENT_LIST_SETTLE_MS + 50);
});
afterAll(async () => {
  await cleanup.runAll();
  await app.close();
});

describe('events.list', () => {
  it('pages newest first with order: desc, the reverse of oldest first', async () => {
    const asc = await walk((cursor) => a.client.events.list({ limit: 2, cursor }));
    const desc = await walk((cursor) => a.client.events.list({ limit: 2, order: 'desc', cursor }));
    expect(asc.map((e) => e.id)).toEqual(a.eventIds);
    expect(desc.map((e) => e.id)).toEqual([...a.eventIds].reverse());
  });

  it('keeps since (inclusive) and until (exclusive) in both orders', async () => {
    const since = await walk((cursor) => a.client.events.list({ since: a.middle, limit: 2, cursor }));
    const until = await walk((cursor) => a.client.events.list({ until: a.middle, limit: 2, order: 'desc', cursor }));
    expect(since.map((e) => e.id)).toEqual(a.eventIds.slice(3));
    expect(until.map((e) => e.id)).toEqual(a.eventIds.slice(0, 3).reverse());
    const typed = await a.client.events.list({ since: a.middle, type: 'job.completed', order: 'desc' });
    expect(typed.items.map((e) => e.id)).toEqual([a.eventIds[5], a.eventIds[4]]);
  });
});

describe('deliveries.list', () => {
  it('names each delivery’s event type and filters by it', async () => {
    const all = await a.client.deliveries.list({});
    expect(all.items.map((d) => d.type)).toEqual(a.types);
    const failed = await a.client.deliveries.list({ eventType: 'job.failed' });
    expect(failed.items.map((d) => d.eventId)).toEqual([a.eventIds[1], a.eventIds[3]]);
    expect(failed.items.every((d) => d.type === 'job.failed')).toBe(true);
  });

  it('pages newest first and keeps since/until', async () => {
    const desc = await walk((cursor) => a.client.deliveries.list({ order: 'desc', limit: 4, cursor }));
    expect(desc.map((d) => d.eventId)).toEqual([...a.eventIds].reverse());
    const late = await walk((cursor) => a.client.deliveries.list({ since: a.middle, order: 'desc', limit: 2, cursor }));
    expect(late.map((d) => d.eventId)).toEqual(a.eventIds.slice(3).reverse());
    const early = await a.client.deliveries.list({ until: a.middle, eventType: 'job.completed' });
    expect(early.items.map((d) => d.eventId)).toEqual([a.eventIds[0], a.eventIds[2]]);
  });

  it('walks by status in both orders', async () => {
    // Two of A's deliveries failed (as the worker would record them).
    const failedEvents = [a.eventIds[1]!, a.eventIds[4]!];
    await app.database.sql`update deliveries set status = 'failed' where event_id = any(${failedEvents})`;
    try {
      const asc = await walk((cursor) => a.client.deliveries.list({ status: 'failed', limit: 1, cursor }));
      const desc = await walk((cursor) => a.client.deliveries.list({ status: 'failed', order: 'desc', limit: 1, cursor }));
      expect(asc.map((d) => d.eventId)).toEqual(failedEvents);
      expect(desc.map((d) => d.eventId)).toEqual([...failedEvents].reverse());
      const pendingDesc = await walk((cursor) => a.client.deliveries.list({ status: 'pending', order: 'desc', limit: 2, cursor }));
      expect(pendingDesc.map((d) => d.eventId)).toEqual(a.eventIds.filter((id) => !failedEvents.includes(id)).reverse());
    } finally {
      await app.database.sql`update deliveries set status = 'pending' where event_id = any(${failedEvents})`;
    }
  });
});

describe('deliveries.get', () => {
  it('includes the event payload and type', async () => {
    const { items } = await a.client.deliveries.list({ limit: 1 });
    const delivery = await a.client.deliveries.get({ deliveryId: items[0]!.id });
    expect(delivery.payload).toEqual({ i: 0, tenant: 'A' });
    expect(delivery.type).toBe('job.completed');
    expect(delivery.attempts).toEqual([]);
  });
});

describe("the operator's view across tenants", () => {
  it('lists every tenant’s events and deliveries with allTenants, each naming its tenant', async () => {
    const events = await walk((cursor) => admin.events.list({ allTenants: true, limit: 5, cursor }));
    expect(events.map((e) => e.id)).toEqual([...a.eventIds, ...b.eventIds]);
    expect(events.map((e) => e.tenantId)).toEqual([...a.eventIds.map(() => a.tenantId), ...b.eventIds.map(() => b.tenantId)]);
    const failed = await admin.deliveries.list({ allTenants: true, eventType: 'job.failed', order: 'desc' });
    expect(failed.items.map((d) => [d.tenantId, d.eventId])).toEqual([
      [b.tenantId, b.eventIds[3]],
      [b.tenantId, b.eventIds[1]],
      [a.tenantId, a.eventIds[3]],
      [a.tenantId, a.eventIds[1]],
    ]);
  });

  it('an admin call naming neither tenantId nor allTenants stays BAD_REQUEST, and naming both too', async () => {
    expect(await codeOf(admin.events.list({}))).toBe('BAD_REQUEST');
    expect(await codeOf(admin.deliveries.list({ status: 'failed' }))).toBe('BAD_REQUEST');
    expect(await codeOf(admin.events.list({ tenantId: a.tenantId, allTenants: true }))).toBe('BAD_REQUEST');
  });

  it('a tenant key with allTenants is FORBIDDEN', async () => {
    expect(await codeOf(a.client.events.list({ allTenants: true }))).toBe('FORBIDDEN');
    expect(await codeOf(a.client.deliveries.list({ allTenants: true }))).toBe('FORBIDDEN');
  });
});

describe('the admin CLI', () => {
  const bin = fileURLToPath(new URL('../server/bin/hookline.js', import.meta.url));
  const cli = (args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) => {
      const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('HOOKLINE_'))) as Record<string, string>;
      execFile(
        process.execPath,
        [bin, ...args],
        { env: { ...env, HOOKLINE_URL: app.url, HOOKLINE_API_KEY: app.config.adminKey }, timeout: 60_000 },
        (error, stdout, stderr) => {
          if (error && typeof error.code !== 'number') reject(error);
          else resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
        },
      );
    });

  it('lists across tenants, newest first, by event type and time (--all-tenants, --order, --event-type, --since, --until)', async () => {
    const [events, failed, early, neither] = await Promise.all([
      cli(['admin', 'events', 'list', '--all-tenants', '--order', 'desc', '--json']),
      cli(['admin', 'deliveries', 'list', '--all-tenants', '--event-type', 'job.failed', '--since', '1h', '--order', 'desc', '--json']),
      cli(['admin', 'events', 'list', '--tenant', a.tenantId, '--until', a.middle, '--json']),
      cli(['admin', 'deliveries', 'list']),
    ]);
    expect(JSON.parse(events.stdout).items.map((e: { id: string }) => e.id)).toEqual([...a.eventIds, ...b.eventIds].reverse());
    expect(JSON.parse(failed.stdout).items.map((d: { eventId: string }) => d.eventId)).toEqual([
      b.eventIds[3],
      b.eventIds[1],
      a.eventIds[3],
      a.eventIds[1],
    ]);
    expect(JSON.parse(early.stdout).items.map((e: { id: string }) => e.id)).toEqual(a.eventIds.slice(0, 3));
    expect(neither.code).toBe(1);
    expect(neither.stderr).toContain('--all-tenants');
  });
});
