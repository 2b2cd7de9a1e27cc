// The queue side of stepping aside (delivery/fairness.ts): a job that finds no delivery slot goes
// back to graphile-worker's queue without an attempt, to run at a later time, and is brought back
// to its old place in the queue (its original run_at) as soon as a slot frees up for it. The time
// it was given is only the fallback if nothing brings it back sooner (this worker stopped or died).
// Both are batched: a fan-out of hanging deliveries steps aside in one statement, not one each.
//
// Neither waits for its commit to reach the disk (`synchronous_commit` off for that transaction):
// a hanging tenant's fan-out steps aside hundreds of jobs at once, each holding a job slot until
// its statement commits, and a flush of the write-ahead log took 5-17 ms on the bench machine.
// Nothing is lost by it. The job that stepped aside is deleted only when graphile-worker completes
// it, a later commit that does wait, and the log reaches the disk in order: a crash can lose the
// job re-added only together with the deletion of the old one, which then runs again. A lost
// bring-back leaves the job at its fallback time.
import type postgres from 'postgres';
import { createBatcher } from '../batcher.js';
import { deliverJobSpec, type DeliverJob } from './jobs.js';

export interface SteppingAside {
  job: DeliverJob;
  priority: number;
  /** When it runs unless brought back sooner. */
  runAt: Date;
}

export interface StepAsideQueue {
  /** Puts the job back in the queue; resolves with the id of its new job row. */
  stepAside(item: SteppingAside): Promise<string>;
  /** Makes a job that stepped aside runnable now at `runAt` (its old place in the queue), and wakes the workers. */
  bringBack(item: { id: string; runAt: Date }): Promise<void>;
}

/** The job of an item that steps aside: its own payload, run time and priority. */
const STEPPED_ASIDE_JOB_SPEC = deliverJobSpec({
  payload: "item.value->'job'",
  runAt: "(item.value->>'runAt')::timestamptz",
  priority: "(item.value->>'priority')::int",
});

export function createStepAsideQueue(sql: postgres.Sql): StepAsideQueue {
  const stepAside = createBatcher<SteppingAside, string>(
    async (items) => {
      const rows = await sql<{ n: number; id: string }[]>`
        with settings as materialized (
          select set_config('synchronous_commit', 'off', true)
        ), item as (
          select n, value from settings, json_array_elements(${JSON.stringify(items)}::json) with ordinality as i(value, n)
        ), added as (
          select j.id, j.payload from graphile_worker.add_jobs(array(
            select ${sql.unsafe(STEPPED_ASIDE_JOB_SPEC)}
              from item order by n)) as j
        )
        select n::int, id::text from (select id, row_number() over (order by id) as n from added) as numbered`;
      // Job ids come from a sequence in insertion order, and add_jobs inserts in array order.
      const byIndex = new Map(rows.map((row) => [row.n, row.id]));
      return items.map((_, i) => byIndex.get(i + 1) ?? new Error('the job that stepped aside was not added'));
    },
    { maxBatch: 500, maxInFlight: 2 },
  );
  const bringBack = createBatcher<{ id: string; runAt: Date }, void>(
    async (items) => {
      await sql`
        with settings as materialized (
          select set_config('synchronous_commit', 'off', true)
        ), moved as (
          update graphile_worker._private_jobs as jobs
             set run_at = item."runAt"
            from json_to_recordset(${JSON.stringify(items)}::json) as item(id bigint, "runAt" timestamptz)
           where jobs.id = item.id and jobs.locked_at is null
          returning 1
        )
        select pg_notify('jobs:insert', json_build_object('count', (select count(*) from moved))::text) from settings`;
      return items.map(() => undefined);
    },
    { maxBatch: 500, maxInFlight: 2 },
  );
  return { stepAside, bringBack };
}
