// Per-endpoint rate limits (`rateLimit`: at most N attempts to the endpoint in any one-second
// window, across all workers). Not a token bucket, which would allow 2N in a window straddling a
// refill: attempts get slots spaced evenly on the database's clock (db/sql/rate-slots.ts).
//
// A delivery over the limit waits in the queue, not in a worker: its job is moved once to its slot's
// time, holding the slot in its payload, and lets its delivery slot go. No attempt is counted while
// it waits, and nothing is dropped.
//
// Exactness. An attempt starts some time after its slot: the moved job is fetched a little late
// (retry-wake's rounding, the fetch, the load), and the POST leaves after the slot is checked. A job
// may use its slot up to `lateAllowanceMs` late; later than that it reserves a new one, so late
// attempts never bunch up. With slots spaced (1 s + lateAllowance + jitter budget) / N, the
// attempts whose slots fall in any window of 1 s + lateAllowance + jitterBudget are at most N, so at
// most N start — and, with up to `jitterBudgetMs` between the slot check and the request reaching
// the receiver, at most N arrive — in any one-second window. The price: the sustained rate is
// N / 1.1 (91 % of N).
import type { DeliverJob } from './jobs.js';

/** How late (ms) a moved job may run and still use its slot. */
export const lateAllowanceMs = 50;
/** Time (ms) allowed between the slot check and the request's arrival. */
export const jitterBudgetMs = 50;
/** A slot this close (ms) is used at once: moving the job would make it later, not more exact. */
export const soonMs = 1;

/** Microseconds between two attempt slots of an endpoint limited to `limit` per second. */
export function rateSpacingUs(limit: number): number {
  return Math.ceil((1_000_000 + (lateAllowanceMs + jitterBudgetMs) * 1000) / limit);
}

/** The `takeRateSlot` parameters for a job of an endpoint limited to `limit` per second. */
export function rateSlotRequest(job: DeliverJob, priority: number, limit: number) {
  return { job, priority, spacingUs: rateSpacingUs(limit), lateAllowanceMs, soonMs };
}
