// The delivery engine end to end: events.send → fan-out → graphile-worker job → signed POST to a
// real loopback receiver → attempt recorded → retry on schedule. The API is called in-process
// (createCaller, with real keys); every delivery goes over real HTTP.
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { InvalidInputError } from '../server/errors.js';
import { sendEvent } from '../server/events/send.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { adminCaller, callerFor, tenantWithEndpointCaller, type Caller } from './helpers/caller.js';
import { cleanupTracker, sendSettled, settledDelivery } from './helpers/fixtures.js';

let app: TestApp;
let admin: Caller;
const cleanup = cleanupTracker();
const receiver = cleanup.receiver;

// `receiver.test` resolves to loopback through the injected resolver: the worker judges the
// resolved address at connect time exactly as it would a real DNS answer.
// `rebind.test` resolves to 127.0.0.2, loopback but outside the allowlist: a name that looked fine
// at registration and points somewhere forbidden at send time (DNS rebinding).
const resolver = async (hostname: string) => {
  if (hostname === 'receiver.test') return [{ address: '127.0.0.1', family: 4 as const }];
  if (hostname === 'rebind.test') return [{ address: '127.0.0.2', family: 4 as const }];
  throw Object.assign(new Error(`no such test host ${hostname}`), { code: 'ENOTFOUND' });
};

beforeAll(async () => {
  app = await startTestApp({
    env: {
      HOOKLINE_RETRY_SCHEDULE: '50ms,50ms,50ms',
      HOOKLINE_TIMEOUT: '400ms',
      HOOKLINE_ALLOWED_NETWORKS: '127.0.0.1/32,::1/128',
    },
    worker: { resolver },
  });
  admin = adminCaller(app);
  for (const name of ['job.completed', 'job.failed', 'file.upload.completed']) {
    await admin.eventTypes.upsert({ name });
  }
});
afterEach(() => cleanup.runAll());
afterAll(() => app.close());

async function attemptsOf(deliveryId: string) {
  return app.deps.sql<{ number: number; status_code: number | null; error: string | null; started_at: Date }[]>`
    select number, status_code, error, started_at from attempts where delivery_id = ${deliveryId} order by number`;
}

describe('signed delivery', () => {
  it('delivers a Standard Webhooks signed POST that independent verifiers accept', async () => {
    const r = await receiver();
    const { tenantId, secret } = await tenantWithEndpointCaller(app, `http://receiver.test:${r.port}/hooks`);
    const payload = { event: 'job.completed', job_id: 'job_Xm2nKp7q', credits_consumed: 15, note: 'ünïcødé ✓' };
    const sent = await admin.events.send({ tenantId, type: 'job.completed', payload });
    expect(sent.deliveries).toHaveLength(1);

    const [request] = await r.waitFor(1);
    expect(request!.method).toBe('POST');
    expect(request!.path).toBe('/hooks');
    expect(request!.headers['content-type']).toBe('application/json');
    expect(request!.headers['webhook-id']).toBe(sent.event.id);
    expect(request!.headers['webhook-attempt']).toBe('1');
    expect(JSON.parse(request!.body)).toEqual(payload);
    const verified = new Webhook(secret).verify(request!.body, {
      'webhook-id': String(request!.headers['webhook-id']),
      'webhook-timestamp': String(request!.headers['webhook-timestamp']),
      'webhook-signature': String(request!.headers['webhook-signature']),
    });
    expect(verified).toEqual(payload);

    const row = await settledDelivery(app, sent.deliveries[0]!.id);
    expect(row.status).toBe('succeeded');
    const attempts = await attemptsOf(sent.deliveries[0]!.id);
    expect(attempts).toMatchObject([{ number: 1, status_code: 200, error: null }]);
  });

  it('fans out only to enabled endpoints whose filter matches (exact and prefix.*)', async () => {
    const r = await receiver();
    const { tenant, apiKey } = await admin.tenants.create({ name: 'Filters' });
    const c = callerFor(app, apiKey);
    const all = await c.endpoints.create({ url: `${r.url}/all` });
    const exact = await c.endpoints.create({ url: `${r.url}/exact`, eventTypes: ['job.completed'] });
    const prefix = await c.endpoints.create({ url: `${r.url}/files`, eventTypes: ['file.*'] });
    await c.endpoints.create({ url: `${r.url}/disabled`, disabled: true });

    const job = await admin.events.send({ tenantId: tenant.id, type: 'job.completed', payload: { n: 1 } });
    expect(job.deliveries.map((d) => d.endpointId).sort()).toEqual([all.endpoint.id, exact.endpoint.id].sort());
    const file = await admin.events.send({ tenantId: tenant.id, type: 'file.upload.completed', payload: { n: 2 } });
    expect(file.deliveries.map((d) => d.endpointId).sort()).toEqual([all.endpoint.id, prefix.endpoint.id].sort());

    await r.waitFor(4);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(r.requests.map((q) => q.path).sort()).toEqual(['/all', '/all', '/exact', '/files']);
  });
});

describe('retries', () => {
  it('500, 500, 200 → three attempts numbered 1, 2, 3 with identical bytes and id', async () => {
    const r = await receiver((_req, i) => ({ status: i < 2 ? 500 : 200, body: i < 2 ? 'boom' : 'fine' }));
    const { tenantId } = await tenantWithEndpointCaller(app, `${r.url}/retry`);
    const sent = await admin.events.send({ tenantId, type: 'job.completed', payload: { job_id: 'j1' } });
    const requests = await r.waitFor(3);
    expect(requests.map((q) => q.headers['webhook-attempt'])).toEqual(['1', '2', '3']);
    expect(new Set(requests.map((q) => q.body)).size).toBe(1);
    expect(new Set(requests.map((q) => q.headers['webhook-id']))).toEqual(new Set([sent.event.id]));

    const row = await settledDelivery(app, sent.deliveries[0]!.id);
    expect(row).toMatchObject({ status: 'succeeded', attemptCount: 3 });
    const attempts = await attemptsOf(sent.deliveries[0]!.id);
    expect(attempts.map((a) => [a.number, a.status_code])).toEqual([
      [1, 500],
      [2, 500],
      [3, 200],
    ]);
    const [body] = await app.deps.sql<{ response_body: string }[]>`
      select response_body from attempts where delivery_id = ${sent.deliveries[0]!.id} and number = 1`;
    expect(body!.response_body).toBe('boom');
  });

  it('exhausting the schedule fails the delivery after 1 + schedule attempts', async () => {
    const r = await receiver(() => ({ status: 503 }));
    const { tenantId } = await tenantWithEndpointCaller(app, `${r.url}/down`);
    const { delivery: row } = await sendSettled(app, { tenantId, type: 'job.failed', payload: { x: 1 } });
    expect(row.status).toBe('failed');
    expect(row.attemptCount).toBe(4);
    expect(row.lastError).toContain('no retries left');
    expect(r.requests).toHaveLength(4);
  });

  it('honours Retry-After on 429', async () => {
    const r = await receiver((_req, i) => (i === 0 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200 }));
    const { tenantId } = await tenantWithEndpointCaller(app, `${r.url}/slow-down`);
    await admin.events.send({ tenantId, type: 'job.completed', payload: { x: 1 } });
    const [first, second] = await r.waitFor(2, { timeoutMs: 10_000 });
    // The schedule says ~50 ms; the receiver asked for 1 s.
    expect(second!.receivedAt - first!.receivedAt).toBeGreaterThanOrEqual(950);
  });

  it('counts a timeout as a failed attempt and retries', async () => {
    const r = await receiver((_req, i) => (i === 0 ? { delayMs: 1500 } : { status: 200 }));
    const { tenantId } = await tenantWithEndpointCaller(app, `${r.url}/timeout`);
    const { sent, delivery: row } = await sendSettled(app, { tenantId, type: 'job.completed', payload: { x: 1 } });
    expect(row.status).toBe('succeeded');
    const attempts = await attemptsOf(sent.deliveries[0]!.id);
    expect(attempts[0]).toMatchObject({ number: 1, status_code: null, error: 'timeout' });
    expect(attempts[1]).toMatchObject({ number: 2, status_code: 200 });
  });

  it('does not follow a 302: the redirect target is never requested', async () => {
    const r = await receiver((req) =>
      req.path === '/moved' ? { status: 302, headers: { location: `http://127.0.0.1:${r.port}/followed` } } : {},
    );
    const { tenantId } = await tenantWithEndpointCaller(app, `${r.url}/moved`);
    const { sent, delivery: row } = await sendSettled(app, { tenantId, type: 'job.completed', payload: { x: 1 } });
    expect(row.status).toBe('failed');
    expect(r.requests.every((q) => q.path === '/moved')).toBe(true);
    const attempts = await attemptsOf(sent.deliveries[0]!.id);
    expect(attempts.every((a) => a.status_code === 302)).toBe(true);
  });

  it('410 Gone fails the delivery and disables the endpoint', async () => {
    const r = await receiver(() => ({ status: 410 }));
    const { tenantId, apiKey, endpoint } = await tenantWithEndpointCaller(app, `${r.url}/gone`);
    const { delivery: row } = await sendSettled(app, { tenantId, type: 'job.completed', payload: { x: 1 } });
    expect(row.status).toBe('failed');
    expect(r.requests).toHaveLength(1);
    const after = await callerFor(app, apiKey).endpoints.get({ endpointId: endpoint.id });
    expect(after.disabled).toBe(true);
    expect(after.disabledReason).toContain('410');
    // A disabled endpoint gets no new deliveries.
    const next = await admin.events.send({ tenantId, type: 'job.completed', payload: { x: 2 } });
    expect(next.deliveries).toHaveLength(0);
  });

  it('a destination blocked at connect time (DNS rebinding) fails at once, without retry', async () => {
    const r = await receiver();
    const { tenantId } = await tenantWithEndpointCaller(app, `http://rebind.test:${r.port}/`);
    const { sent, delivery: row } = await sendSettled(app, { tenantId, type: 'job.completed', payload: { x: 1 } });
    expect(row.status).toBe('failed');
    // The tenant reads why, not where: the address may be the operator's internal network.
    expect(row.lastError).toContain('rebind.test resolves to a blocked address (loopback); see HOOKLINE_ALLOWED_NETWORKS');
    expect(row.lastError).not.toContain('127.0.0.2');
    const attempts = await attemptsOf(sent.deliveries[0]!.id);
    expect(attempts).toMatchObject([{ number: 1, error: 'blocked' }]);
    expect(r.requests).toHaveLength(0);
  });

  it('a name that does not resolve is retried (DNS errors are transient)', async () => {
    const { tenantId } = await tenantWithEndpointCaller(app, 'https://unknown.example/');
    const { sent, delivery: row } = await sendSettled(app, { tenantId, type: 'job.completed', payload: { x: 1 } });
    expect(row.status).toBe('failed');
    const attempts = await attemptsOf(sent.deliveries[0]!.id);
    expect(attempts.map((a) => a.error)).toEqual(['dns', 'dns', 'dns', 'dns']);
  });
});

describe('events.send input rules', () => {
  it('rejects unknown and archived types, oversized payloads, and unsafe one-off URLs', async () => {
    const { tenantId } = await tenantWithEndpointCaller(app, 'https://hooks.example/');
    await expect(admin.events.send({ tenantId, type: 'nope.never', payload: {} })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
    await admin.eventTypes.upsert({ name: 'old.type' });
    await admin.eventTypes.archive({ name: 'old.type' });
    await expect(admin.events.send({ tenantId, type: 'old.type', payload: {} })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
    const big = { blob: 'x'.repeat(app.config.maxPayloadBytes) };
    await expect(admin.events.send({ tenantId, type: 'job.completed', payload: big })).rejects.toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
    });
    await expect(admin.events.send({ tenantId, type: 'job.completed', payload: {}, url: 'https://10.0.0.1/' })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringContaining('private address 10.0.0.1'),
    });
    await expect(
      admin.events.send({ tenantId: 'tnt_00000000000000000000000000', type: 'job.completed', payload: {} }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(admin.events.send({ tenantId, type: 'job.completed', payload: [1, 2] as never })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
  });

  it('the same idempotency key returns the first event and creates no deliveries', async () => {
    const r = await receiver();
    const { tenantId } = await tenantWithEndpointCaller(app, `${r.url}/idem`);
    const first = await admin.events.send({ tenantId, type: 'job.completed', payload: { v: 1 }, idempotencyKey: 'job-42' });
    const again = await admin.events.send({ tenantId, type: 'job.completed', payload: { v: 2 }, idempotencyKey: 'job-42' });
    expect(again.event.id).toBe(first.event.id);
    expect(again.event.payload).toEqual({ v: 1 });
    expect(again.deliveries.map((d) => d.id)).toEqual(first.deliveries.map((d) => d.id));
    const [count] = await app.deps.sql<{ n: number }[]>`select count(*)::int as n from deliveries where event_id = ${first.event.id}`;
    expect(count!.n).toBe(1);
    await r.waitFor(1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(r.requests).toHaveLength(1);
  });

  it('concurrent sends share statements yet each gets its own result: events, keys, errors and deliveries stay apart', async () => {
    const r = await receiver();
    const a = await tenantWithEndpointCaller(app, `${r.url}/a`);
    const b = await tenantWithEndpointCaller(app, `${r.url}/b`, { eventTypes: ['job.failed'] });
    await callerFor(app, b.apiKey).endpoints.create({ url: `${r.url}/b-all` });
    // Sent in-process in one turn of the event loop, so they are written together: plain events of
    // two tenants, a one-off URL, the same idempotency key twice, and one unregistered type.
    const calls = [
      ...Array.from({ length: 20 }, (_, i) => ({ tenantId: i % 2 ? a.tenantId : b.tenantId, type: 'job.completed', payload: { i } })),
      { tenantId: b.tenantId, type: 'job.failed', payload: { i: 'both endpoints' } },
      { tenantId: a.tenantId, type: 'job.completed', payload: { i: 'one-off' }, url: `${r.url}/one-off` },
      { tenantId: a.tenantId, type: 'job.completed', payload: { i: 'key 1' }, idempotencyKey: 'same-key' },
      { tenantId: a.tenantId, type: 'job.completed', payload: { i: 'key 2' }, idempotencyKey: 'same-key' },
      { tenantId: a.tenantId, type: 'no.such.type', payload: { i: 'rejected' } },
    ];
    const results = await Promise.allSettled(calls.map(({ tenantId, ...input }) => sendEvent(app.deps, tenantId, input)));

    const rejected = results.flatMap((result, i) => (result.status === 'rejected' ? [{ i, error: result.reason }] : []));
    expect(rejected.map(({ i }) => i)).toEqual([calls.length - 1]);
    expect(rejected[0]!.error).toBeInstanceOf(InvalidInputError);
    expect(rejected[0]!.error.message).toMatch(/not registered/);

    const sent = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    for (const [i, one] of sent.entries()) {
      const input = calls[i]!;
      expect(one.event.tenantId).toBe(input.tenantId);
      expect(one.deliveries.every((d) => d.eventId === one.event.id && d.tenantId === input.tenantId)).toBe(true);
    }
    // b's filtered endpoint takes only job.failed; its catch-all takes everything.
    expect(sent.slice(0, 20).map((one) => one.deliveries.length)).toEqual(Array(20).fill(1));
    expect(sent[20]!.deliveries).toHaveLength(2);
    expect(sent[21]!.deliveries.map((d) => d.endpointId)).toEqual([null]);
    // The same key named twice: one event, returned to both callers.
    expect(sent[23]!.event.id).toBe(sent[22]!.event.id);
    expect(new Set(sent.map((one) => one.event.id)).size).toBe(sent.length - 1);
    // One statement, one transaction: PostgreSQL's now() — every created_at — is the same. (The two
    // sends sharing a key meet in it too: the insert keeps the first, the second reads it back.)
    expect(new Set(sent.slice(0, 22).map((one) => one.event.createdAt)).size).toBe(1);

    const deliveryIds = sent.slice(0, 23).flatMap((one) => one.deliveries.map((d) => d.id));
    expect(new Set(deliveryIds).size).toBe(deliveryIds.length);
    const received = await r.waitFor(deliveryIds.length);
    expect(new Set(received.map((request) => String(request.headers['webhook-id']))).size).toBe(sent.length - 1);
  });

  it('deleting a tenant removes its events, deliveries (endpoint and one-off) and attempts', async () => {
    const r = await receiver();
    const { tenantId } = await tenantWithEndpointCaller(app, `${r.url}/gone`);
    const sent = await admin.events.send({ tenantId, type: 'job.completed', payload: { bye: true } });
    await admin.events.send({ tenantId, type: 'job.completed', payload: { bye: 'one-off' }, url: `${r.url}/one-off` });
    await settledDelivery(app, sent.deliveries[0]!.id);
    await admin.tenants.delete({ tenantId });
    const [left] = await app.deps.sql<{ events: number; deliveries: number; attempts: number }[]>`
      select (select count(*)::int from events where tenant_id = ${tenantId}) as events,
             (select count(*)::int from deliveries where tenant_id = ${tenantId}) as deliveries,
             (select count(*)::int from attempts where tenant_id = ${tenantId}) as attempts`;
    expect(left).toEqual({ events: 0, deliveries: 0, attempts: 0 });
  });

  it("records the endpoint's first success (its health row is written, then spared for a second)", async () => {
    const r = await receiver();
    const { tenantId, endpoint } = await tenantWithEndpointCaller(app, `${r.url}/first`);
    const { deliveryId } = await sendSettled(app, { tenantId, type: 'job.completed', payload: { n: 1 } });
    // Recorded by the statement that settled the delivery: the same now() as the delivery's updated_at.
    const [row] = await app.deps.sql<{ success_at_settle: boolean | null; failures_since_success: number }[]>`
      select e.last_success_at = d.updated_at as success_at_settle, e.failures_since_success
        from endpoints e, deliveries d where e.id = ${endpoint.id} and d.id = ${deliveryId}`;
    expect(row).toEqual({ success_at_settle: true, failures_since_success: 0 });
  });

  it('a one-off url delivery is signed with the tenant signing secret', async () => {
    const r = await receiver();
    const { tenant, signingSecret } = await admin.tenants.create({ name: 'One-off' });
    const sent = await admin.events.send({
      tenantId: tenant.id,
      type: 'job.completed',
      payload: { jobId: 'n1', status: 'completed' },
      url: `${r.url}/job-webhook`,
    });
    expect(sent.deliveries).toHaveLength(1);
    expect(sent.deliveries[0]!.endpointId).toBeNull();
    const [request] = await r.waitFor(1);
    expect(request!.path).toBe('/job-webhook');
    expect(
      new Webhook(signingSecret).verify(request!.body, {
        'webhook-id': String(request!.headers['webhook-id']),
        'webhook-timestamp': String(request!.headers['webhook-timestamp']),
        'webhook-signature': String(request!.headers['webhook-signature']),
      }),
    ).toEqual({ jobId: 'n1', status: 'completed' });
  });
});

describe('secret rotation', () => {
  it('during the grace period receivers holding only the old or only the new secret both verify', async () => {
    const r = await receiver();
    const { tenantId, apiKey, endpoint, secret: oldSecret } = await tenantWithEndpointCaller(app, `${r.url}/rotate`);
    const { secret: newSecret } = await callerFor(app, apiKey).endpoints.rotateSecret({ endpointId: endpoint.id });
    await admin.events.send({ tenantId, type: 'job.completed', payload: { rotated: true } });
    const [request] = await r.waitFor(1);
    const headers = {
      'webhook-id': String(request!.headers['webhook-id']),
      'webhook-timestamp': String(request!.headers['webhook-timestamp']),
      'webhook-signature': String(request!.headers['webhook-signature']),
    };
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(new Webhook(oldSecret).verify(request!.body, headers)).toEqual({ rotated: true });
    expect(new Webhook(newSecret).verify(request!.body, headers)).toEqual({ rotated: true });

    // Without a grace period only the newest secret signs.
    const { secret: newest } = await callerFor(app, apiKey).endpoints.rotateSecret({ endpointId: endpoint.id, graceSeconds: 0 });
    await admin.events.send({ tenantId, type: 'job.completed', payload: { rotated: 2 } });
    const [, second] = await r.waitFor(2);
    const secondHeaders = {
      'webhook-id': String(second!.headers['webhook-id']),
      'webhook-timestamp': String(second!.headers['webhook-timestamp']),
      'webhook-signature': String(second!.headers['webhook-signature']),
    };
    expect(new Webhook(newest).verify(second!.body, secondHeaders)).toEqual({ rotated: 2 });
    expect(() => new Webhook(newSecret).verify(second!.body, secondHeaders)).toThrow();
  });
});
