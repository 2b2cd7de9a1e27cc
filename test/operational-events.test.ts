// Operational events to the operator (HOOKLINE_OPERATOR_WEBHOOK_URL): endpoint.disabled (a 410, by
// hand) and delivery.exhausted, signed with the operator's secret (checked here with Node's crypto
// from the Standard Webhooks rules), delivered to an address the tenants' rules refuse, written with
// the change that causes them — and never about operational deliveries themselves.
import { createHmac, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPERATOR_TENANT_ID } from '../db/sql/operational-events.js';
import { ConfigError, loadConfig } from '../server/env.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { errorOf } from './helpers/errors.js';
import { eventually, startReceiver, type ReceivedRequest, type Receiver } from './helpers/receiver.js';

const operatorSecret = `whsec_${randomBytes(32).toString('base64')}`;
let app: TestApp;
let operator: Receiver;
let tenants: Receiver;
let operatorDown = false;
// Paths of the tenants' receiver answer as their name says.
const statusOf = (path: string) => (path.startsWith('/gone') ? 410 : path.startsWith('/broken') ? 500 : 200);

beforeAll(async () => {
  // The operator's receiver listens on ::1, outside HOOKLINE_ALLOWED_NETWORKS: a tenant could not
  // register it, the operator's own configuration may name it.
  operator = await startReceiver(() => ({ status: operatorDown ? 503 : 204 }), '::1');
  tenants = await startReceiver((request) => ({ status: statusOf(request.path) }));
  app = await startTestApp({
    worker: true,
    env: {
      HOOKLINE_ALLOWED_NETWORKS: '127.0.0.0/8',
      HOOKLINE_RETRY_SCHEDULE: '20ms',
      HOOKLINE_OPERATOR_WEBHOOK_URL: `${operator.url}/hookline-ops`,
      HOOKLINE_OPERATOR_WEBHOOK_SECRET: operatorSecret,
    },
  });
  await app.admin.eventTypes.upsert.mutate({ name: 'job.finished' });
});
afterAll(async () => {
  await app.close();
  await operator.close();
  await tenants.close();
});

/** The body, after checking its Standard Webhooks signature with the operator's secret. */
function verified(request: ReceivedRequest): Record<string, unknown> {
  const id = request.headers['webhook-id'] as string;
  const timestamp = request.headers['webhook-timestamp'] as string;
  const key = Buffer.from(operatorSecret.slice('whsec_'.length), 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${request.body}`).digest('base64');
  expect((request.headers['webhook-signature'] as string).split(' ')).toContain(`v1,${expected}`);
  expect(Math.abs(Date.now() / 1000 - Number(timestamp))).toBeLessThan(60);
  return JSON.parse(request.body) as Record<string, unknown>;
}

const ofType = (type: string) => (r: ReceivedRequest) => (JSON.parse(r.body) as { type: string }).type === type;

async function tenantWithEndpoint(path: string) {
  const { tenant } = await app.admin.tenants.create.mutate({ name: `Tenant ${path}` });
  const { endpoint } = await app.admin.endpoints.create.mutate({ tenantId: tenant.id, url: `${tenants.url}${path}` });
  return { tenantId: tenant.id, endpointId: endpoint.id };
}

describe('operational events', () => {
  it('delivery.exhausted: a delivery that failed for good, signed with the operator secret, to an address tenants may not use', async () => {
    const { tenantId, endpointId } = await tenantWithEndpoint('/broken');
    const { event, deliveries } = await app.admin.events.send.mutate({ tenantId, type: 'job.finished', payload: { jobId: 'j1' } });
    const [request] = await operator.waitFor(1, { match: ofType('delivery.exhausted') });
    expect(request!.path).toBe('/hookline-ops');
    expect(verified(request!)).toEqual({
      type: 'delivery.exhausted',
      tenantId,
      endpointId,
      deliveryId: deliveries[0]!.id,
      eventId: event.id,
      attempts: 2,
      lastError: 'HTTP 500; no retries left',
    });
    // A fresh id per operational event, not the tenant event's.
    expect(request!.headers['webhook-id']).toMatch(/^evt_/);
    expect(request!.headers['webhook-id']).not.toBe(event.id);
    // A tenant could not register the operator's address.
    const refused = await errorOf(app.admin.endpoints.create.mutate({ tenantId, url: `${operator.url}/hookline-ops` }));
    expect(refused.data?.code).toBe('BAD_REQUEST');
  });

  it('endpoint.disabled on a 410, and no delivery.exhausted for the delivery that disabled it', async () => {
    const { tenantId, endpointId } = await tenantWithEndpoint('/gone');
    const exhaustedBefore = operator.requests.filter(ofType('delivery.exhausted')).length;
    await app.admin.events.send.mutate({ tenantId, type: 'job.finished', payload: { n: 1 } });
    const [request] = await operator.waitFor(1, { match: (r) => ofType('endpoint.disabled')(r) && r.body.includes(endpointId) });
    const body = verified(request!);
    expect(body).toMatchObject({ type: 'endpoint.disabled', tenantId, endpointId, url: `${tenants.url}/gone` });
    expect(body.reason).toMatch(/410/);
    const shown = await app.admin.endpoints.get.query({ tenantId, endpointId });
    expect(shown.disabled).toBe(true);
    expect(shown.disabledReason).toBe(body.reason);
    expect(new Date(body.disabledAt as string).toISOString()).toBe(shown.disabledAt);

    // The delivery the 410 failed is not reported again as exhausted (the endpoint.disabled says it),
    // and a later event makes no delivery to the disabled endpoint.
    const later = await app.admin.events.send.mutate({ tenantId, type: 'job.finished', payload: { n: 2 } });
    expect(later.deliveries).toHaveLength(0);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(operator.requests.filter(ofType('delivery.exhausted')).length).toBe(exhaustedBefore);
    expect(operator.requests.filter((r) => ofType('endpoint.disabled')(r) && r.body.includes(endpointId))).toHaveLength(1);
  });

  it('endpoint.disabled by hand, once: disabling a disabled endpoint again says nothing', async () => {
    const { tenantId, endpointId } = await tenantWithEndpoint('/fine');
    await app.admin.endpoints.update.mutate({ tenantId, endpointId, disabled: true });
    const [request] = await operator.waitFor(1, { match: (r) => r.body.includes(endpointId) });
    expect(verified(request!)).toMatchObject({ type: 'endpoint.disabled', tenantId, endpointId, reason: 'disabled through the API' });
    await app.admin.endpoints.update.mutate({ tenantId, endpointId, disabled: true });
    await app.admin.endpoints.update.mutate({ tenantId, endpointId, description: 'still disabled' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(operator.requests.filter((r) => r.body.includes(endpointId))).toHaveLength(1);
  });

  it("an operational delivery that fails for good emits nothing: it is logged under the operator's tenant as failed", async () => {
    operatorDown = true;
    try {
      const { tenantId, endpointId } = await tenantWithEndpoint('/fine-then-disabled');
      const before = operator.requests.length;
      await app.admin.endpoints.update.mutate({ tenantId, endpointId, disabled: true });
      // Two attempts (the retry schedule has one retry), both answered 503, then nothing more.
      await operator.waitFor(before + 2);
      const failed = await eventually(async () => {
        const page = await app.admin.deliveries.list.query({ tenantId: OPERATOR_TENANT_ID, status: 'failed' });
        return page.items.find((d) => d.attemptCount === 2 && d.lastError?.startsWith('HTTP 503'));
      });
      expect(failed.tenantId).toBe(OPERATOR_TENANT_ID);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(operator.requests.length).toBe(before + 2);
      const events = await app.admin.events.list.query({ tenantId: OPERATOR_TENANT_ID, type: 'delivery.exhausted' });
      expect(events.items.every((e) => !JSON.stringify(e).includes(failed.id))).toBe(true);
    } finally {
      operatorDown = false;
    }
  });

  it("the operator's tenant cannot be deleted", async () => {
    const error = await errorOf(app.admin.tenants.delete.mutate({ tenantId: OPERATOR_TENANT_ID }));
    expect(error.data?.code).toBe('BAD_REQUEST');
  });
});

describe('configuration', () => {
  const base = { DATABASE_URL: 'postgres://127.0.0.1/x' };
  it('takes the URL and its whsec_ secret together, or neither', () => {
    expect(loadConfig(base).operatorWebhook).toBeUndefined();
    expect(
      loadConfig({ ...base, HOOKLINE_OPERATOR_WEBHOOK_URL: 'https://ops.example/hooks', HOOKLINE_OPERATOR_WEBHOOK_SECRET: operatorSecret })
        .operatorWebhook,
    ).toEqual({
      url: 'https://ops.example/hooks',
      secret: operatorSecret,
    });
    expect(() => loadConfig({ ...base, HOOKLINE_OPERATOR_WEBHOOK_URL: 'https://ops.example/hooks' })).toThrow(ConfigError);
    expect(() =>
      loadConfig({ ...base, HOOKLINE_OPERATOR_WEBHOOK_URL: 'https://ops.example/hooks', HOOKLINE_OPERATOR_WEBHOOK_SECRET: 'nope' }),
    ).toThrow(/HOOKLINE_OPERATOR_WEBHOOK_SECRET/);
  });
});
