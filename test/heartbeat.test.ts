// The heartbeat has a connection of its own: a worker whose process pool is saturated (every
// connection busy for longer than HOOKLINE_WORKER_DEAD_AFTER) keeps beating, so no peer takes it
// for dead and unlocks the jobs it is still delivering (which would POST them a second time).
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { connectDatabase } from '../db/client.js';
import { startWorker } from '../server/worker/worker.js';
import { startTestApp } from './helpers/app.js';
import { startReceiver } from './helpers/receiver.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('worker heartbeat', () => {
  it('a saturated pool for longer than dead-after: peers leave the live worker’s jobs alone', async () => {
    const deadAfterMs = 600;
    const app = await startTestApp({
      env: { HOOKLINE_WORKER_HEARTBEAT: '100ms', HOOKLINE_WORKER_DEAD_AFTER: `${deadAfterMs}ms`, HOOKLINE_TIMEOUT: '10s' },
    });
    cleanups.push(() => app.close());
    const receiver = await startReceiver(() => ({ delayMs: 3_000 }));
    cleanups.push(() => receiver.close());
    await app.admin.eventTypes.upsert.mutate({ name: 'job.completed' });
    const { tenant, apiKey } = await app.admin.tenants.create.mutate({ name: 'Busy' });
    await app.client(apiKey).endpoints.create.mutate({ url: `${receiver.url}/busy` });

    // Worker A's process pool (its upkeep's, and formerly its heartbeat's): two connections.
    const busyPool = connectDatabase(app.config.databaseUrl, { max: 2 });
    cleanups.push(() => busyPool.close());
    const workerA = await startWorker({ ...app.deps, db: busyPool.db, sql: busyPool.sql }, { pollIntervalMs: 100 });
    cleanups.push(() => workerA.stop());

    await app.admin.events.send.mutate({ tenantId: tenant.id, type: 'job.completed', payload: { once: true } });
    await receiver.waitFor(1);

    // A delivers (the receiver answers in 3 s); meanwhile its pool is busy for 4× dead-after, and a
    // peer worker runs its sweeps.
    const saturation = Promise.all([busyPool.sql`select pg_sleep(2.4)`, busyPool.sql`select pg_sleep(2.4)`]);
    const workerB = await startWorker(app.deps, { pollIntervalMs: 100 });
    cleanups.push(() => workerB.stop());
    await saturation;

    const [beat] = await app.deps.sql<{ ageMs: number }[]>`
      select (extract(epoch from now() - last_seen_at) * 1000)::int as "ageMs"
        from worker_heartbeats where worker_id = ${workerA.processId}`;
    expect(beat, 'worker A is still known alive').toBeDefined();
    expect(beat!.ageMs).toBeLessThan(deadAfterMs);

    // A finishes its delivery; nobody else ever POSTed it.
    await sleep(1_000);
    const [row] = await app.deps.sql<{ status: string; attempt_count: number }[]>`
      select status, attempt_count from deliveries where tenant_id = ${tenant.id}`;
    expect(row).toEqual({ status: 'succeeded', attempt_count: 1 });
    expect(receiver.requests).toHaveLength(1);
  }, 30_000);
});
