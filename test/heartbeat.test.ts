// The heartbeat has a connection of its own: a worker whose process pool is saturated (every
// connection busy for longer than HOOKLINE_WORKER_DEAD_AFTER) keeps beating, so no peer takes it
// for dead and unlocks the jobs it is still delivering (which would POST them a second time).
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { connectDatabase } from '../db/client.js';
import { cleanupTracker, deliveryRow, tenantWithEndpoint } from './helpers/fixtures.js';

const cleanup = cleanupTracker();
afterEach(() => cleanup.runAll());

describe('worker heartbeat', () => {
  it('a saturated pool for longer than dead-after: peers leave the live worker’s jobs alone', async () => {
    const deadAfterMs = 600;
    const app = await cleanup.app({
      env: { HOOKLINE_WORKER_HEARTBEAT: '100ms', HOOKLINE_WORKER_DEAD_AFTER: `${deadAfterMs}ms`, HOOKLINE_TIMEOUT: '10s' },
    });
    const receiver = await cleanup.receiver(() => ({ delayMs: 3_000 }));
    await app.admin.eventTypes.upsert.mutate({ name: 'job.completed' });
    const { tenantId } = await tenantWithEndpoint(app, `${receiver.url}/busy`, { tenantName: 'Busy' });

    // Worker A's process pool (its upkeep's, and formerly its heartbeat's): two connections.
    const busyPool = connectDatabase(app.config.databaseUrl, { max: 2 });
    cleanup.defer(() => busyPool.close());
    const workerA = await cleanup.worker({ deps: { ...app.deps, db: busyPool.db, sql: busyPool.sql } }, { pollIntervalMs: 100 });

    const sent = await app.admin.events.send.mutate({ tenantId, type: 'job.completed', payload: { once: true } });
    await receiver.waitFor(1);

    // A delivers (the receiver answers in 3 s); meanwhile its pool is busy for 4× dead-after, and a
    // peer worker runs its sweeps.
    const saturation = Promise.all([busyPool.sql`select pg_sleep(2.4)`, busyPool.sql`select pg_sleep(2.4)`]);
    await cleanup.worker(app, { pollIntervalMs: 100 });
    await saturation;

    const [beat] = await app.deps.sql<{ ageMs: number }[]>`
      select (extract(epoch from now() - last_seen_at) * 1000)::int as "ageMs"
        from worker_heartbeats where worker_id = ${workerA.processId}`;
    expect(beat, 'worker A is still known alive').toBeDefined();
    expect(beat!.ageMs).toBeLessThan(deadAfterMs);

    // A finishes its delivery; nobody else ever POSTed it.
    await sleep(1_000);
    expect(await deliveryRow(app, sent.deliveries[0]!.id)).toEqual({ status: 'succeeded', attemptCount: 1, lastError: null });
    expect(receiver.requests).toHaveLength(1);
  }, 30_000);
});
