// Rate-limited endpoints' attempt slots (`endpoint_rate_slots`): one statement, shared by every
// worker, that gives a deliver job the moment it may make its attempt, and moves the job to that
// moment when it is later than now. The policy (spacing, how late a held slot may still be used) is
// server/delivery/rate-limit.ts; this file only spells the statement.
//
// The slot row's `next_at` is the earliest start of the endpoint's next attempt. Reserving is one
// upsert under the row's lock: the slot is greatest(next_at, clock_timestamp()) and next_at moves on
// by the spacing, so slots are spaced evenly on the database's clock whichever worker asks. A job
// that already holds a slot (`rateSlotAt`, written when it was moved) uses it if it is not too late
// for it, and reserves nothing; a late one reserves afresh, so late attempts never bunch up.
import type postgres from 'postgres';
import { deliverJobSpec, type DeliverJob } from './jobs.js';

export interface RateSlotRequest {
  job: DeliverJob;
  /** The job's priority, kept by the moved job. */
  priority: number;
  /** Microseconds between two slots of the endpoint. */
  spacingUs: number;
  /** How late (ms) a job may run and still use the slot it holds. */
  lateAllowanceMs: number;
  /** A slot this close (ms) is taken at once rather than by moving the job. */
  soonMs: number;
}

export interface RateSlot {
  /** The slot's start (database clock). */
  at: Date;
  /** True: the job was moved to run at `at` (a new job holding the slot was added). */
  moved: boolean;
}

/** Gives `job` its attempt slot: now (attempt at once), or later (the job is moved to it). */
export async function takeRateSlot(sql: postgres.Sql, request: RateSlotRequest): Promise<RateSlot> {
  const { job, priority, spacingUs, lateAllowanceMs, soonMs } = request;
  const { rateSlotAt, ...jobWithoutSlot } = job;
  const held = rateSlotAt ?? null;
  const endpointId = job.endpointId ?? '';
  const movedJobSpec = deliverJobSpec({
    payload: `(p.job || jsonb_build_object('rateSlotAt', slot.at))::json`,
    runAt: 'slot.at',
    priority: 'p.priority',
  });
  const [row] = await sql<{ at: string; moved: boolean }[]>`
    with p as (
      select ${JSON.stringify(jobWithoutSlot)}::jsonb as job, ${priority}::int as priority,
             ${spacingUs} * interval '1 microsecond' as spacing
    ), held as (
      select ${held}::timestamptz as at, clock_timestamp() as now
       where ${held}::timestamptz is not null
         and clock_timestamp() <= ${held}::timestamptz + ${lateAllowanceMs} * interval '1 millisecond'
    ), reserved as (
      insert into endpoint_rate_slots as s (endpoint_id, next_at)
      select ${endpointId}, clock_timestamp() + p.spacing from p
       where not exists (select 1 from held)
      on conflict (endpoint_id) do update
        set next_at = greatest(s.next_at, clock_timestamp()) + (select spacing from p)
      returning s.next_at - (select spacing from p) as at, clock_timestamp() as now
    ), slot as (
      select at, false as later from held
      union all
      select at, at > now + ${soonMs} * interval '1 millisecond' from reserved
    ), moved as (
      select count(*) as n from graphile_worker.add_jobs(array(
        select ${sql.unsafe(movedJobSpec)} from slot, p where slot.later
      ))
    )
    select to_json(slot.at) #>> '{}' as at, slot.later and (select n from moved) > 0 as moved from slot`;
  if (!row) throw new Error('rate slot: the statement returned no row');
  return { at: new Date(row.at), moved: row.moved };
}
