// The deliver job row (db/sql/jobs.ts), as every writer of it leaves it in graphile-worker's queue:
// the fan-out (db/sql/fan-out.ts: attempt 1, ten jobs per priority step) and addDeliverJobs (a
// re-queue: any attempt, optionally later), and the bench's bulk queueing. Task, payload, max_attempts, priority and run_at are
// read back from the jobs table.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queueDeliveriesBySql } from '../bench/lib/queue.js';
import { connectDatabase, type Database } from '../db/client.js';
import { insertEventsWithDeliveries } from '../db/sql/fan-out.js';
import { addDeliverJobs, DELIVER_JOB_MAX_ATTEMPTS } from '../db/sql/jobs.js';
import { newId, newIdBlock } from '../shared/ids.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';

let database: TestDatabase;
let connection: Database;
const tenantId = newId('tenant');
const endpointIds = Array.from({ length: 25 }, () => newId('endpoint')).sort();

interface JobRow {
  task: string;
  payload: { deliveryId: string; tenantId: string; endpointId: string | null; attempt: number };
  max_attempts: number;
  priority: number;
  run_at: Date;
}

async function jobsOf(deliveryIds: readonly string[]): Promise<JobRow[]> {
  const rows = await connection.sql<Array<Omit<JobRow, 'run_at'> & { run_at: string }>>`
    select t.identifier as task, j.payload, j.max_attempts, j.priority, j.run_at
      from graphile_worker._private_jobs j join graphile_worker._private_tasks t on t.id = j.task_id
     where j.payload->>'deliveryId' = any(${deliveryIds}::text[])
     order by j.payload->>'deliveryId'`;
  return rows.map((row) => ({ ...row, run_at: new Date(row.run_at) }));
}

beforeAll(async () => {
  database = await createTestDatabase();
  connection = connectDatabase(database.url, { max: 2 });
  const { sql } = connection;
  await sql`insert into tenants (id, name, api_key_prefix, api_key_hash, signing_secret)
            values (${tenantId}, 'Jobs Co', ${tenantId}, 'x', 'x')`;
  await sql`insert into event_types (name) values ('job.completed')`;
  await sql`insert into endpoints (id, tenant_id, url, secret)
            select id, ${tenantId}, 'http://127.0.0.1:9/', 'x' from unnest(${endpointIds}::text[]) as id`;
});
afterAll(async () => {
  await connection.close();
  await database.drop();
});

describe('deliver job rows', () => {
  it('the fan-out writes one per delivery: attempt 1, its endpoint, ten per priority step, runnable now', async () => {
    const before = Date.now();
    const [written] = await insertEventsWithDeliveries(connection.sql, [
      {
        id: newId('event'),
        tenantId,
        type: 'job.completed',
        body: '{}',
        idempotencyKey: null,
        url: null,
        onlyEndpointId: null,
        deliveryPrefix: newIdBlock('delivery').prefix,
      },
    ]);
    expect(written!.event).toBeDefined();
    expect(written!.event!.createdAt).toBeInstanceOf(Date);
    const deliveries = written!.deliveries;
    expect(deliveries.map((d) => d.endpointId)).toEqual(endpointIds);
    const jobs = await jobsOf(deliveries.map((d) => d.id));
    expect(jobs.map((j) => j.payload)).toEqual(
      deliveries.map((d) => ({ deliveryId: d.id, tenantId, endpointId: d.endpointId, attempt: 1 })),
    );
    expect(new Set(jobs.map((j) => j.task))).toEqual(new Set(['deliver']));
    expect(new Set(jobs.map((j) => j.max_attempts))).toEqual(new Set([DELIVER_JOB_MAX_ATTEMPTS]));
    expect(jobs.map((j) => j.priority)).toEqual([...Array(10).fill(0), ...Array(10).fill(1), ...Array(5).fill(2)]);
    for (const job of jobs) expect(Math.abs(job.run_at.getTime() - before)).toBeLessThan(60_000);
  });

  it('addDeliverJobs writes the given attempts, at priority 0, now or at runAt', async () => {
    const now = [newId('delivery'), newId('delivery')].sort();
    await addDeliverJobs(connection.db, {
      jobs: [
        { deliveryId: now[0]!, tenantId, endpointId: endpointIds[0]!, attempt: 4 },
        { deliveryId: now[1]!, tenantId, endpointId: null, attempt: 2 },
      ],
    });
    const later = new Date(Date.now() + 3_600_000);
    const laterId = newId('delivery');
    await addDeliverJobs(connection.db, {
      jobs: [{ deliveryId: laterId, tenantId, endpointId: endpointIds[1]!, attempt: 3 }],
      runAt: later,
    });
    const jobs = await jobsOf([...now, laterId]);
    const byDelivery = new Map(jobs.map((j) => [j.payload.deliveryId, j]));
    expect(byDelivery.get(now[0]!)).toMatchObject({
      task: 'deliver',
      payload: { deliveryId: now[0], tenantId, endpointId: endpointIds[0], attempt: 4 },
      max_attempts: DELIVER_JOB_MAX_ATTEMPTS,
      priority: 0,
    });
    expect(byDelivery.get(now[1]!)!.payload).toEqual({ deliveryId: now[1], tenantId, endpointId: null, attempt: 2 });
    expect(Math.abs(byDelivery.get(now[1]!)!.run_at.getTime() - Date.now())).toBeLessThan(60_000);
    expect(byDelivery.get(laterId)!.run_at.getTime()).toBe(later.getTime());
  });

  it("the bench's bulk queueing writes the same rows as the fan-out: attempt 1, the delivery's endpoint", async () => {
    const tenants = [{ id: tenantId, endpointIds: [endpointIds[2]!] }];
    await queueDeliveriesBySql(connection.sql, { tenants, label: 'jobs', from: 1, to: 3 });
    const ids = [1, 2, 3].map((g) => `dlv_jobs_${String(g).padStart(10, '0')}`);
    const jobs = await jobsOf(ids);
    expect(jobs.map((j) => j.payload)).toEqual(ids.map((deliveryId) => ({ deliveryId, tenantId, endpointId: endpointIds[2], attempt: 1 })));
    expect(jobs.map((j) => [j.task, j.max_attempts, j.priority])).toEqual(ids.map(() => ['deliver', DELIVER_JOB_MAX_ATTEMPTS, 0]));
    const [pending] = await connection.sql<{ n: number }[]>`
      select count(*)::int as n from deliveries where id = any(${ids}::text[]) and endpoint_id = ${endpointIds[2]!} and status = 'pending'`;
    expect(pending!.n).toBe(3);
  });
});
