// FIFO endpoints' lines (`ordering: "fifo"`): every pending delivery to such an endpoint has a row in
// `fifo_line`, ordered by `seq` (its event id at fan-out; a fresh event-kind id when it is re-queued
// by deliveries.retry or endpoints.recover, so it goes to the back). Only the line's head, named by
// the endpoint's `fifo_heads` row, has a `deliver` job; the rest have none, so they cannot run, be
// re-ordered by fairness, rate limits or graphile-worker, nor cost a job fetch while they wait. The
// head's retries are its own retry jobs (its run_at holds the line back). When the head is finished
// for good, `advanceFifoLine` makes the next delivery the head and gives it its job.
//
// Who may put a delivery at the head: whoever finds the head empty. Three writers race for it:
// send's fan-out statement and requeueing (both add to the line: `claimFifoHeadsSql`, an upsert that
// takes the head only while it is empty) and the advance (which reads the line). Each is one
// statement; the upsert always bumps the row's `version`, and the advance empties the head only if
// the version is still the one its snapshot read (re-checked on the newest row version under the
// row lock), else it reads again. So a delivery added to the line while the head was being moved is
// either seen by the advance or finds the head empty itself: never left waiting with no head. (An
// advance that found a next delivery needs no such check: one that joined later waits behind it.)
import { sql as drizzleSql } from 'drizzle-orm';
import type postgres from 'postgres';
import type { Executor } from './executor.js';
import { deliverJobPayload, deliverJobSpec } from './jobs.js';

/**
 * SQL (a data-modifying CTE body, for the caller's statement) that puts the deliveries of `source`
 * (a CTE with columns id, endpoint_id, seq) in their endpoints' lines, and makes the first of each
 * endpoint (least seq) its head if the head is empty. Returns (endpoint_id, delivery_id) per
 * endpoint: the head after the statement; a source delivery that is named there gets its job now.
 * Heads are locked in endpoint order, so concurrent statements cannot deadlock on them.
 */
export function claimFifoHeadsSql(source: string): { line: string; heads: string } {
  return {
    line: `insert into fifo_line (delivery_id, endpoint_id, seq)
           select id, endpoint_id, seq from ${source}
           on conflict (delivery_id) do update set seq = excluded.seq`,
    heads: `insert into fifo_heads (endpoint_id, delivery_id, version)
            select distinct on (endpoint_id) endpoint_id, id, 1 from ${source} order by endpoint_id, seq
            on conflict (endpoint_id) do update
              set delivery_id = coalesce(fifo_heads.delivery_id, excluded.delivery_id), version = fifo_heads.version + 1
            returning endpoint_id, delivery_id`,
  };
}

/** Times `advanceFifoLine` reads again when a send moved the head's row under it. */
const ADVANCE_TRIES = 20;

/**
 * When the endpoint's head is finished (or gone, or the head is empty while deliveries wait), makes
 * the line's next pending delivery the head and adds its job, in one statement; otherwise does
 * nothing. Safe to call any number of times, from any process (the finishing attempt's worker calls
 * it after recording; the stranded sweeper calls it for lines that stalled). Returns the delivery
 * given a job, if any.
 */
export async function advanceFifoLine(sql: postgres.Sql, endpointId: string): Promise<string | null> {
  for (let i = 0; i < ADVANCE_TRIES; i++) {
    const [row] = await sql<Array<{ due: boolean; moved: boolean; queued: string | null }>>`
      with head as (
        select h.endpoint_id, h.version, h.delivery_id
          from fifo_heads h
          left join deliveries d on d.id = h.delivery_id
         where h.endpoint_id = ${endpointId}
           and (h.delivery_id is null or d.status is distinct from 'pending')
      ), next as (
        select head.*, n.id as next_id, n.tenant_id, n.attempt_count
          from head
          left join lateral (
            select d.id, d.tenant_id, d.attempt_count
              from fifo_line l
              join deliveries d on d.id = l.delivery_id
             where l.endpoint_id = head.endpoint_id and d.status = 'pending'
             order by l.seq
             limit 1
          ) as n on true
         where head.delivery_id is not null or n.id is not null
      ), moved as (
        -- Only if the head is still the one read (no other advance moved it), and, to empty it,
        -- only if no delivery joined since this statement's snapshot (see the top).
        update fifo_heads f
           set delivery_id = next.next_id, version = f.version + 1
          from next
         where f.endpoint_id = next.endpoint_id and f.delivery_id is not distinct from next.delivery_id
           and (next.next_id is not null or f.version = next.version)
        returning f.endpoint_id
      ), left_line as (
        delete from fifo_line l
         using next
         where l.delivery_id = next.delivery_id and exists (select 1 from moved)
      ), job as (
        select 1 from graphile_worker.add_jobs(array(
          select ${sql.unsafe(NEXT_JOB_SPEC)} from next where next.next_id is not null and exists (select 1 from moved)))
      )
      select exists (select 1 from next) as due, exists (select 1 from moved) as moved,
             (select next_id from next where exists (select 1 from moved)) as queued,
             (select count(*) from job) as jobs`;
    if (!row?.due || row.moved) return row?.queued ?? null;
  }
  throw new Error(`the FIFO line of endpoint ${endpointId} kept moving while it was being advanced`);
}

/** The job of a line's new head: its next attempt, now. */
const NEXT_JOB_SPEC = deliverJobSpec({
  payload: deliverJobPayload({
    deliveryId: 'next.next_id',
    tenantId: 'next.tenant_id',
    endpointId: 'next.endpoint_id',
    attempt: 'next.attempt_count + 1',
  }),
});

/**
 * FIFO endpoints whose line has stalled: the head is finished or gone (its worker died between
 * recording the attempt and advancing), or empty while deliveries wait. At most `limit`.
 */
export async function stalledFifoLines(sql: postgres.Sql, limit: number): Promise<string[]> {
  const rows = await sql<Array<{ endpoint_id: string }>>`
    select h.endpoint_id
      from fifo_heads h
      left join deliveries d on d.id = h.delivery_id
     where (h.delivery_id is not null and d.status is distinct from 'pending')
        or (h.delivery_id is null and exists (select 1 from fifo_line l where l.endpoint_id = h.endpoint_id))
     limit ${limit}`;
  return rows.map((r) => r.endpoint_id);
}

/**
 * Puts re-queued deliveries (pending again, no job yet) to FIFO endpoints at the back of their lines
 * (`seq`: a fresh event-kind id each, in the order given) and claims empty heads; returns the ids
 * among `deliveries` that get a job now: those to endpoints that are not FIFO, and new heads.
 * For a transaction of deliveries.retry or endpoints.recover.
 */
export async function joinFifoLines(
  tx: Executor,
  deliveries: ReadonlyArray<{ id: string; endpointId: string | null; seq: string }>,
): Promise<Set<string>> {
  if (deliveries.length === 0) return new Set();
  const input = deliveries.map((d) => ({ id: d.id, endpoint_id: d.endpointId, seq: d.seq }));
  const claim = claimFifoHeadsSql('fifo');
  const rows = (await tx.execute(drizzleSql`
    with input as (
      select * from json_to_recordset(${JSON.stringify(input)}::json) as i(id text, endpoint_id text, seq text)
    ), fifo as (
      select i.* from input i join endpoints ep on ep.id = i.endpoint_id where ep.ordering = 'fifo'
    ), line as (
      ${drizzleSql.raw(claim.line)}
    ), head as (
      ${drizzleSql.raw(claim.heads)}
    )
    select i.id from input i
     where i.id not in (select id from fifo) or i.id in (select delivery_id from head where delivery_id is not null)
  `)) as unknown as Array<{ id: string }>;
  return new Set(rows.map((r) => r.id));
}

/** Whether the delivery waits in a FIFO line behind another delivery (it has no job on purpose). */
export async function waitsInFifoLine(tx: Executor, deliveryId: string): Promise<boolean> {
  const rows = (await tx.execute(drizzleSql`
    select 1 from fifo_line l
      join fifo_heads h on h.endpoint_id = l.endpoint_id
     where l.delivery_id = ${deliveryId} and h.delivery_id is distinct from l.delivery_id
  `)) as unknown as unknown[];
  return rows.length > 0;
}
