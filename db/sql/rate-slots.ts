// Rate-limited endpoints' attempts (`endpoint_rate_slots`): one statement, shared by every worker,
// that tells a deliver job when it may make its attempt, and moves the job to a later slot when it
// may not soon. The policy (spacing, how long a worker may hold a job for its start) is
// server/delivery/rate-limit.ts; this file only spells the statements.
//
// Two times per endpoint, under the row's lock:
// - the gate, `last_at`: the start given to the latest attempt. An attempt starts at
//   greatest(last_at + spacing, now) — at once, or after a short wait in the worker of at most
//   `maxHoldMs` — so starts are at least one spacing apart whichever worker makes them, and however
//   late their jobs ran. This is what makes the limit hold.
// - the schedule, `next_at`: the next free slot, spacing apart, for jobs that cannot start soon. Such
//   a job is moved, once, to its slot (added again with run_at = the slot and `rateSlotAt` in its
//   payload) and leaves the worker. When it runs it takes no new slot: it goes through the gate.
//   Only if the gate is then further off than `maxHoldMs` (many late jobs at once) is it moved
//   again, to the schedule's next free slot.
import type postgres from 'postgres';
import { deliverJobSpec, type DeliverJob } from './jobs.js';

export interface RateSlotRequest {
  job: DeliverJob;
  /** The job's priority, kept by a moved job. */
  priority: number;
  /** Microseconds between two attempt starts of the endpoint. */
  spacingUs: number;
  /** The longest (ms) a worker may hold the job until its start; later, the job is moved. */
  maxHoldMs: number;
  /** A free slot this close (ms) counts as now for a job that holds none. */
  soonMs: number;
}

export type RateSlot =
  /** Attempt after `waitMs` (0 = at once). */
  | { moved: false; waitMs: number }
  /** The job was moved to run at `at` (a new job holding that slot was added). */
  | { moved: true; at: Date };

/** When `job` may make its attempt: now, after a short wait, or later (then the job is moved). */
export async function takeRateSlot(sql: postgres.Sql, request: RateSlotRequest): Promise<RateSlot> {
  for (;;) {
    const slot = await takeExistingRateSlot(sql, request);
    if (slot) return slot;
    // The endpoint's first limited attempt: its row, then the decision.
    await sql`
      insert into endpoint_rate_slots (endpoint_id, next_at) values (${request.job.endpointId ?? ''}, '-infinity')
      on conflict (endpoint_id) do nothing`;
  }
}

async function takeExistingRateSlot(sql: postgres.Sql, request: RateSlotRequest): Promise<RateSlot | undefined> {
  const { job, priority, spacingUs, maxHoldMs, soonMs } = request;
  const { rateSlotAt, ...jobWithoutSlot } = job;
  const movedJobSpec = deliverJobSpec({
    payload: `(p.job || jsonb_build_object('rateSlotAt', d.move_to))::json`,
    runAt: 'd.move_to',
    priority: 'p.priority',
  });
  const [row] = await sql<{ go: boolean; wait_ms: number; move_to: string }[]>`
    with p as (
      select ${JSON.stringify(jobWithoutSlot)}::jsonb as job, ${priority}::int as priority,
             ${spacingUs} * interval '1 microsecond' as spacing,
             ${rateSlotAt ?? null}::timestamptz is not null as holds_slot,
             ${soonMs} * interval '1 millisecond' as soon, ${maxHoldMs} * interval '1 millisecond' as max_hold
    ), locked as (
      select s.endpoint_id, s.next_at, s.last_at
        from endpoint_rate_slots s where s.endpoint_id = ${job.endpointId ?? ''} for update
    ), clock as (
      -- (Read once the row is locked: another worker's attempt may have just been given its start.)
      select locked.*, clock_timestamp() as now from locked
    ), times as (
      select clock.*, greatest(clock.last_at + p.spacing, clock.now) as start,
             greatest(clock.next_at, clock.now) as free_slot
        from clock, p
    ), d as (
      select times.*,
             (p.holds_slot or times.free_slot <= times.now + p.soon) and times.start <= times.now + p.max_hold as go,
             greatest(times.free_slot, times.start) as move_to
        from times, p
    ), updated as (
      update endpoint_rate_slots s
         set last_at = case when d.go then d.start else s.last_at end,
             next_at = case when d.go and p.holds_slot then s.next_at else d.move_to + p.spacing end
        from d, p
       where s.endpoint_id = d.endpoint_id
      returning 1
    ), moved as (
      select count(*) as n from graphile_worker.add_jobs(array(
        select ${sql.unsafe(movedJobSpec)} from d, p where not d.go
      ))
    )
    select d.go, (extract(epoch from d.start - d.now) * 1000)::float8 as wait_ms, to_json(d.move_to) #>> '{}' as move_to,
           (select count(*) from updated) + (select n from moved) as touched
      from d`;
  if (!row) return undefined;
  return row.go ? { moved: false, waitMs: Math.max(0, row.wait_ms) } : { moved: true, at: new Date(row.move_to) };
}
