// endpoints.create with an existing secret (a provider moving its customers' endpoints to hookline
// keeps their secrets: deliveries verify with the old secret), and endpoints.stats (attempts per
// hour, succeeded and failed, and the last attempt), with a real worker and real receivers; the
// router is called in-process (createCaller, with each caller's real key).
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { adminCaller, callerFor, newTenantCaller, type Caller } from './helpers/caller.js';
import { codeOf, failureOf } from './helpers/errors.js';
import { cleanupTracker } from './helpers/fixtures.js';
import { eventually } from './helpers/receiver.js';

let app: TestApp;
let tenantId: string;
let admin: Caller;
let tenant: Caller;
const cleanup = cleanupTracker();

beforeAll(async () => {
  // One attempt per delivery: a failing receiver fails its delivery at once.
  app = await startTestApp({ env: { HOOKLINE_RETRY_SCHEDULE: '' }, worker: true });
  admin = adminCaller(app);
  await admin.eventTypes.upsert({ name: 'job.completed' });
  ({ tenantId, client: tenant } = await newTenantCaller(app, 'Mover'));
});
afterEach(() => cleanup.runAll());
afterAll(() => app.close());

describe('endpoints.create with an existing secret', () => {
  // A Svix-style secret: 24 bytes of key.
  const existing = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

  it('keeps the secret: create returns it and deliveries are signed with it', async () => {
    const receiver = await cleanup.receiver();
    const { secret } = await tenant.endpoints.create({ url: receiver.url, secret: existing });
    expect(secret).toBe(existing);
    const { event } = await admin.events.send({ tenantId, type: 'job.completed', payload: { moved: true } });
    const [request] = await receiver.waitFor(1);
    const verified = new Webhook(existing).verify(request!.body, request!.headers as Record<string, string>);
    expect(verified).toEqual({ moved: true });
    expect(request!.headers['webhook-id']).toBe(event.id);
  });

  it('generates one when none is given', async () => {
    const receiver = await cleanup.receiver();
    const { secret } = await tenant.endpoints.create({ url: receiver.url });
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(secret).not.toBe(existing);
  });

  it.each([
    ['without the prefix', 'MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'],
    ['not base64', 'whsec_not*base64*at*all*!!!!!!!!!!!'],
    ['a key too short', 'whsec_c2hvcnQ='],
    ['empty', 'whsec_'],
  ])('refuses a secret %s (BAD_REQUEST)', async (_label, secret) => {
    const error = await failureOf(tenant.endpoints.create({ url: 'http://127.0.0.1:9/hook', secret }));
    expect(error.code).toBe('BAD_REQUEST');
    expect(error.message).toContain('whsec_');
  });
});

describe('endpoints.stats', () => {
  it('counts succeeded and failed attempts per hour and shows the last attempt', async () => {
    let fail = false;
    const receiver = await cleanup.receiver(() => ({ status: fail ? 500 : 204 }));
    const { endpoint } = await tenant.endpoints.create({ url: receiver.url });
    const before = await tenant.endpoints.stats({ endpointId: endpoint.id });
    expect(before.lastAttempt).toBeNull();
    expect(before.hours.length).toBeGreaterThanOrEqual(24);
    expect(before.hours.every((h) => h.succeeded === 0 && h.failed === 0)).toBe(true);

    for (let i = 0; i < 3; i++) await admin.events.send({ tenantId, type: 'job.completed', payload: { i } });
    await receiver.waitFor(3);
    await eventually(async () => (await tenant.endpoints.stats({ endpointId: endpoint.id })).hours.at(-1)!.succeeded >= 3 || undefined);
    fail = true;
    await admin.events.send({ tenantId, type: 'job.completed', payload: { i: 3 } });
    const stats = await eventually(async () => {
      const s = await tenant.endpoints.stats({ endpointId: endpoint.id });
      return s.hours.reduce((n, h) => n + h.failed, 0) === 1 ? s : undefined;
    });
    const total = stats.hours.reduce((n, h) => ({ succeeded: n.succeeded + h.succeeded, failed: n.failed + h.failed }), {
      succeeded: 0,
      failed: 0,
    });
    expect(total).toEqual({ succeeded: 3, failed: 1 });
    // Every hour is a whole UTC hour, oldest first, ending with the current one.
    const currentHour = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000).toISOString();
    expect(stats.hours.at(-1)!.hour).toBe(currentHour);
    expect(stats.lastAttempt).toMatchObject({ statusCode: 500, error: null });
    expect(Date.parse(stats.lastAttempt!.at)).toBeGreaterThan(Date.now() - 60_000);

    // A window that starts after every attempt counts none, but still names the last attempt.
    const later = await tenant.endpoints.stats({ endpointId: endpoint.id, since: new Date(Date.now() + 1000).toISOString() });
    expect(later.hours.reduce((n, h) => n + h.succeeded + h.failed, 0)).toBe(0);
    expect(later.lastAttempt?.statusCode).toBe(500);
  });

  it("is tenant-scoped: another tenant's endpoint is NOT_FOUND, the admin key names the tenant", async () => {
    const receiver = await cleanup.receiver();
    const { endpoint } = await tenant.endpoints.create({ url: receiver.url });
    const other = await admin.tenants.create({ name: 'Other' });
    expect(await codeOf(callerFor(app, other.apiKey).endpoints.stats({ endpointId: endpoint.id }))).toBe('NOT_FOUND');
    expect(await codeOf(admin.endpoints.stats({ endpointId: endpoint.id }))).toBe('BAD_REQUEST');
    const viaAdmin = await admin.endpoints.stats({ tenantId, endpointId: endpoint.id });
    expect(viaAdmin.endpointId).toBe(endpoint.id);
  });

  it('refuses a window longer than 31 days (BAD_REQUEST)', async () => {
    const receiver = await cleanup.receiver();
    const { endpoint } = await tenant.endpoints.create({ url: receiver.url });
    const since = new Date(Date.now() - 40 * 24 * 3_600_000).toISOString();
    expect(await codeOf(tenant.endpoints.stats({ endpointId: endpoint.id, since }))).toBe('BAD_REQUEST');
  });
});
