// Sends stay index lookups however long the queue: the fan-out statement runs on the send pool
// (server/deps.ts SendPool), where graphile-worker's add_jobs cannot fall back to scanning the jobs
// table with a plan made while the table was small (single sends slowed as a backlog grew with no
// worker running).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sendEvent } from '../server/events/send.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { tenantWithEndpoint } from './helpers/fixtures.js';

let app: TestApp;

beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.close());

async function jobTableScans(): Promise<number> {
  const [row] = await app.deps.sql<{ scans: string }[]>`
    select seq_scan::text as scans from pg_stat_user_tables where schemaname = 'graphile_worker' and relname = '_private_jobs'`;
  return Number(row!.scans);
}

it('a send to a tenant with a long queue of jobs does not scan the jobs table', { timeout: 60_000 }, async () => {
  await app.admin.eventTypes.upsert.mutate({ name: 'job.completed' });
  const { tenantId } = await tenantWithEndpoint(app, 'http://127.0.0.1:9/hooks');
  // Plan the send pool's statements while the queue is empty, as a fresh process would (a cached
  // plan turns generic after five runs).
  for (let n = 0; n < 10; n++) await sendEvent(app.deps, tenantId, { type: 'job.completed', payload: { n } });
  // Then a backlog: 20,000 jobs and no worker.
  await app.deps.sql`
    select count(*) from graphile_worker.add_jobs(array(
      select row('noop', json_build_object('n', g), null, null, 1, null, null, null)::graphile_worker.job_spec
        from generate_series(1, 20000) as g))`;
  // Other sessions report their statistics when idle, within 10 s.
  await new Promise((resolve) => setTimeout(resolve, 11_000));
  const before = await jobTableScans();
  for (let n = 1; n <= 20; n++) await sendEvent(app.deps, tenantId, { type: 'job.completed', payload: { n } });
  await Promise.all(Array.from({ length: 20 }, (_, n) => sendEvent(app.deps, tenantId, { type: 'job.completed', payload: { n } })));
  await new Promise((resolve) => setTimeout(resolve, 11_000));
  expect(await jobTableScans()).toBe(before);
  const [row] = await app.deps.sendSql<{ setting: string }[]>`select current_setting('enable_seqscan') as setting`;
  expect(row!.setting).toBe('off');
});
