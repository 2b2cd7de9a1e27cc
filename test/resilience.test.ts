// The delivery engine under stress: a worker killed with SIGKILL mid-burst, SIGTERM draining,
// fan-out to 1,000 endpoints, a tenant with black-holed endpoints next to a healthy one, and
// automatic disabling of an endpoint that keeps failing.
import { afterEach, describe, expect, it } from 'vitest';
import { connectDatabase } from '../db/client.js';
import type { AppDeps } from '../server/deps.js';
import { createEndpoint } from '../server/endpoints/service.js';
import { sendEvent } from '../server/events/send.js';
import type { TestApp } from './helpers/app.js';
import { cleanupTracker, deliveryRow, settledDeliveries, settledDelivery, tenantWithEndpoint } from './helpers/fixtures.js';
import { processEnv, type HooklineProcess } from './helpers/processes.js';
import { eventually } from './helpers/receiver.js';

const cleanup = cleanupTracker();
afterEach(() => cleanup.runAll());

const app = cleanup.app;
const receiver = cleanup.receiver;
/** A `hookline worker` child process of the app's deployment. */
function worker(a: TestApp, extra: Record<string, string> = {}): HooklineProcess {
  return cleanup.hookline(['worker'], processEnv(a.config, extra));
}

/** The job.completed type, a tenant and one endpoint at `url`. */
async function setup(a: TestApp, url: string) {
  await a.admin.eventTypes.upsert.mutate({ name: 'job.completed' });
  const { tenantId, apiKey, endpoint } = await tenantWithEndpoint(a, url);
  return { tenantId, apiKey, endpointId: endpoint.id };
}

async function countOf(query: Promise<{ n: number }[]>): Promise<number> {
  return (await query)[0]!.n;
}

describe('crash safety', () => {
  it('kill -9 mid-burst: another worker delivers every event at least once, duplicates share the id', async () => {
    const a = await app({ env: { HOOKLINE_WORKER_HEARTBEAT: '200ms', HOOKLINE_WORKER_DEAD_AFTER: '1500ms' } });
    const r = await receiver(() => ({ delayMs: 300 }));
    const { tenantId } = await setup(a, `${r.url}/crash`);
    const livenessEnv = { HOOKLINE_WORKER_HEARTBEAT: '200ms', HOOKLINE_WORKER_DEAD_AFTER: '1500ms', HOOKLINE_WORKER_CONCURRENCY: '20' };

    const first = worker(a, livenessEnv);
    await first.waitForOutput('worker started');
    const total = 150;
    const sent = await Promise.all(
      Array.from({ length: total }, (_, i) => a.admin.events.send.mutate({ tenantId, type: 'job.completed', payload: { i } })),
    );
    const ids = new Set(sent.map((s) => s.event.id));
    await r.waitFor(25, { timeoutMs: 20_000 });
    await first.kill('SIGKILL');

    // The dead worker left jobs locked; graphile-worker alone would hold them for hours.
    const locked = await countOf(
      a.deps.sql<{ n: number }[]>`select count(*)::int as n from graphile_worker.jobs where locked_by is not null`,
    );
    expect(locked).toBeGreaterThan(0);

    const second = worker(a, livenessEnv);
    await second.waitForOutput('worker started');
    await eventually(
      async () => {
        const received = new Set(r.requests.map((q) => String(q.headers['webhook-id'])));
        return [...ids].every((id) => received.has(id));
      },
      45_000,
      100,
    );

    for (const request of r.requests) expect(ids.has(String(request.headers['webhook-id']))).toBe(true);
    // Every duplicate carries the same id and the same bytes as the first copy.
    const bodies = new Map<string, string>();
    for (const request of r.requests) {
      const id = String(request.headers['webhook-id']);
      if (bodies.has(id)) expect(request.body).toBe(bodies.get(id));
      else bodies.set(id, request.body);
    }
    await eventually(async () => {
      const pending = await countOf(a.deps.sql<{ n: number }[]>`select count(*)::int as n from deliveries where status <> 'succeeded'`);
      return pending === 0;
    }, 20_000);
    expect(await second.kill('SIGTERM')).toBe(0);
  }, 90_000);

  it('SIGTERM lets an in-flight delivery finish and exits 0', async () => {
    const a = await app({});
    const r = await receiver(() => ({ delayMs: 1200 }));
    const { tenantId } = await setup(a, `${r.url}/drain`);
    const w = worker(a);
    await w.waitForOutput('worker started');
    const sent = await a.admin.events.send.mutate({ tenantId, type: 'job.completed', payload: { drain: true } });
    await r.waitFor(1);
    const exitCode = await w.kill('SIGTERM');
    expect(exitCode).toBe(0);
    expect(await deliveryRow(a, sent.deliveries[0]!.id)).toMatchObject({ status: 'succeeded', attemptCount: 1 });
  }, 30_000);
});

describe('fan-out', () => {
  it('one event to 1,000 endpoints: a bounded number of statements, every endpoint receives it', async () => {
    const a = await app({ env: { HOOKLINE_MAX_ENDPOINTS_PER_TENANT: '1000' }, worker: true });
    const r = await receiver();
    await a.admin.eventTypes.upsert.mutate({ name: 'job.completed' });
    const { tenant } = await a.admin.tenants.create.mutate({ name: 'Wide' });
    for (let i = 0; i < 1000; i += 50) {
      await Promise.all(Array.from({ length: 50 }, (_, j) => createEndpoint(a.deps, tenant.id, { url: `${r.url}/ep/${i + j}` })));
    }

    // Count the statements the send makes, on a connection of its own.
    let statements = 0;
    const counted = connectDatabase(a.config.databaseUrl, { max: 1, debug: () => statements++ });
    cleanup.defer(() => counted.close());
    const deps: AppDeps = { ...a.deps, db: counted.db, sql: counted.sql, sendSql: counted.sql };
    const started = Date.now();
    const sent = await sendEvent(deps, tenant.id, { type: 'job.completed', payload: { wide: true } });
    const enqueueMs = Date.now() - started;
    expect(sent.deliveries).toHaveLength(1000);
    // One statement for the fan-out, whatever the number of endpoints. The driver's type lookup on a
    // new connection may add one, and these deps' first send adds two of the payload checker's: its
    // LISTEN for catalog changes and the read of the type's schema.
    expect(statements).toBeLessThanOrEqual(4);

    await r.waitFor(1000, { timeoutMs: 60_000 });
    expect(new Set(r.requests.map((q) => q.path)).size).toBe(1000);
    expect(new Set(r.requests.map((q) => q.headers['webhook-id']))).toEqual(new Set([sent.event.id]));
    console.log(`fan-out to 1,000 endpoints: enqueued in ${enqueueMs} ms with ${statements} statements`);
  }, 120_000);
});

describe('tenant fairness', () => {
  it("a tenant with black-holed endpoints does not stop another tenant's deliveries", async () => {
    const a = await app({
      env: { HOOKLINE_WORKER_CONCURRENCY: '4', HOOKLINE_TIMEOUT: '3s', HOOKLINE_RETRY_SCHEDULE: '' },
      worker: true,
    });
    const blackHole = await receiver(() => ({ hang: true }));
    const healthy = await receiver();
    await a.admin.eventTypes.upsert.mutate({ name: 'job.completed' });
    const noisy = await a.admin.tenants.create.mutate({ name: 'Noisy' });
    for (let i = 0; i < 4; i++) await a.client(noisy.apiKey).endpoints.create.mutate({ url: `${blackHole.url}/hole/${i}` });
    const calm = await a.admin.tenants.create.mutate({ name: 'Calm' });
    await a.client(calm.apiKey).endpoints.create.mutate({ url: `${healthy.url}/calm` });

    for (let i = 0; i < 5; i++) await a.admin.events.send.mutate({ tenantId: noisy.tenant.id, type: 'job.completed', payload: { i } });
    await blackHole.waitFor(2);
    const sentAt = Date.now();
    await a.admin.events.send.mutate({ tenantId: calm.tenant.id, type: 'job.completed', payload: { calm: true } });
    const [request] = await healthy.waitFor(1, { timeoutMs: 10_000 });
    // Four slots, all of which the noisy tenant would hold for 3 s without the per-tenant cap.
    expect(request!.receivedAt - sentAt).toBeLessThan(1500);
  }, 30_000);

  it('a stopping worker sends the jobs waiting for a slot or set aside back to the queue, without an attempt, for the next worker', async () => {
    // One delivery slot per tenant: of five events to one endpoint, one is in flight, four wait or step aside.
    const a = await app({ env: { HOOKLINE_WORKER_CONCURRENCY: '2' }, worker: true });
    // Long enough that the stop below lands while the first delivery is still in flight.
    const r = await receiver(() => ({ delayMs: 1500 }));
    const { tenantId } = await setup(a, `${r.url}/slow`);
    const sent = await Promise.all(
      Array.from({ length: 5 }, (_, i) => a.admin.events.send.mutate({ tenantId, type: 'job.completed', payload: { i } })),
    );
    await r.waitFor(1);
    await eventually(async () => a.worker!.fairness.waiting() + a.worker!.fairness.setAside() === 4);
    await a.worker!.stop(); // returns once the delivery in flight is recorded
    expect(r.requests).toHaveLength(1);
    await cleanup.worker(a, { pollIntervalMs: 100 });
    await r.waitFor(5, { timeoutMs: 15_000 });
    const rows = await settledDeliveries(
      a,
      sent.map((s) => s.deliveries[0]!.id),
    );
    expect(rows.map((row) => `${row.status} ${row.attemptCount}`)).toEqual(Array(5).fill('succeeded 1'));
    expect(new Set(r.requests.map((q) => q.headers['webhook-id'])).size).toBe(5);
  }, 30_000);
});

describe('endpoint health', () => {
  it('an endpoint failing for longer than HOOKLINE_DISABLE_AFTER with ≥ 10 failed attempts is disabled; re-enabling resumes', async () => {
    const a = await app({
      env: { HOOKLINE_DISABLE_AFTER: '1ms', HOOKLINE_RETRY_SCHEDULE: Array(12).fill('10ms').join(',') },
      worker: true,
    });
    let healthy = false;
    const r = await receiver(() => ({ status: healthy ? 200 : 500 }));
    const { tenantId, apiKey, endpointId } = await setup(a, `${r.url}/flaky`);
    const sent = await a.admin.events.send.mutate({ tenantId, type: 'job.completed', payload: { n: 1 } });
    const endpoint = await eventually(async () => {
      const e = await a.client(apiKey).endpoints.get.query({ endpointId });
      return e.disabled ? e : undefined;
    });
    expect(endpoint.disabledReason).toContain('no successful delivery');
    const failed = await settledDelivery(a, sent.deliveries[0]!.id);
    expect(failed).toMatchObject({ status: 'failed', attemptCount: 10, lastError: 'endpoint disabled' });
    expect(r.requests).toHaveLength(10);
    expect((await a.admin.events.send.mutate({ tenantId, type: 'job.completed', payload: { n: 2 } })).deliveries).toHaveLength(0);

    healthy = true;
    await a.client(apiKey).endpoints.update.mutate({ endpointId, disabled: false });
    const next = await a.admin.events.send.mutate({ tenantId, type: 'job.completed', payload: { n: 3 } });
    expect(next.deliveries).toHaveLength(1);
    await r.waitFor(11);
    expect(JSON.parse(r.requests[10]!.body)).toEqual({ n: 3 });
  }, 30_000);

  it('HOOKLINE_DISABLE_AFTER=0 never disables an endpoint automatically', async () => {
    const a = await app({ env: { HOOKLINE_DISABLE_AFTER: '0', HOOKLINE_RETRY_SCHEDULE: Array(11).fill('10ms').join(',') }, worker: true });
    const r = await receiver(() => ({ status: 500 }));
    const { tenantId, apiKey, endpointId } = await setup(a, `${r.url}/always-down`);
    const sent = await a.admin.events.send.mutate({ tenantId, type: 'job.completed', payload: { n: 1 } });
    // 1 + 11 scheduled retries, all failed; the endpoint stays enabled throughout.
    expect(await settledDelivery(a, sent.deliveries[0]!.id)).toMatchObject({ status: 'failed', attemptCount: 12 });
    expect(r.requests).toHaveLength(12);
    expect((await a.client(apiKey).endpoints.get.query({ endpointId })).disabled).toBe(false);
  }, 30_000);
});
