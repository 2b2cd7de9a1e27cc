// Stranded deliveries (server/worker/stranded-sweeper.ts, db/sql/stranded.ts): a pending
// delivery whose job is gone, or used up its attempts, gets a job again for the same attempt and is
// delivered to a real loopback receiver; one whose job kept failing for over a day is failed with a
// reason; a delivery with a live job (queued, locked, due later, failing with attempts left) is left
// alone; many sweepers at once give a delivery one job; deliveries.retry accepts a stranded one.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../server/env.js';
import { createStrandedSweeper, type StrandedSweeperOptions } from '../server/worker/stranded-sweeper.js';
import type { Worker } from '../server/worker/worker.js';
import { startTestApp, type Client, type TestApp } from './helpers/app.js';
import { errorOf } from './helpers/errors.js';
import { cleanupTracker } from './helpers/fixtures.js';
import { eventually, type Receiver } from './helpers/receiver.js';

let app: TestApp;
const cleanup = cleanupTracker();
let worker: Worker | undefined;

beforeAll(async () => {
  // No worker of the app's own: each test sets up its deliveries first, then sweeps and delivers.
  app = await startTestApp();
  await app.admin.eventTypes.upsert.mutate({ name: 'job.completed' });
});
afterEach(async () => {
  await worker?.stop();
  worker = undefined;
  await cleanup.runAll();
});
afterAll(() => app.close());

const sweeper = (options: StrandedSweeperOptions = {}) => createStrandedSweeper(app.deps, { graceMs: 0, ...options });

async function startDelivering(sweep: StrandedSweeperOptions = { intervalMs: 50, graceMs: 0 }) {
  worker = await app.composed.startWorker({ pollIntervalMs: 100, sweeper: sweep });
}

interface Setup {
  tenantId: string;
  client: Client;
  receiver: Receiver;
  endpointIds: string[];
}

async function tenantWithEndpoints(count = 1): Promise<Setup> {
  const receiver = await cleanup.receiver();
  const { tenant, apiKey } = await app.admin.tenants.create.mutate({ name: 'Stranded' });
  const client = app.client(apiKey);
  const endpointIds: string[] = [];
  for (let i = 0; i < count; i++) {
    endpointIds.push((await client.endpoints.create.mutate({ url: `${receiver.url}/${i}` })).endpoint.id);
  }
  return { tenantId: tenant.id, client, receiver, endpointIds };
}

/** Sends one event: its deliveries are pending, each with a job (no worker runs yet). */
async function send(setup: Setup): Promise<string[]> {
  const sent = await app.admin.events.send.mutate({ tenantId: setup.tenantId, type: 'job.completed', payload: { n: 1 } });
  return sent.deliveries.map((d) => d.id);
}

interface JobRow {
  id: string;
  attempt: number;
  attempts: number;
  max_attempts: number;
  locked_at: Date | null;
}

async function jobsOf(deliveryId: string): Promise<JobRow[]> {
  return app.deps.sql<JobRow[]>`
    select id::text, (payload->>'attempt')::int as attempt, attempts, max_attempts, locked_at
      from graphile_worker._private_jobs where payload->>'deliveryId' = ${deliveryId} order by id`;
}

async function deleteJobsOf(deliveryIds: string[]) {
  await app.deps.sql`delete from graphile_worker._private_jobs where payload->>'deliveryId' = any(${deliveryIds}::text[])`;
}

/** graphile-worker's state after a job failed its last attempt. */
async function useUpJobOf(deliveryId: string) {
  await app.deps.sql`
    update graphile_worker._private_jobs
       set attempts = max_attempts, last_error = 'Error: connect ECONNREFUSED 10.0.0.5:5432', locked_at = null, locked_by = null
     where payload->>'deliveryId' = ${deliveryId}`;
}

async function deliveryRow(deliveryId: string) {
  const [row] = await app.deps.sql<{ status: string; attempt_count: number; last_error: string | null }[]>`
    select status::text, attempt_count, last_error from deliveries where id = ${deliveryId}`;
  return row!;
}

const succeeded = (deliveryId: string) =>
  eventually(async () => {
    const row = await deliveryRow(deliveryId);
    return row.status === 'succeeded' ? row : undefined;
  });

describe('stranded deliveries: the sweeper', () => {
  it('a pending delivery whose job was deleted gets a job again and is delivered (attempt 1)', async () => {
    const setup = await tenantWithEndpoints();
    const [deliveryId] = await send(setup);
    await deleteJobsOf([deliveryId!]);

    await startDelivering();
    const [request] = await setup.receiver.waitFor(1);
    expect(request!.headers['webhook-attempt']).toBe('1');
    expect(await succeeded(deliveryId!)).toMatchObject({ attempt_count: 1 });
    await new Promise((resolve) => setTimeout(resolve, 300)); // more sweeps: nothing sent twice
    expect(setup.receiver.requests).toHaveLength(1);
  });

  it('a delivery waiting for its third attempt whose job was deleted gets a job for attempt 3', async () => {
    const setup = await tenantWithEndpoints();
    const [deliveryId] = await send(setup);
    await deleteJobsOf([deliveryId!]);
    await app.deps.sql`
      update deliveries set attempt_count = 2, next_attempt_at = now() - interval '1 second', last_error = 'HTTP 503'
       where id = ${deliveryId!}`;

    expect(await sweeper().sweep()).toMatchObject({ requeued: 1, failed: 0 });
    expect((await jobsOf(deliveryId!)).map((j) => j.attempt)).toEqual([3]);
    await startDelivering();
    const [request] = await setup.receiver.waitFor(1);
    expect(request!.headers['webhook-attempt']).toBe('3');
    expect(await succeeded(deliveryId!)).toMatchObject({ attempt_count: 3 });
  });

  it('a job that used up its attempts is replaced by a fresh one and the delivery is delivered', async () => {
    const setup = await tenantWithEndpoints();
    const [deliveryId] = await send(setup);
    await useUpJobOf(deliveryId!);

    await startDelivering();
    await setup.receiver.waitFor(1);
    expect(await succeeded(deliveryId!)).toMatchObject({ attempt_count: 1 });
    // The used-up job is gone, and the fresh one completed (graphile-worker completes a job in a
    // batch a moment after the attempt is recorded, so its row may still be there, locked).
    await eventually(async () => (await jobsOf(deliveryId!)).length === 0);
  });

  it('a delivery whose job has kept failing for over a day is failed with a reason that names no internals', async () => {
    const setup = await tenantWithEndpoints();
    const [deliveryId] = await send(setup);
    await useUpJobOf(deliveryId!);
    await app.deps.sql`update deliveries set updated_at = now() - interval '25 hours' where id = ${deliveryId!}`;

    expect(await sweeper().sweep()).toMatchObject({ requeued: 0, failed: 1 });
    const row = await deliveryRow(deliveryId!);
    expect(row).toMatchObject({ status: 'failed', attempt_count: 0 });
    expect(row.last_error).toContain('given up');
    expect(row.last_error).not.toContain('10.0.0.5');
    expect(await jobsOf(deliveryId!)).toEqual([]);
    expect(setup.receiver.requests).toHaveLength(0);
  });

  it('leaves live jobs alone: queued, locked by a worker, due later, failing with attempts left', async () => {
    const setup = await tenantWithEndpoints(4);
    const ids = await send(setup);
    const [, locked, later, failing] = ids as [string, string, string, string];
    await app.deps.sql`update deliveries set updated_at = now() - interval '2 hours' where id = any(${ids}::text[])`;
    await app.deps.sql`
      update graphile_worker._private_jobs set locked_at = now(), locked_by = 'another-worker'
       where payload->>'deliveryId' = ${locked}`;
    await app.deps.sql`
      update graphile_worker._private_jobs set run_at = now() + interval '1 hour' where payload->>'deliveryId' = ${later}`;
    await app.deps.sql`
      update graphile_worker._private_jobs set attempts = 9, last_error = 'Error: boom', run_at = now() + interval '1 hour'
       where payload->>'deliveryId' = ${failing}`;
    // And a running job on its last attempt (attempts = max_attempts, locked): live until it ends.
    const [lastTry] = await send(setup);
    await app.deps.sql`
      update graphile_worker._private_jobs set attempts = max_attempts, locked_at = now(), locked_by = 'another-worker'
       where payload->>'deliveryId' = ${lastTry!}`;

    const before = await Promise.all([...ids, lastTry!].map(jobsOf));
    for (let i = 0; i < 3; i++) expect(await sweeper().sweep()).toEqual({ requeued: 0, failed: 0, staleJobsDeleted: 0, linesAdvanced: 0 });
    expect(await Promise.all([...ids, lastTry!].map(jobsOf))).toEqual(before);
    expect(before.every((jobs) => jobs.length === 1)).toBe(true);
    // Leave nothing for the next tests: these are not stranded, just never run here.
    await app.deps.sql`delete from deliveries where id = any(${[...ids, lastTry!]}::text[])`;
    await deleteJobsOf([...ids, lastTry!]);
  });

  it('waits out the grace period before acting on a jobless delivery', async () => {
    const setup = await tenantWithEndpoints();
    const [deliveryId] = await send(setup);
    await deleteJobsOf([deliveryId!]);
    expect(await sweeper({ graceMs: 60_000 }).sweep()).toMatchObject({ requeued: 0 });
    expect(await jobsOf(deliveryId!)).toEqual([]);
    expect(await sweeper().sweep()).toMatchObject({ requeued: 1 });
    expect(await jobsOf(deliveryId!)).toHaveLength(1);
    await deleteJobsOf([deliveryId!]);
    await app.deps.sql`delete from deliveries where id = ${deliveryId!}`;
  });

  it('rests its walk while the queue has a backlog (jobs due for over a minute), then finds the delivery', async () => {
    const setup = await tenantWithEndpoints(2);
    const [stranded, waiting] = (await send(setup)) as [string, string];
    await deleteJobsOf([stranded]);
    await app.deps.sql`
      update graphile_worker._private_jobs set run_at = now() - interval '2 minutes' where payload->>'deliveryId' = ${waiting}`;
    expect(await sweeper().sweep()).toMatchObject({ requeued: 0 });
    expect(await jobsOf(stranded)).toEqual([]);

    await deleteJobsOf([waiting]);
    await app.deps.sql`update deliveries set status = 'succeeded' where id = ${waiting}`;
    expect(await sweeper().sweep()).toMatchObject({ requeued: 1 });
    expect(await jobsOf(stranded)).toHaveLength(1);
    await deleteJobsOf([stranded]);
    await app.deps.sql`delete from deliveries where id = ${stranded}`;
  });

  it('four sweepers at once give each of 40 stranded deliveries exactly one job', async () => {
    const setup = await tenantWithEndpoints(20);
    const ids = [...(await send(setup)), ...(await send(setup))];
    expect(ids).toHaveLength(40);
    await deleteJobsOf(ids);

    const results = await Promise.all([sweeper(), sweeper(), sweeper(), sweeper()].map((s) => s.sweep()));
    expect(results.reduce((sum, r) => sum + r.requeued, 0)).toBe(40);
    expect(await sweeper().sweep()).toMatchObject({ requeued: 0 });
    const jobs = await Promise.all(ids.map(jobsOf));
    expect(jobs.map((j) => j.length)).toEqual(ids.map(() => 1));

    await startDelivering({ intervalMs: 60_000 });
    await setup.receiver.waitFor(40);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(setup.receiver.requests).toHaveLength(40);
  });

  it('walks the table a range of pages per sweep, round and round, and finds every stranded delivery', async () => {
    const setup = await tenantWithEndpoints(20);
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) ids.push(...(await send(setup)));
    await deleteJobsOf(ids);
    const pages = await app.deps.sql<{ pages: number }[]>`
      select count(distinct (ctid::text::point)[0])::int as pages from deliveries where id = any(${ids}::text[])`;
    expect(pages[0]!.pages).toBeGreaterThan(1);

    const walker = sweeper({ pagesPerSweep: 1 });
    let requeued = 0;
    let sweeps = 0;
    while (requeued < ids.length && sweeps < 100) {
      requeued += (await walker.sweep()).requeued;
      sweeps++;
    }
    expect(requeued).toBe(ids.length);
    expect(sweeps).toBeGreaterThan(1);
    expect((await Promise.all(ids.map(jobsOf))).every((jobs) => jobs.length === 1)).toBe(true);
    await deleteJobsOf(ids);
    await app.deps.sql`delete from deliveries where id = any(${ids}::text[])`;
  });

  it('deletes used-up jobs of deliveries that no longer expect them', async () => {
    const setup = await tenantWithEndpoints();
    const [deliveryId] = await send(setup);
    await useUpJobOf(deliveryId!);
    await app.deps.sql`update deliveries set status = 'succeeded', attempt_count = 1 where id = ${deliveryId!}`;
    expect(await sweeper().sweep()).toMatchObject({ requeued: 0, failed: 0, staleJobsDeleted: 1 });
    expect(await jobsOf(deliveryId!)).toEqual([]);
  });
});

describe('stranded deliveries: deliveries.retry', () => {
  it('re-queues a pending delivery without a job (and one whose job used up its attempts); refuses one with a live job', async () => {
    const setup = await tenantWithEndpoints(3);
    const [withJob, jobless, usedUp] = (await send(setup)) as [string, string, string];
    await deleteJobsOf([jobless]);
    await useUpJobOf(usedUp);

    const error = await errorOf(setup.client.deliveries.retry.mutate({ deliveryId: withJob }));
    expect(error.data?.code).toBe('BAD_REQUEST');
    expect(error.message).toBe('delivery is already pending');
    expect(await jobsOf(withJob)).toHaveLength(1);

    for (const deliveryId of [jobless, usedUp]) {
      expect(await setup.client.deliveries.retry.mutate({ deliveryId })).toMatchObject({ status: 'pending', attemptCount: 0 });
      const jobs = await jobsOf(deliveryId);
      expect(jobs.map((j) => [j.attempt, j.attempts])).toEqual([[1, 0]]);
      // Now it has a live job: a second retry is refused.
      expect((await errorOf(setup.client.deliveries.retry.mutate({ deliveryId }))).message).toBe('delivery is already pending');
    }

    await startDelivering({ intervalMs: 60_000 });
    await setup.receiver.waitFor(3);
    for (const deliveryId of [withJob, jobless, usedUp]) expect(await succeeded(deliveryId)).toMatchObject({ attempt_count: 1 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(setup.receiver.requests).toHaveLength(3);
  });

  it('a retry and sweepers racing over the same stranded deliveries give each one job', async () => {
    const setup = await tenantWithEndpoints(10);
    const ids = await send(setup);
    await deleteJobsOf(ids);
    const retries = ids.map((deliveryId) =>
      setup.client.deliveries.retry.mutate({ deliveryId }).then(
        () => 'retried',
        (error: Error) => error.message,
      ),
    );
    const [outcomes] = await Promise.all([Promise.all(retries), sweeper().sweep(), sweeper().sweep()]);
    expect(outcomes.every((o) => o === 'retried' || o === 'delivery is already pending')).toBe(true);
    expect((await Promise.all(ids.map(jobsOf))).map((j) => j.length)).toEqual(ids.map(() => 1));
  });
});

describe('HOOKLINE_SWEEP_INTERVAL', () => {
  it('sets the sweep interval (default 1 minute); too short a value is refused, naming the variable', () => {
    expect(loadConfig({}).sweepIntervalMs).toBe(60_000);
    expect(loadConfig({ HOOKLINE_SWEEP_INTERVAL: '250ms' }).sweepIntervalMs).toBe(250);
    expect(() => loadConfig({ HOOKLINE_SWEEP_INTERVAL: '0s' })).toThrow(ConfigError);
    expect(() => loadConfig({ HOOKLINE_SWEEP_INTERVAL: 'soon' })).toThrow(/HOOKLINE_SWEEP_INTERVAL/);
    expect(() => loadConfig({ HOOKLINE_SWEEP_INTERVAL: '0s' })).toThrow(/HOOKLINE_SWEEP_INTERVAL/);
  });
});
