// The read side through the router in-process (createCaller, with each caller's real key), a real
// worker and real loopback receivers:
// events.list (keyset pages that stay whole while events arrive; type and since filters),
// events.get with delivery statuses, deliveries.list filters and pages, deliveries.get with its
// attempts, and tenant scoping of every procedure (foreign ids answer NOT_FOUND like missing ones).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { events } from '../db/schema.js';
import { EVENT_LIST_SETTLE_MS } from '../server/events/read.js';
import { newId } from '../shared/ids.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { adminCaller, newTenantCaller, type Caller } from './helpers/caller.js';
import { codeOf } from './helpers/errors.js';
import { cleanupTracker, settledDelivery as settled } from './helpers/fixtures.js';
import { eventually } from './helpers/receiver.js';

let app: TestApp;
let admin: Caller;
const cleanup = cleanupTracker();
const receiver = cleanup.receiver;

const missing = {
  event: 'evt_00000000000000000000000000',
  delivery: 'dlv_00000000000000000000000000',
  endpoint: 'ep_00000000000000000000000000',
};

beforeAll(async () => {
  // One attempt only: a failing receiver fails its delivery at once.
  app = await startTestApp({ env: { HOOKLINE_RETRY_SCHEDULE: '' }, worker: true });
  admin = adminCaller(app);
  for (const name of ['job.completed', 'job.failed']) await admin.eventTypes.upsert({ name });
});
afterEach(() => cleanup.runAll());
afterAll(() => app.close());

const newTenant = (name = 'Reader') => newTenantCaller(app, name);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Until every event sent so far is old enough for events.list. */
const settle = () => sleep(EVENT_LIST_SETTLE_MS + 50);

async function send(tenantId: string, n: number, type = 'job.completed') {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const { event } = await admin.events.send({ tenantId, type, payload: { i } });
    ids.push(event.id);
  }
  return ids;
}

/** The delivery as the tenant reads it, once settled. */
async function settledDelivery(client: Caller, deliveryId: string) {
  await settled(app, deliveryId);
  return client.deliveries.get({ deliveryId });
}

describe('events.list', () => {
  it('walks pages oldest first with no repeat and no gap while new events arrive', async () => {
    const { tenantId, client } = await newTenant();
    const existing = await send(tenantId, 23);
    await settle();

    const seen: string[] = [];
    const arrived: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    for (;;) {
      const page = await client.events.list({ limit: 5, ...(cursor && { cursor }) });
      seen.push(...page.items.map((e) => e.id));
      pages++;
      // New events commit between page fetches, several at once.
      const sent = await Promise.all([0, 1, 2].map(() => admin.events.send({ tenantId, type: 'job.completed', payload: { late: true } })));
      arrived.push(...sent.map((s) => s.event.id));
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
    expect(pages).toBeGreaterThanOrEqual(5);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.slice(0, existing.length)).toEqual(existing);
    expect([...seen].sort()).toEqual(seen);

    // A poller that keeps its last id picks the later events up, after the ones it has, in order.
    const last = seen[seen.length - 1]!;
    const later = await eventually(async () => {
      const ids: string[] = [];
      let after: string | undefined = last;
      for (;;) {
        const page = await client.events.list({ limit: 5, cursor: after });
        ids.push(...page.items.map((e) => e.id));
        if (!page.nextCursor) break;
        after = page.nextCursor;
      }
      return [...seen, ...ids].filter((id) => !existing.includes(id)).length === arrived.length ? ids : undefined;
    });
    const all = [...seen, ...later];
    expect(new Set(all).size).toBe(all.length);
    expect([...all].sort()).toEqual(all);
    expect(all).toEqual([...existing, ...[...arrived].sort()]);
  });

  it('lists an event once it has settled; events.get sees it at once', async () => {
    const { tenantId, client } = await newTenant();
    const [id] = await send(tenantId, 1);
    expect((await client.events.get({ eventId: id! })).id).toBe(id);
    const items = await eventually(async () => {
      const page = await client.events.list({});
      return page.items.length > 0 ? page.items : undefined;
    });
    expect(items).toMatchObject([{ id, tenantId, type: 'job.completed', payload: { i: 0 }, idempotencyKey: null, url: null }]);
  });

  it('does not skip an event that commits after a younger one (its id was taken earlier)', async () => {
    const { tenantId, client } = await newTenant();
    const [before] = await send(tenantId, 1);
    await settle();
    const caughtUp = await client.events.list({});
    expect(caughtUp.items.map((e) => e.id)).toEqual([before]);
    const cursor = before!;

    // A younger event commits first; a slow transaction then commits an id taken 300 ms earlier.
    const [younger] = await send(tenantId, 1);
    expect((await client.events.list({ cursor })).items).toEqual([]);
    const slow = newId('event', Date.now() - 300);
    await app.deps.db.insert(events).values({ id: slow, tenantId, type: 'job.completed', payload: '{"slow":true}' });
    expect(slow < younger!).toBe(true);

    const after = await eventually(async () => {
      const page = await client.events.list({ cursor });
      return page.items.length === 2 ? page.items : undefined;
    });
    expect(after.map((e) => e.id)).toEqual([slow, younger]);
  });

  it('filters by type and since, and pages within the filter', async () => {
    const { tenantId, client } = await newTenant();
    const early = await send(tenantId, 2, 'job.failed');
    await sleep(5);
    const since = new Date().toISOString();
    await sleep(5);
    const completed = await send(tenantId, 3, 'job.completed');
    const failed = await send(tenantId, 2, 'job.failed');
    await settle();

    const all = await client.events.list({});
    expect(all.items.map((e) => e.id)).toEqual([...early, ...completed, ...failed]);
    expect(all.nextCursor).toBeNull();

    const sinceThen = await client.events.list({ since });
    expect(sinceThen.items.map((e) => e.id)).toEqual([...completed, ...failed]);

    const failedAll = await client.events.list({ type: 'job.failed' });
    expect(failedAll.items.map((e) => e.id)).toEqual([...early, ...failed]);
    expect(failedAll.items.every((e) => e.type === 'job.failed')).toBe(true);

    const first = await client.events.list({ since, type: 'job.failed', limit: 1 });
    expect(first.items.map((e) => e.id)).toEqual([failed[0]]);
    expect(first.nextCursor).toBe(failed[0]);
    const second = await client.events.list({ since, type: 'job.failed', limit: 1, cursor: first.nextCursor! });
    expect(second.items.map((e) => e.id)).toEqual([failed[1]]);
    expect(second.nextCursor).toBeNull();

    // An offset other than Z is the same instant.
    const shifted = new Date(since).getTime() + 2 * 3_600_000;
    const offsetSince = new Date(shifted).toISOString().replace('Z', '+02:00');
    expect((await client.events.list({ since: offsetSince })).items).toHaveLength(completed.length + failed.length);

    expect((await client.events.list({ since: new Date(Date.now() + 60_000).toISOString() })).items).toEqual([]);
    expect(await codeOf(client.events.list({ since: 'yesterday' }))).toBe('BAD_REQUEST');
    expect(await codeOf(client.events.list({ type: 'Not A Type' }))).toBe('BAD_REQUEST');
    expect(await codeOf(client.events.list({ limit: 0 }))).toBe('BAD_REQUEST');
    expect(await codeOf(client.events.list({ cursor: 'dlv_00000000000000000000000000' }))).toBe('BAD_REQUEST');
  });
});

describe('events.get and deliveries', () => {
  it('events.get shows each delivery’s status; deliveries.get shows the attempts', async () => {
    // The good receiver takes 60 ms to answer: its attempt's duration says so.
    const ok = await receiver(() => ({ status: 200, body: 'thanks', delayMs: 60 }));
    const down = await receiver(() => ({ status: 500, body: 'boom' }));
    const { tenantId, client } = await newTenant();
    const good = await client.endpoints.create({ url: `${ok.url}/ok` });
    const bad = await client.endpoints.create({ url: `${down.url}/down` });
    await client.endpoints.create({ url: `${ok.url}/off`, disabled: true });
    const sent = await admin.events.send({ tenantId, type: 'job.completed', payload: { job: 1 } });
    expect(sent.deliveries).toHaveLength(2);

    const event = await eventually(async () => {
      const e = await client.events.get({ eventId: sent.event.id });
      return e.deliveries.every((d) => d.status !== 'pending') ? e : undefined;
    });
    expect(event).toMatchObject({ id: sent.event.id, tenantId, type: 'job.completed', payload: { job: 1 } });
    const byEndpoint = Object.fromEntries(event.deliveries.map((d) => [d.endpointId, d]));
    expect(byEndpoint[good.endpoint.id]).toMatchObject({ status: 'succeeded', attemptCount: 1, lastError: null });
    expect(byEndpoint[bad.endpoint.id]).toMatchObject({ status: 'failed', attemptCount: 1 });
    expect(byEndpoint[bad.endpoint.id]!.lastError).toContain('HTTP 500');
    expect(event.deliveries.map((d) => d.id)).toEqual([...event.deliveries.map((d) => d.id)].sort());

    const succeeded = await client.deliveries.get({ deliveryId: byEndpoint[good.endpoint.id]!.id });
    expect(succeeded.attempts).toMatchObject([{ number: 1, statusCode: 200, error: null, responseBody: 'thanks' }]);
    expect(succeeded.attempts[0]!.durationMs).toBeGreaterThanOrEqual(55);
    expect(succeeded.attempts[0]!.durationMs).toBeLessThan(app.config.timeoutMs);

    // A second attempt (by retry) is listed after the first.
    const failedId = byEndpoint[bad.endpoint.id]!.id;
    await client.deliveries.retry({ deliveryId: failedId });
    const retried = await settledDelivery(client, failedId);
    expect(retried).toMatchObject({ status: 'failed', attemptCount: 2 });
    expect(retried.attempts.map((a) => [a.number, a.statusCode, a.responseBody])).toEqual([
      [1, 500, 'boom'],
      [2, 500, 'boom'],
    ]);
    expect(retried.attempts.every((a) => a.deliveryId === failedId)).toBe(true);
  });

  it('deliveries.list filters by event, endpoint and status, and pages by cursor', async () => {
    const ok = await receiver(() => ({ status: 200 }));
    const down = await receiver(() => ({ status: 503 }));
    const { tenantId, client } = await newTenant();
    const good = await client.endpoints.create({ url: ok.url });
    const bad = await client.endpoints.create({ url: down.url });
    const sent = [];
    for (let i = 0; i < 3; i++) sent.push(await admin.events.send({ tenantId, type: 'job.completed', payload: { i } }));
    const allIds = sent.flatMap((s) => s.deliveries.map((d) => d.id));
    for (const id of allIds) await settledDelivery(client, id);

    const everything = await client.deliveries.list({});
    expect(everything.items.map((d) => d.id)).toEqual([...allIds].sort());
    expect(everything.nextCursor).toBeNull();

    const walked: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.deliveries.list({ limit: 4, ...(cursor && { cursor }) });
      expect(page.items.length).toBeLessThanOrEqual(4);
      walked.push(...page.items.map((d) => d.id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(walked).toEqual([...allIds].sort());

    const ofEvent = await client.deliveries.list({ eventId: sent[1]!.event.id });
    expect(ofEvent.items.map((d) => d.id).sort()).toEqual(sent[1]!.deliveries.map((d) => d.id).sort());

    const toBad = await client.deliveries.list({ endpointId: bad.endpoint.id });
    expect(toBad.items).toHaveLength(3);
    expect(toBad.items.every((d) => d.endpointId === bad.endpoint.id && d.status === 'failed')).toBe(true);

    const failed = await client.deliveries.list({ status: 'failed' });
    expect(failed.items.map((d) => d.endpointId)).toEqual([bad.endpoint.id, bad.endpoint.id, bad.endpoint.id]);
    const succeeded = await client.deliveries.list({ status: 'succeeded', endpointId: good.endpoint.id, limit: 2 });
    expect(succeeded.items).toHaveLength(2);
    expect(succeeded.nextCursor).toBe(succeeded.items[1]!.id);
    expect((await client.deliveries.list({ status: 'pending' })).items).toEqual([]);
    expect((await client.deliveries.list({ status: 'succeeded', eventId: sent[0]!.event.id, endpointId: bad.endpoint.id })).items).toEqual(
      [],
    );

    expect(await codeOf(client.deliveries.list({ status: 'lost' as never }))).toBe('BAD_REQUEST');
    expect(await codeOf(client.deliveries.list({ eventId: 'evt_nope' }))).toBe('BAD_REQUEST');
    expect(await codeOf(client.deliveries.get({ deliveryId: "1' or 1=1" }))).toBe('BAD_REQUEST');
  });
});

describe('tenant scoping', () => {
  it('another tenant’s ids answer NOT_FOUND exactly like missing ones, in every procedure', async () => {
    const down = await receiver(() => ({ status: 500 }));
    const owner = await newTenant('Owner');
    const { endpoint } = await owner.client.endpoints.create({ url: down.url });
    const sent = await admin.events.send({ tenantId: owner.tenantId, type: 'job.completed', payload: {} });
    const deliveryId = sent.deliveries[0]!.id;
    await settledDelivery(owner.client, deliveryId);
    const since = new Date(Date.now() - 60_000).toISOString();

    const other = await newTenant('Other');
    for (const ids of [{ event: sent.event.id, delivery: deliveryId, endpoint: endpoint.id }, missing]) {
      const c = other.client;
      expect(await codeOf(c.events.get({ eventId: ids.event }))).toBe('NOT_FOUND');
      expect(await codeOf(c.deliveries.get({ deliveryId: ids.delivery }))).toBe('NOT_FOUND');
      expect(await codeOf(c.deliveries.retry({ deliveryId: ids.delivery }))).toBe('NOT_FOUND');
      expect(await codeOf(c.deliveries.list({ eventId: ids.event }))).toBe('NOT_FOUND');
      expect(await codeOf(c.deliveries.list({ endpointId: ids.endpoint }))).toBe('NOT_FOUND');
      expect(await codeOf(c.endpoints.sendTest({ endpointId: ids.endpoint }))).toBe('NOT_FOUND');
      expect(await codeOf(c.endpoints.recover({ endpointId: ids.endpoint, since }))).toBe('NOT_FOUND');
      // The admin key naming the wrong tenant is no different.
      const a = admin;
      const tenantId = other.tenantId;
      expect(await codeOf(a.events.get({ tenantId, eventId: ids.event }))).toBe('NOT_FOUND');
      expect(await codeOf(a.deliveries.get({ tenantId, deliveryId: ids.delivery }))).toBe('NOT_FOUND');
      expect(await codeOf(a.deliveries.retry({ tenantId, deliveryId: ids.delivery }))).toBe('NOT_FOUND');
      expect(await codeOf(a.endpoints.sendTest({ tenantId, endpointId: ids.endpoint }))).toBe('NOT_FOUND');
    }
    // A tenant key naming another tenant.
    expect(await codeOf(other.client.events.list({ tenantId: owner.tenantId }))).toBe('NOT_FOUND');
    expect(await codeOf(other.client.deliveries.list({ tenantId: owner.tenantId }))).toBe('NOT_FOUND');
    // Lists show only the caller's own.
    await settle();
    expect((await other.client.events.list({})).items).toEqual([]);
    expect((await other.client.deliveries.list({})).items).toEqual([]);
    expect((await owner.client.events.list({})).items.map((e) => e.id)).toEqual([sent.event.id]);
    // Nothing was changed by the refused calls.
    expect(await owner.client.deliveries.get({ deliveryId })).toMatchObject({ status: 'failed', attemptCount: 1 });
    expect(down.requests).toHaveLength(1);
  });

  it('the admin key needs tenantId (BAD_REQUEST without) and reads the named tenant with it', async () => {
    const ok = await receiver();
    const { tenantId, client } = await newTenant();
    const { endpoint } = await client.endpoints.create({ url: ok.url });
    const sent = await admin.events.send({ tenantId, type: 'job.completed', payload: { admin: true } });
    const deliveryId = sent.deliveries[0]!.id;
    await settledDelivery(client, deliveryId);
    await settle();
    const a = admin;
    const since = new Date(Date.now() - 60_000).toISOString();

    expect(await codeOf(a.events.list({}))).toBe('BAD_REQUEST');
    expect(await codeOf(a.events.get({ eventId: sent.event.id }))).toBe('BAD_REQUEST');
    expect(await codeOf(a.deliveries.list({}))).toBe('BAD_REQUEST');
    expect(await codeOf(a.deliveries.get({ deliveryId }))).toBe('BAD_REQUEST');
    expect(await codeOf(a.deliveries.retry({ deliveryId }))).toBe('BAD_REQUEST');
    expect(await codeOf(a.endpoints.sendTest({ endpointId: endpoint.id }))).toBe('BAD_REQUEST');
    expect(await codeOf(a.endpoints.recover({ endpointId: endpoint.id, since }))).toBe('BAD_REQUEST');

    expect((await a.events.list({ tenantId })).items.map((e) => e.id)).toEqual([sent.event.id]);
    expect(await a.events.get({ tenantId, eventId: sent.event.id })).toMatchObject({
      payload: { admin: true },
      deliveries: [{ id: deliveryId, status: 'succeeded' }],
    });
    expect((await a.deliveries.list({ tenantId, eventId: sent.event.id })).items.map((d) => d.id)).toEqual([deliveryId]);
    expect((await a.deliveries.get({ tenantId, deliveryId })).attempts).toHaveLength(1);
    expect(await a.endpoints.recover({ tenantId, endpointId: endpoint.id, since })).toEqual({ requeued: 0 });
    expect(await codeOf(a.events.list({ tenantId: 'tnt_00000000000000000000000000' }))).toBe('NOT_FOUND');

    // No key at all (over HTTP: no Authorization header).
    expect(await codeOf(app.client().events.list.query({}))).toBe('UNAUTHORIZED');
  });
});
