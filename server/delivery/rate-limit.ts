// Per-endpoint rate limits (`rateLimit`: at most N attempts to the endpoint in any one-second
// window, across all workers). Not a token bucket, which would allow 2N in a window straddling a
// refill: attempt starts are spaced evenly on the database's clock (db/sql/rate-slots.ts).
//
// A delivery over the limit waits in the queue, not in a worker: its job is moved, once, to a slot
// of the endpoint's schedule, and lets its delivery slot go. No attempt is counted while it waits,
// and nothing is dropped. When the moved job runs, on time or late, its start is given by the gate
// (one spacing after the previous start), at once or after a wait of at most `MAX_HOLD_MS`.
//
// Exactness. Starts given by the gate are at least (1 s + JITTER_BUDGET_MS) / N apart, so any window
// of 1 s + JITTER_BUDGET_MS holds at most N of them. What the receiver sees also depends on the time
// from the start to the request's arrival (the timer, signing, the connection): while that varies by
// less than `JITTER_BUDGET_MS`, at most N arrive in any one-second window. The price: the sustained
// rate is N / 1.05.
import type { RateSlotRequest } from '../../db/sql/rate-slots.js';
import type { DeliverJob } from './jobs.js';

/** The variation (ms) allowed in the time from an attempt's start to its arrival. */
export const JITTER_BUDGET_MS = 50;
/** The longest (ms) a worker holds a job until its start; a later start moves the job. */
export const MAX_HOLD_MS = 100;
/** A free slot this close (ms) counts as now: moving the job would make it later, not more exact. */
export const SOON_MS = 1;

/** Microseconds between two attempt starts of an endpoint limited to `limit` per second. */
export function rateSpacingUs(limit: number): number {
  return Math.ceil((1_000_000 + JITTER_BUDGET_MS * 1000) / limit);
}

/** The `takeRateSlot` parameters for a job of an endpoint limited to `limit` per second. */
export function rateSlotRequest(job: DeliverJob, priority: number, limit: number): RateSlotRequest {
  return { job, priority, spacingUs: rateSpacingUs(limit), maxHoldMs: MAX_HOLD_MS, soonMs: SOON_MS };
}
