// graphile-worker's jobs table upkeep (server/worker/queue-vacuum.ts): its dead-row count, and the
// vacuum itself.
import type postgres from 'postgres';

/** Dead rows in graphile-worker's jobs table, as the statistics collector counts them. */
export async function jobsTableDeadRows(sql: postgres.Sql): Promise<number> {
  const [row] = await sql<{ dead: string | null }[]>`
    select n_dead_tup::text as dead from pg_stat_user_tables
     where schemaname = 'graphile_worker' and relname = '_private_jobs'`;
  return Number(row?.dead ?? 0);
}

/**
 * Vacuums graphile-worker's jobs table on a reserved connection, so that no other query waits in
 * line behind it. skip_locked: when another process is vacuuming it already, there is nothing to
 * add. Not the owner of the table? PostgreSQL skips it with a warning, which is ignored.
 */
export async function vacuumJobsTable(sql: postgres.Sql): Promise<void> {
  const connection = await sql.reserve();
  try {
    await connection`vacuum (skip_locked) graphile_worker._private_jobs`;
  } finally {
    connection.release();
  }
}
