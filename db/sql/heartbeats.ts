// Worker liveness (server/worker/liveness.ts): each worker process's heartbeat row in
// `worker_heartbeats`, and the sweep that unlocks the jobs of processes whose heartbeat stopped.
import type postgres from 'postgres';
import type { workerHeartbeats } from '../schema.js';

type HeartbeatRow = typeof workerHeartbeats.$inferSelect;

/** Writes (or refreshes) a process's heartbeat: seen now, locking jobs under `lockIds`. */
export async function writeHeartbeat(
  sql: postgres.Sql,
  heartbeat: Pick<HeartbeatRow, 'workerId' | 'lockIds'> & { pid: number; host: string },
): Promise<void> {
  await sql`
    insert into worker_heartbeats (worker_id, pid, host, lock_ids, last_seen_at)
    values (${heartbeat.workerId}, ${heartbeat.pid}, ${heartbeat.host}, ${heartbeat.lockIds}, now())
    on conflict (worker_id) do update set last_seen_at = now(), lock_ids = excluded.lock_ids`;
}

/** Removes a process's heartbeat (it stopped cleanly). */
export async function deleteHeartbeat(sql: postgres.Sql, params: { workerId: string }): Promise<void> {
  await sql`delete from worker_heartbeats where worker_id = ${params.workerId}`;
}

/**
 * In one statement: deletes the heartbeats silent for `deadAfterMs` and unlocks the jobs locked
 * under their ids, and, when `checkOrphans`, the jobs locked for that long by an id no live process
 * claims (a process killed before its first heartbeat). Unlocking scans graphile-worker's jobs
 * table, so it runs only when there is someone to unlock. Returns how many processes were dead.
 */
export async function unlockJobsOfDeadWorkers(
  sql: postgres.Sql,
  params: { deadAfterMs: number; checkOrphans: boolean },
): Promise<{ dead: number }> {
  const { deadAfterMs, checkOrphans } = params;
  const [row] = await sql<{ dead: number }[]>`
    with dead as (
      delete from worker_heartbeats
       where last_seen_at < now() - ${deadAfterMs} * interval '1 millisecond'
      returning lock_ids
    ), live as (
      select unnest(lock_ids) as id from worker_heartbeats
    ), orphaned as (
      select distinct locked_by as id from graphile_worker.jobs
       where ${checkOrphans}::boolean
         and locked_by is not null
         and locked_at < now() - ${deadAfterMs} * interval '1 millisecond'
         and locked_by not in (select id from live)
    ), to_unlock as (
      select array(select unnest(lock_ids) from dead union select id from orphaned) as ids
    ), unlock as (
      select graphile_worker.force_unlock_workers(ids) as done from to_unlock where cardinality(ids) > 0
    )
    select (select count(*) from dead)::int as dead, (select count(*) from unlock)::int as unlocked`;
  return { dead: row?.dead ?? 0 };
}

/** Unlocks the jobs locked under these graphile-worker ids (a runner of this process that stopped). */
export async function unlockJobsOfWorkers(sql: postgres.Sql, params: { lockIds: readonly string[] }): Promise<void> {
  await sql`select graphile_worker.force_unlock_workers(${params.lockIds as string[]}::text[])`;
}
