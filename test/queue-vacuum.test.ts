// server/worker/queue-vacuum.ts: when graphile-worker's jobs table has piled up dead rows, the
// worker vacuums it (and leaves it alone below the threshold).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startQueueVacuum } from '../server/worker/queue-vacuum.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { eventually } from './helpers/receiver.js';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.close());

async function vacuumCount(): Promise<number> {
  const [row] = await app.deps.sql<{ n: number }[]>`
    select vacuum_count::int as n from pg_stat_user_tables where schemaname = 'graphile_worker' and relname = '_private_jobs'`;
  return row!.n;
}

/** Adds and deletes `count` jobs: `count` dead rows. */
async function churn(count: number) {
  await app.deps.sql`select count(*) from graphile_worker.add_jobs(array(
    select row('noop', '{}'::json, null, now() + interval '1 hour', 1, null, null, null)::graphile_worker.job_spec
      from generate_series(1, ${count})))`;
  await app.deps.sql`delete from graphile_worker._private_jobs`;
}

describe('queue vacuum', () => {
  it('vacuums the jobs table once dead rows pass the threshold, not before', async () => {
    const before = await vacuumCount();
    const vacuum = startQueueVacuum(app.deps, { intervalMs: 50, minDeadRows: 500 });
    try {
      await churn(100);
      await new Promise((resolve) => setTimeout(resolve, 1500)); // statistics are flushed about once a second
      expect(await vacuumCount()).toBe(before);
      await churn(1000);
      await eventually(async () => (await vacuumCount()) > before, 10_000, 100);
    } finally {
      await vacuum.stop();
    }
  });
});
