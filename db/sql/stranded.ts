// Stranded deliveries: `pending`, but with no job that will ever make their next attempt. A job is
// live while it may still run: it has attempts left (graphile-worker's own retries, a safety net:
// DELIVER_JOB_MAX_ATTEMPTS in db/sql/jobs.ts) or it is locked (running, or held by a dead worker that liveness will
// unlock). A delivery is stranded when its job used up its attempts (an error inside hookline, such
// as the database unreachable while recording, ten times over hours) or when its job row was
// deleted by hand; nothing else would touch it again. The sweeper (server/worker/stranded-sweeper.ts)
// finds them and gives them a job again, and deliveries.retry accepts them. A delivery waiting its
// turn in a FIFO endpoint's line has no job on purpose and is never stranded; a line whose head is
// finished but was not advanced (its worker died in between) is advanced by the sweeper.
//
// graphile-worker's jobs table has no index on the payload, so finding a delivery's jobs reads the
// whole table: the sweeper does it once per sweep for a batch, retry only for a pending delivery.
// `deliveries` has no index on `status` (one would end the HOT updates its fillfactor is for), so
// the sweeper walks the table in physical order, a bounded range of pages per sweep.
import { sql as drizzleSql, type SQL } from 'drizzle-orm';
import type postgres from 'postgres';
import type { Executor } from './executor.js';

export type { Executor } from './executor.js';

export interface StrandedCandidates {
  /** Pending deliveries that seemed to have no live job (check again under their row lock). */
  deliveryIds: string[];
  /** Jobs that used up their attempts for a delivery that no longer expects them (finished, gone). */
  staleDeadJobIds: string[];
}

export interface PageRange {
  /** First page of `deliveries` to look at, and the page after the last. */
  from: number;
  to: number;
}

/** The pages `deliveries` has now (new rows may land beyond; the next pass reads them). */
export async function deliveryPageCount(sql: postgres.Sql): Promise<number> {
  const [row] = await sql<{ pages: string }[]>`
    select (pg_relation_size('deliveries') / current_setting('block_size')::int)::text as pages`;
  return Number(row?.pages ?? 0);
}

/**
 * Whether the queue holds jobs that have been due for longer than `lagMs` (a backlog). Then every
 * delivery waiting in it looks stranded to the walk, which would read the whole jobs table on every
 * sweep for nothing: the walk waits until the queue has caught up. (An index-only scan of
 * graphile-worker's index of available jobs, 0.1 ms.)
 */
export async function queueIsBehind(sql: postgres.Sql, lagMs: number): Promise<boolean> {
  const [row] = await sql<{ behind: boolean }[]>`
    select exists (
      select 1 from graphile_worker._private_jobs
       where is_available and run_at < now() - ${lagMs} * interval '1 millisecond'
    ) as behind`;
  return row?.behind ?? false;
}

/**
 * One read, no locks: the pending deliveries on `pages` whose attempt has been due for longer than
 * `graceMs` and that have no live job for it, and the deliveries of jobs that used up their
 * attempts (anywhere in the table); at most `limit` of each. One pass over the jobs table.
 */
export async function findStrandedCandidates(
  sql: postgres.Sql,
  options: { pages: PageRange; graceMs: number; limit: number },
): Promise<StrandedCandidates> {
  const { pages, graceMs, limit } = options;
  const rows = await sql<{ kind: 'delivery' | 'stale_job'; id: string }[]>`
    with deliver_task as (
      select id from graphile_worker._private_tasks where identifier = 'deliver'
    ), walked as materialized (
      -- A TID range scan: the pages in order, no index.
      select d.id, d.attempt_count + 1 as attempt
        from deliveries d
       where d.ctid >= ${`(${pages.from},0)`}::tid and d.ctid < ${`(${pages.to},0)`}::tid
         and d.status = 'pending'
         and greatest(d.updated_at, d.next_attempt_at) < now() - ${graceMs} * interval '1 millisecond'
         -- Not one waiting its turn in a FIFO line: it has no job on purpose (db/sql/fifo.ts).
         and not exists (select 1 from fifo_line l join fifo_heads h on h.endpoint_id = l.endpoint_id
                          where l.delivery_id = d.id and h.delivery_id is distinct from d.id)
    ), jobs as materialized (
      select j.id, j.payload->>'deliveryId' as delivery_id, (j.payload->>'attempt')::int as attempt,
             j.attempts >= j.max_attempts and j.locked_at is null as dead
        from graphile_worker._private_jobs j
       where j.task_id = (select id from deliver_task)
         and ((j.attempts >= j.max_attempts and j.locked_at is null)
              or (exists (select 1 from walked) and j.payload->>'deliveryId' in (select id from walked)))
    ), dead as (
      -- (Looked up one by one through the key: there are few, the table is large.)
      select j.id as job_id, j.delivery_id,
             coalesce((select d.status = 'pending' and d.attempt_count + 1 = j.attempt
                         from deliveries d where d.id = j.delivery_id), false) as expected
        from jobs j
       where j.dead
    )
    (select 'delivery' as kind, w.id from walked w
      where not exists (select 1 from jobs j where j.delivery_id = w.id and j.attempt = w.attempt and not j.dead)
      limit ${limit})
    union
    (select 'delivery', delivery_id from dead where expected limit ${limit})
    union all
    (select 'stale_job', job_id::text from dead where not expected limit ${limit})`;
  return {
    deliveryIds: rows.filter((r) => r.kind === 'delivery').map((r) => r.id),
    staleDeadJobIds: rows.filter((r) => r.kind === 'stale_job').map((r) => r.id),
  };
}

export interface DeliveryJobs {
  /** A job for the attempt the delivery expects that may still run. */
  live: boolean;
  /** Jobs for that attempt that used up their attempts, and the last error of one. */
  deadJobIds: string[];
  deadJobError: string | null;
}

/**
 * The jobs of each delivery for the attempt it expects (`attemptCount + 1`). Read it after locking
 * the delivery rows: in its own statement, so it sees every job committed before the locks.
 */
export async function jobsForNextAttempt(
  tx: Executor,
  deliveries: ReadonlyArray<{ id: string; attemptCount: number }>,
): Promise<Map<string, DeliveryJobs>> {
  const jobs = new Map<string, DeliveryJobs>(deliveries.map((d) => [d.id, { live: false, deadJobIds: [], deadJobError: null }]));
  if (deliveries.length === 0) return jobs;
  const expected = deliveries.map((d) => ({ delivery_id: d.id, attempt: d.attemptCount + 1 }));
  const rows = (await tx.execute(drizzleSql`
    select j.id::text as job_id, e.delivery_id,
           j.attempts >= j.max_attempts and j.locked_at is null as dead, j.last_error
      from graphile_worker._private_jobs j
      join json_to_recordset(${JSON.stringify(expected)}::json) as e(delivery_id text, attempt int)
        on e.delivery_id = j.payload->>'deliveryId' and e.attempt = (j.payload->>'attempt')::int
     where j.task_id = (select id from graphile_worker._private_tasks where identifier = 'deliver')
  `)) as unknown as Array<{ job_id: string; delivery_id: string; dead: boolean; last_error: string | null }>;
  for (const row of rows) {
    const entry = jobs.get(row.delivery_id)!;
    if (!row.dead) entry.live = true;
    else {
      entry.deadJobIds.push(row.job_id);
      entry.deadJobError ??= row.last_error;
    }
  }
  return jobs;
}

/**
 * Deletes jobs that used up their attempts. The condition is checked again on each row as it is
 * deleted, so a job that is no longer used up (or locked) by then stays.
 */
export function deleteDeadJobsSql(jobIds: readonly string[]): SQL {
  return drizzleSql`
    delete from graphile_worker._private_jobs
     where id in (select value::bigint from json_array_elements_text(${JSON.stringify(jobIds)}::json))
       and attempts >= max_attempts and locked_at is null`;
}
