// Sending again, end to end with a real worker and real loopback receivers: deliveries.retry
// continues the attempt numbers and succeeds once the receiver is fixed; endpoints.recover re-queues
// exactly the endpoint's failed deliveries since a time (in batches); endpoints.sendTest delivers a
// signed hookline.test event that a Standard Webhooks verifier accepts; and the refusals (pending,
// disabled endpoint, beyond 14 days). The API is called in-process (createCaller, with the tenant's
// real key); the deliveries go over real HTTP to the receivers.
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { recoverEndpoint } from '../server/endpoints/recovery.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { adminCaller, tenantWithEndpointCaller, type Caller } from './helpers/caller.js';
import { failureOf } from './helpers/errors.js';
import { cleanupTracker, sendSettled, settledDelivery } from './helpers/fixtures.js';
import { eventually, type ReceivedRequest } from './helpers/receiver.js';

let app: TestApp;
let admin: Caller;
const cleanup = cleanupTracker();
const receiver = cleanup.receiver;

beforeAll(async () => {
  // One attempt per job: a failing receiver fails its delivery at once, which retry then re-queues.
  app = await startTestApp({ env: { HOOKLINE_RETRY_SCHEDULE: '', HOOKLINE_TIMEOUT: '1s' }, worker: true });
  admin = adminCaller(app);
  for (const name of ['job.completed', 'job.failed']) await admin.eventTypes.upsert({ name });
});
afterEach(() => cleanup.runAll());
afterAll(() => app.close());

/** A receiver that answers 500 until `fix()` is called, then 200. */
async function flakyReceiver() {
  let healthy = false;
  const r = await receiver(() => (healthy ? { status: 200, body: 'ok' } : { status: 500, body: 'down' }));
  return Object.assign(r, { fix: () => void (healthy = true) });
}

const tenantWithEndpoint = (url: string, extra: { eventTypes?: string[] } = {}) => tenantWithEndpointCaller(app, url, extra);

/** The delivery as the tenant reads it once settled (with `attemptCount` attempts, if given). */
async function settled(client: Caller, deliveryId: string, attemptCount?: number) {
  await settledDelivery(app, deliveryId, { attemptCount });
  return client.deliveries.get({ deliveryId });
}

/** Sends a job.failed event to a failing receiver: its one delivery fails at its first attempt. */
async function sendFailing(tenantId: string, payload: Record<string, unknown> = {}) {
  const { deliveryId, delivery } = await sendSettled(app, { tenantId, type: 'job.failed', payload });
  expect(delivery).toMatchObject({ status: 'failed', attemptCount: 1 });
  return deliveryId;
}

const attemptHeader = (r: ReceivedRequest) => r.headers['webhook-attempt'];

describe('deliveries.retry', () => {
  it('re-queues a failed delivery as attempt 2 and succeeds once the receiver is fixed; numbers keep going', async () => {
    const r = await flakyReceiver();
    const { tenantId, client } = await tenantWithEndpoint(`${r.url}/flaky`);
    const deliveryId = await sendFailing(tenantId, { job: 'j1' });

    r.fix();
    const requeued = await client.deliveries.retry({ deliveryId });
    expect(requeued).toMatchObject({ id: deliveryId, status: 'pending', attemptCount: 1, lastError: null });
    // Due at once: the next attempt is set to the re-queueing transaction's now(), its updatedAt.
    expect(requeued.nextAttemptAt).toBe(requeued.updatedAt);

    const done = await settled(client, deliveryId);
    expect(done).toMatchObject({ status: 'succeeded', attemptCount: 2, lastError: null, nextAttemptAt: null });
    expect(done.attempts.map((a) => [a.number, a.statusCode])).toEqual([
      [1, 500],
      [2, 200],
    ]);
    const requests = await r.waitFor(2);
    expect(requests.map(attemptHeader)).toEqual(['1', '2']);
    expect(new Set(requests.map((q) => q.body)).size).toBe(1);
    expect(new Set(requests.map((q) => q.headers['webhook-id'])).size).toBe(1);

    // A succeeded delivery may be sent again too: attempt 3.
    await client.deliveries.retry({ deliveryId });
    const again = await settled(client, deliveryId, 3);
    expect(again.attempts.map((a) => a.number)).toEqual([1, 2, 3]);
    expect((await r.waitFor(3)).map(attemptHeader)).toEqual(['1', '2', '3']);
  });

  it('a pending delivery → BAD_REQUEST "already pending", and no second request is made', async () => {
    // The receiver holds the first request open, so the delivery stays pending while we ask.
    const r = await receiver((_req, i) => (i === 0 ? { delayMs: 600 } : {}));
    const { tenantId, client } = await tenantWithEndpoint(`${r.url}/slow`);
    const sent = await admin.events.send({ tenantId, type: 'job.completed', payload: {} });
    const deliveryId = sent.deliveries[0]!.id;
    await r.waitFor(1);
    const error = await failureOf(client.deliveries.retry({ deliveryId }));
    expect(error.code).toBe('BAD_REQUEST');
    expect(error.message).toBe('delivery is already pending');
    expect(await settled(client, deliveryId)).toMatchObject({ status: 'succeeded', attemptCount: 1 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(r.requests).toHaveLength(1);
  });

  it('a delivery whose endpoint is disabled → BAD_REQUEST naming the endpoint; allowed again once enabled', async () => {
    const r = await flakyReceiver();
    const { tenantId, client, endpoint } = await tenantWithEndpoint(r.url);
    const deliveryId = await sendFailing(tenantId);
    await client.endpoints.update({ endpointId: endpoint.id, disabled: true });
    const error = await failureOf(client.deliveries.retry({ deliveryId }));
    expect(error.code).toBe('BAD_REQUEST');
    expect(error.message).toContain(`endpoint ${endpoint.id} is disabled`);
    expect(await client.deliveries.get({ deliveryId })).toMatchObject({ status: 'failed', attemptCount: 1 });

    await client.endpoints.update({ endpointId: endpoint.id, disabled: false });
    r.fix();
    await client.deliveries.retry({ deliveryId });
    expect(await settled(client, deliveryId)).toMatchObject({ status: 'succeeded', attemptCount: 2 });
  });
});

describe('endpoints.recover', () => {
  it('re-queues the endpoint’s failed deliveries since then — not older ones, not succeeded ones, not other endpoints’', async () => {
    let healthy = false;
    const r = await receiver((req) => {
      const body = JSON.parse(req.body) as { fine?: boolean };
      return healthy || body.fine ? { status: 200 } : { status: 500 };
    });
    const { tenantId, client, endpoint } = await tenantWithEndpoint(`${r.url}/main`, { eventTypes: ['job.failed'] });
    const other = await client.endpoints.create({ url: `${r.url}/other`, eventTypes: ['job.completed'] });

    const old = await sendFailing(tenantId, { n: 'old' });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const since = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 5));
    const recent = [];
    for (let i = 0; i < 3; i++) recent.push(await sendFailing(tenantId, { n: i }));
    const fine = await admin.events.send({ tenantId, type: 'job.failed', payload: { fine: true } });
    const fineId = fine.deliveries[0]!.id;
    expect(await settled(client, fineId)).toMatchObject({ status: 'succeeded' });
    const elsewhere = await admin.events.send({ tenantId, type: 'job.completed', payload: { n: 'other' } });
    const elsewhereId = elsewhere.deliveries[0]!.id;
    expect(elsewhere.deliveries[0]!.endpointId).toBe(other.endpoint.id);
    expect(await settled(client, elsewhereId)).toMatchObject({ status: 'failed' });

    healthy = true;
    expect(await client.endpoints.recover({ endpointId: endpoint.id, since })).toEqual({ requeued: 3 });
    for (const id of recent) {
      const d = await settled(client, id);
      expect(d).toMatchObject({ status: 'succeeded', attemptCount: 2 });
      expect(d.attempts.map((a) => [a.number, a.statusCode])).toEqual([
        [1, 500],
        [2, 200],
      ]);
    }
    expect(await client.deliveries.get({ deliveryId: old })).toMatchObject({ status: 'failed', attemptCount: 1 });
    expect(await client.deliveries.get({ deliveryId: fineId })).toMatchObject({ status: 'succeeded', attemptCount: 1 });
    expect(await client.deliveries.get({ deliveryId: elsewhereId })).toMatchObject({ status: 'failed', attemptCount: 1 });

    // Nothing failed is left since then: a second recover re-queues nothing.
    expect(await client.endpoints.recover({ endpointId: endpoint.id, since })).toEqual({ requeued: 0 });
  });

  it('works through many deliveries in bounded batches', async () => {
    const r = await flakyReceiver();
    const { tenantId, client, endpoint } = await tenantWithEndpoint(r.url);
    const since = new Date(Date.now() - 1000).toISOString();
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push(await sendFailing(tenantId, { i }));
    r.fix();
    expect(await recoverEndpoint(app.deps, tenantId, endpoint.id, since, { batchSize: 2 })).toEqual({ requeued: 5 });
    for (const id of ids) expect(await settled(client, id)).toMatchObject({ status: 'succeeded', attemptCount: 2 });
    // An exact multiple of the batch size ends too.
    expect(await recoverEndpoint(app.deps, tenantId, endpoint.id, since, { batchSize: 5 })).toEqual({ requeued: 0 });
  });

  it('refuses a since beyond 14 days, a disabled endpoint, and malformed input', async () => {
    const { client, endpoint } = await tenantWithEndpoint('https://hooks.example/');
    const tooOld = new Date(Date.now() - 15 * 86_400_000).toISOString();
    const error = await failureOf(client.endpoints.recover({ endpointId: endpoint.id, since: tooOld }));
    expect(error.code).toBe('BAD_REQUEST');
    expect(error.message).toContain('14 days');
    const inWindow = new Date(Date.now() - 14 * 86_400_000 + 60_000).toISOString();
    expect(await client.endpoints.recover({ endpointId: endpoint.id, since: inWindow })).toEqual({ requeued: 0 });

    await client.endpoints.update({ endpointId: endpoint.id, disabled: true });
    const disabled = await failureOf(client.endpoints.recover({ endpointId: endpoint.id, since: inWindow }));
    expect(disabled.code).toBe('BAD_REQUEST');
    expect(disabled.message).toContain(`endpoint ${endpoint.id} is disabled`);

    expect((await failureOf(client.endpoints.recover({ endpointId: endpoint.id, since: 'last week' }))).code).toBe('BAD_REQUEST');
    expect((await failureOf(client.endpoints.recover({ endpointId: endpoint.id } as never))).code).toBe('BAD_REQUEST');
  });
});

describe('endpoints.sendTest', () => {
  it('delivers a signed hookline.test event to that endpoint alone, whatever its filter', async () => {
    const r = await receiver();
    const { tenantId, client, endpoint, secret } = await tenantWithEndpoint(`${r.url}/test`, { eventTypes: ['job.completed'] });
    await client.endpoints.create({ url: `${r.url}/bystander` });

    const { eventId } = await client.endpoints.sendTest({ endpointId: endpoint.id });
    const [request] = await r.waitFor(1);
    expect(request!.method).toBe('POST');
    expect(request!.path).toBe('/test');
    expect(request!.headers['webhook-id']).toBe(eventId);
    const verified = new Webhook(secret).verify(request!.body, {
      'webhook-id': String(request!.headers['webhook-id']),
      'webhook-timestamp': String(request!.headers['webhook-timestamp']),
      'webhook-signature': String(request!.headers['webhook-signature']),
    }) as { type: string; endpointId: string; sentAt: string };
    expect(verified).toMatchObject({ type: 'hookline.test', endpointId: endpoint.id });
    expect(Math.abs(Date.parse(verified.sentAt) - Date.now())).toBeLessThan(10_000);
    const event = await eventually(async () => {
      const e = await client.events.get({ eventId });
      return e.deliveries[0]?.status === 'succeeded' ? e : undefined;
    });
    expect(event).toMatchObject({ tenantId, type: 'hookline.test', payload: { type: 'hookline.test', endpointId: endpoint.id } });
    expect(event.deliveries.map((d) => d.endpointId)).toEqual([endpoint.id]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(r.requests.map((q) => q.path)).toEqual(['/test']);
  });

  it('a disabled endpoint → BAD_REQUEST', async () => {
    const r = await receiver();
    const { client, endpoint } = await tenantWithEndpoint(r.url);
    await client.endpoints.update({ endpointId: endpoint.id, disabled: true });
    const error = await failureOf(client.endpoints.sendTest({ endpointId: endpoint.id }));
    expect(error.code).toBe('BAD_REQUEST');
    expect(error.message).toContain(`endpoint ${endpoint.id} is disabled`);
    expect((await client.deliveries.list({})).items).toEqual([]);
    expect(r.requests).toHaveLength(0);
  });
});
