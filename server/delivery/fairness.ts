// Tenant fairness inside one worker process. Deliveries are I/O-bound and a worker holds many in
// flight; without a cap, one tenant whose endpoints hang until the timeout could fill every slot
// and stall everyone else. Each tenant may hold at most `maxPerTenant` slots.
//
// A job over the cap holds one of graphile-worker's job slots for as long as it waits, so it waits
// only when one of its tenant's slots is likely to free up soon: a tenant with fast receivers keeps
// its pace (its slots turn over within milliseconds), while the jobs of a tenant whose deliveries
// hang are re-queued at once (no attempt is made or counted) and leave the worker's slots to the
// other tenants. "Soon" is judged from the tenant's own recent turnover: no more jobs wait than
// slots were released in the last `waitMs`.
import { createBatcher } from '../batcher.js';
import type { AppDeps } from '../deps.js';
import { deliverJobMaxAttempts, type DeliverJob } from './jobs.js';

export interface Slot {
  leave(): void;
}

export interface TenantFairness {
  /** A slot for this tenant, waiting up to `waitMs` for one; null when it should step aside. */
  enter(tenantId: string): Promise<Slot | null>;
  /** Puts the job back in the queue to run after a pause, behind the queue's other jobs. */
  defer(job: DeliverJob, priority: number): Promise<void>;
  inFlight(): number;
}

export interface TenantFairnessOptions {
  maxPerTenant: number;
  waitMs?: number;
  deferMs?: number;
  now?: () => number;
}

interface TenantState {
  held: number;
  waiters: Array<(slot: Slot) => void>;
  /** When the tenant took its first slot: before `waitMs` has passed there is no turnover to judge. */
  since: number;
  /** Releases counted in two consecutive windows of `waitMs` (a cheap sliding-window rate). */
  windowStart: number;
  releasesThisWindow: number;
  releasesLastWindow: number;
  /** Re-queued jobs of the tenant come back spread out from here, not all at the same instant. */
  nextReturnAt: number;
}

export function createTenantFairness(deps: AppDeps, options: TenantFairnessOptions): TenantFairness {
  const tenants = new Map<string, TenantState>();
  const waitMs = options.waitMs ?? 250;
  const deferMs = options.deferMs ?? 1000;
  const now = options.now ?? Date.now;
  let total = 0;

  // A tenant whose deliveries hang can have hundreds of jobs stepping aside at once (a fan-out
  // arriving): they go back to the queue in one statement, not one each, so the worker's slots are
  // free for other tenants again within a few milliseconds.
  const requeue = createBatcher<{ job: DeliverJob; delayMs: number; priority: number }, true>(
    async (items) => {
      await deps.sql`select count(*) from graphile_worker.add_jobs(array(
        select row('deliver', item->'job', null, now() + (item->>'delayMs')::int * interval '1 millisecond',
                   ${deliverJobMaxAttempts}::int, null, (item->>'priority')::int, null)::graphile_worker.job_spec
          from json_array_elements(${JSON.stringify(items)}::json) as item))`;
      return items.map(() => true);
    },
    { maxBatch: 500, maxInFlight: 2 },
  );

  const rollWindow = (state: TenantState, at: number) => {
    const windows = Math.floor((at - state.windowStart) / waitMs);
    if (windows <= 0) return;
    state.releasesLastWindow = windows === 1 ? state.releasesThisWindow : 0;
    state.releasesThisWindow = 0;
    state.windowStart += windows * waitMs;
  };

  /** How many slots the tenant will probably release within the next `waitMs`. */
  const expectedReleases = (state: TenantState, at: number): number => {
    if (at - state.since < waitMs) return options.maxPerTenant; // just started: assume it is fast
    rollWindow(state, at);
    const elapsed = (at - state.windowStart) / waitMs;
    return state.releasesThisWindow + state.releasesLastWindow * (1 - elapsed);
  };

  const slotFor = (tenantId: string, state: TenantState): Slot => {
    total++;
    let left = false;
    return {
      leave() {
        if (left) return;
        left = true;
        total--;
        const at = now();
        rollWindow(state, at);
        state.releasesThisWindow++;
        const next = state.waiters.shift();
        if (next) {
          next(slotFor(tenantId, state)); // the slot passes straight to a waiting job of the same tenant
          return;
        }
        state.held--;
        if (state.held === 0 && state.nextReturnAt < at) tenants.delete(tenantId);
      },
    };
  };

  return {
    enter(tenantId) {
      const at = now();
      let state = tenants.get(tenantId);
      if (!state) {
        state = { held: 0, waiters: [], since: at, windowStart: at, releasesThisWindow: 0, releasesLastWindow: 0, nextReturnAt: 0 };
        tenants.set(tenantId, state);
      }
      if (state.held < options.maxPerTenant) {
        state.held++;
        return Promise.resolve(slotFor(tenantId, state));
      }
      if (state.waiters.length >= expectedReleases(state, at)) return Promise.resolve(null);
      const waiting = state;
      return new Promise((resolve) => {
        const waiter = (slot: Slot) => {
          clearTimeout(timer);
          resolve(slot);
        };
        const timer = setTimeout(() => {
          waiting.waiters.splice(waiting.waiters.indexOf(waiter), 1);
          resolve(null);
        }, waitMs);
        waiting.waiters.push(waiter);
      });
    },
    async defer(job, priority) {
      // Returned jobs are spaced so that about `maxPerTenant` come back per `deferMs` — roughly what
      // a tenant at its cap can take — instead of the whole backlog churning through the queue.
      const state = tenants.get(job.tenantId);
      const at = now();
      let runAt = at + deferMs * (1 + Math.random() / 2);
      if (state) {
        runAt = Math.max(runAt, state.nextReturnAt);
        state.nextReturnAt = runAt + deferMs / options.maxPerTenant;
      }
      await requeue({ job, delayMs: Math.round(runAt - at), priority: Math.min(priority + 10, 1000) });
    },
    inFlight: () => total,
  };
}
