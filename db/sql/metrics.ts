// The database-wide figures of the metrics endpoint (server/metrics.ts), read in one statement.
import type postgres from 'postgres';

export interface DatabaseFigures {
  /** Delivery queue jobs due and not taken by a worker (at most `cap`). */
  pending: number;
  /** Jobs due later (at most `cap`). */
  scheduled: number;
  /** Endpoints disabled (by their tenant, or automatically after failing). */
  disabledEndpoints: number;
}

/**
 * Queue depth and disabled endpoints. graphile-worker's table rather than its `jobs` view:
 * `is_available` (not locked, attempts left) matches the partial index the workers themselves poll,
 * so each count is an index-only scan bounded by `cap`. Permanently failed jobs are not queue depth.
 */
export async function readDatabaseFigures(sql: postgres.Sql, params: { cap: number }): Promise<DatabaseFigures | undefined> {
  const [row] = await sql<{ pending: number; scheduled: number; disabled: number }[]>`
    select
      (select count(*) from (select 1 from graphile_worker._private_jobs
                              where is_available and run_at <= now() limit ${params.cap}) j)::int as pending,
      (select count(*) from (select 1 from graphile_worker._private_jobs
                              where is_available and run_at > now() limit ${params.cap}) j)::int as scheduled,
      (select count(*) from endpoints where disabled)::int as disabled`;
  return row && { pending: row.pending, scheduled: row.scheduled, disabledEndpoints: row.disabled };
}
