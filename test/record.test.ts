// server/delivery/record.ts and load.ts: attempts that finish together are recorded in one
// statement, and loads that start together share one query. These tests make their calls in one
// turn of the event loop, so each group is one batch, and check what the batch wrote: the
// endpoint's health folded in order, a 410 disabling, retries scheduled, duplicates recorded once.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { PostResult } from '../server/delivery/http.js';
import { createDeliveryLoader, type DeliveryLoader, type DeliveryToSend } from '../server/delivery/load.js';
import type { Outcome } from '../server/delivery/outcome.js';
import { createAttemptRecorder, type AttemptRecorder } from '../server/delivery/record.js';
import { sendEvent } from '../server/events/send.js';
import { connectDeliveryPool, deliveryDeps } from '../server/worker/delivery-pool.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { tenantWithEndpoint } from './helpers/fixtures.js';

let app: TestApp;
/** The worker's delivery pool, which load and record run on in production. */
let pool: ReturnType<typeof connectDeliveryPool>;
let load: DeliveryLoader;
let record: AttemptRecorder;
let tenantId: string;
let endpointId: string;

beforeAll(async () => {
  app = await startTestApp();
  await app.admin.eventTypes.upsert.mutate({ name: 'job.completed' });
  pool = connectDeliveryPool(app.config.databaseUrl);
  load = createDeliveryLoader(deliveryDeps(app.deps, pool));
  record = createAttemptRecorder(deliveryDeps(app.deps, pool));
});
afterAll(async () => {
  await pool.close();
  await app.close();
});

beforeEach(async () => {
  // No worker runs in this file: deliveries stay pending until a test records their attempts.
  const created = await tenantWithEndpoint(app, 'https://hooks.example.com/in', { tenantName: 'Batch Co' });
  tenantId = created.tenantId;
  endpointId = created.endpoint.id;
});

/** `n` pending deliveries to the endpoint, loaded together (one query). */
async function pendingDeliveries(n: number): Promise<DeliveryToSend[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const { deliveries } = await sendEvent(app.deps, tenantId, { type: 'job.completed', payload: { i } });
    ids.push(deliveries[0]!.id);
  }
  const loaded = await Promise.all(ids.map((id) => load(id)));
  return loaded.map((d) => d!);
}

function response(status: number): { startedAt: Date; result: PostResult } {
  return { startedAt: new Date(), result: { kind: 'response', status, headers: {}, body: `status ${status}`, durationMs: 7 } };
}

const succeeded: Outcome = { kind: 'succeeded' };
const retry: Outcome = { kind: 'retry', delayMs: 60_000, reason: 'HTTP 500' };

async function endpointHealth() {
  const [row] = await app.deps.sql<
    { failures: number; firstFailureAt: string | null; lastSuccessAt: string | null; disabled: boolean; disabledReason: string | null }[]
  >`select failures_since_success as failures, first_failure_at as "firstFailureAt", last_success_at as "lastSuccessAt",
           disabled, disabled_reason as "disabledReason"
      from endpoints where id = ${endpointId}`;
  return row!;
}

async function deliveryState(id: string) {
  const [row] = await app.deps.sql<{ status: string; attemptCount: number; attempts: number }[]>`
    select status, attempt_count as "attemptCount", (select count(*)::int from attempts where delivery_id = d.id) as attempts
      from deliveries d where id = ${id}`;
  return row!;
}

/** When the batch that recorded the delivery's attempt ran: the statement's now(), its updated_at. */
async function recordedAt(id: string): Promise<string> {
  const [row] = await app.deps.sql<{ updatedAt: string }[]>`select updated_at as "updatedAt" from deliveries where id = ${id}`;
  return row!.updatedAt;
}

describe('loading deliveries together', () => {
  it('returns each caller its own delivery, with the body and the opened secret, and undefined for a missing id', async () => {
    const [a, b] = await pendingDeliveries(2);
    const [again, missing, other] = await Promise.all([load(a!.id), load('dlv_00000000000000000000000000'), load(b!.id)]);
    expect(again).toMatchObject({
      id: a!.id,
      tenantId,
      endpointId,
      status: 'pending',
      attemptCount: 0,
      url: 'https://hooks.example.com/in',
    });
    expect(JSON.parse(again!.body)).toEqual({ i: 0 });
    expect(again!.secrets).toHaveLength(1);
    expect(again!.secrets[0]).toMatch(/^whsec_/);
    expect(missing).toBeUndefined();
    expect(other!.id).toBe(b!.id);
    expect(JSON.parse(other!.body)).toEqual({ i: 1 });
  });
});

describe('recording attempts together', () => {
  it('folds the endpoint health in order: failures after the last success count, the ones before do not', async () => {
    const [d1, d2, d3, d4] = await pendingDeliveries(4);
    await Promise.all([
      record({ delivery: d1!, attempt: 1, sent: response(500), outcome: retry }),
      record({ delivery: d2!, attempt: 1, sent: response(200), outcome: succeeded }),
      record({ delivery: d3!, attempt: 1, sent: response(500), outcome: retry }),
      record({ delivery: d4!, attempt: 1, sent: response(503), outcome: retry }),
    ]);
    const health = await endpointHealth();
    expect(health.failures).toBe(2);
    // Both written by this batch's statement.
    const batchAt = await recordedAt(d2!.id);
    expect(health.firstFailureAt).toBe(batchAt);
    expect(health.lastSuccessAt).toBe(batchAt);
    expect(health.disabled).toBe(false);
    for (const d of [d1!, d2!, d3!, d4!]) expect((await deliveryState(d.id)).attempts).toBe(1);
    expect(await deliveryState(d2!.id)).toMatchObject({ status: 'succeeded', attemptCount: 1 });
    expect(await deliveryState(d1!.id)).toMatchObject({ status: 'pending', attemptCount: 1 });

    // A later batch with only a success resets the count; one with only failures adds to it.
    const [d5, d6, d7] = await pendingDeliveries(3);
    await record({ delivery: d5!, attempt: 1, sent: response(200), outcome: succeeded });
    expect(await endpointHealth()).toMatchObject({ failures: 0, firstFailureAt: null });
    await Promise.all([
      record({ delivery: d6!, attempt: 1, sent: response(500), outcome: retry }),
      record({ delivery: d7!, attempt: 1, sent: response(500), outcome: retry }),
    ]);
    const failing = await endpointHealth();
    expect(failing.failures).toBe(2);
    expect(failing.firstFailureAt).toBe(await recordedAt(d6!.id));
  });

  it('schedules each retry as a job for the next attempt, at its own time', async () => {
    const [d1, d2] = await pendingDeliveries(2);
    const before = Date.now();
    await Promise.all([
      record({ delivery: d1!, attempt: 1, sent: response(500), outcome: retry }),
      record({ delivery: d2!, attempt: 1, sent: response(429), outcome: { kind: 'retry', delayMs: 120_000, reason: 'HTTP 429' } }),
    ]);
    // (Raw SQL gets timestamps as strings here: Drizzle replaces the driver's date parsing.)
    const jobs = await app.deps.sql<{ deliveryId: string; attempt: number; runAt: number }[]>`
      select payload->>'deliveryId' as "deliveryId", (payload->>'attempt')::int as attempt,
             extract(epoch from run_at)::float * 1000 as "runAt"
        from graphile_worker._private_jobs
       where task_id = (select id from graphile_worker._private_tasks where identifier = 'deliver')
         and payload->>'deliveryId' in (${d1!.id}, ${d2!.id}) and (payload->>'attempt')::int = 2
       order by run_at`;
    expect(jobs.map((j) => [j.deliveryId, j.attempt])).toEqual([
      [d1!.id, 2],
      [d2!.id, 2],
    ]);
    expect(jobs[0]!.runAt).toBeGreaterThanOrEqual(before + 59_000);
    expect(jobs[0]!.runAt).toBeLessThan(before + 70_000);
    expect(jobs[1]!.runAt).toBeGreaterThanOrEqual(before + 119_000);
    const [row] = await app.deps.sql<{ nextAttemptAt: number; lastError: string }[]>`
      select extract(epoch from next_attempt_at)::float * 1000 as "nextAttemptAt", last_error as "lastError"
        from deliveries where id = ${d2!.id}`;
    expect(row!.lastError).toBe('HTTP 429');
    expect(row!.nextAttemptAt).toBe(jobs[1]!.runAt);
  });

  it('a 410 disables the endpoint even when other attempts of the batch succeeded', async () => {
    const [d1, d2] = await pendingDeliveries(2);
    await Promise.all([
      record({ delivery: d1!, attempt: 1, sent: response(200), outcome: succeeded }),
      record({
        delivery: d2!,
        attempt: 1,
        sent: response(410),
        outcome: { kind: 'failed', reason: 'HTTP 410 Gone', disableEndpoint: 'the endpoint answered 410 Gone' },
      }),
    ]);
    expect(await endpointHealth()).toMatchObject({ disabled: true, disabledReason: 'the endpoint answered 410 Gone' });
    expect(await deliveryState(d2!.id)).toMatchObject({ status: 'failed', attemptCount: 1, attempts: 1 });
  });

  it('disables an endpoint whose failures in one batch bring it past HOOKLINE_DISABLE_AFTER and 10 failures', async () => {
    const deliveries = await pendingDeliveries(3);
    await app.deps.sql`
      update endpoints set failures_since_success = 8, first_failure_at = now() - interval '6 days' where id = ${endpointId}`;
    await Promise.all(deliveries.slice(0, 2).map((d) => record({ delivery: d, attempt: 1, sent: response(500), outcome: retry })));
    const health = await endpointHealth();
    expect(health.failures).toBe(10);
    expect(health.disabled).toBe(true);
    expect(health.disabledReason).toBe('no successful delivery for 5 days (10 failed attempts)');
  });

  it('disables as one attempt at a time would: a success later in the batch does not undo it, and the message counts to the crossing', async () => {
    const [d1, d2, d3, d4] = await pendingDeliveries(4);
    await app.deps.sql`
      update endpoints set failures_since_success = 8, first_failure_at = now() - interval '6 days' where id = ${endpointId}`;
    await Promise.all([
      record({ delivery: d1!, attempt: 1, sent: response(500), outcome: retry }),
      record({ delivery: d2!, attempt: 1, sent: response(500), outcome: retry }), // the 10th failure: disabled here
      record({ delivery: d3!, attempt: 1, sent: response(500), outcome: retry }),
      record({ delivery: d4!, attempt: 1, sent: response(200), outcome: succeeded }),
    ]);
    const health = await endpointHealth();
    expect(health.disabled).toBe(true);
    expect(health.disabledReason).toBe('no successful delivery for 5 days (10 failed attempts)');
    expect(health.failures).toBe(0); // the success still resets the count
    expect(health.lastSuccessAt).toBe(await recordedAt(d4!.id));
  });

  it('stores a reply containing NUL characters (PostgreSQL text cannot hold them) with the rest of its batch', async () => {
    const [d1, d2] = await pendingDeliveries(2);
    const binary = {
      startedAt: new Date(),
      result: { kind: 'response' as const, status: 200, headers: {}, body: 'ok\u0000\u0000bin', durationMs: 3 },
    };
    await Promise.all([
      record({ delivery: d1!, attempt: 1, sent: binary, outcome: succeeded }),
      record({ delivery: d2!, attempt: 1, sent: response(200), outcome: succeeded }),
    ]);
    const [row] = await app.deps.sql<{ body: string }[]>`select response_body as body from attempts where delivery_id = ${d1!.id}`;
    expect(row!.body).toBe('ok\uFFFD\uFFFDbin');
    expect(await deliveryState(d2!.id)).toMatchObject({ status: 'succeeded', attempts: 1 });
  });

  it('records a duplicate of the same attempt once, and a stale attempt not at all', async () => {
    const [d1] = await pendingDeliveries(1);
    await Promise.all([
      record({ delivery: d1!, attempt: 1, sent: response(500), outcome: retry }),
      record({ delivery: d1!, attempt: 1, sent: response(500), outcome: retry }),
    ]);
    expect(await deliveryState(d1!.id)).toMatchObject({ status: 'pending', attemptCount: 1, attempts: 1 });
    expect((await endpointHealth()).failures).toBe(1);
    // Attempt 1 again (a job run twice after a crash): the delivery now expects attempt 2.
    await record({ delivery: d1!, attempt: 1, sent: response(200), outcome: succeeded });
    expect(await deliveryState(d1!.id)).toMatchObject({ status: 'pending', attemptCount: 1, attempts: 1 });
    expect((await endpointHealth()).failures).toBe(1);
  });

  it('fails a delivery to a disabled endpoint without an attempt row and without touching the endpoint', async () => {
    const [d1, d2] = await pendingDeliveries(2);
    await Promise.all([
      record({ delivery: d1!, attempt: 1, sent: null, outcome: { kind: 'failed', reason: 'endpoint disabled' } }),
      record({ delivery: d2!, attempt: 1, sent: response(200), outcome: succeeded }),
    ]);
    expect(await deliveryState(d1!.id)).toMatchObject({ status: 'failed', attemptCount: 0, attempts: 0 });
    expect(await deliveryState(d2!.id)).toMatchObject({ status: 'succeeded', attemptCount: 1, attempts: 1 });
    expect(await endpointHealth()).toMatchObject({ failures: 0, disabled: false });
  });
});
