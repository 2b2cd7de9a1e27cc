// Delivery slots and tenant fairness inside one worker process. Deliveries are I/O-bound and a
// worker holds many in flight (`slots`, HOOKLINE_WORKER_CONCURRENCY); one tenant may hold at most
// `maxPerTenant` of them, so a tenant whose endpoints hang until the timeout cannot stall the rest.
//
// graphile-worker runs more jobs at once than there are delivery slots (worker/settings.ts), so a
// job that finds no free slot can wait for one in memory without keeping other tenants' jobs from
// being fetched. A freed slot goes to the tenants with waiting jobs in turn.
//
// A job waits only when a slot is likely to free up soon: no more jobs wait than slots were
// released in the last `waitMs` (the tenant's own slots when it is at its cap, anyone's when all
// slots are taken), and none waits longer than twice that. The jobs of a tenant whose deliveries hang therefore step aside at once: they
// go back to the queue without an attempt, spaced to come back about as fast as the tenant frees
// slots, not all at the same instant.
import { createBatcher } from '../batcher.js';
import type { AppDeps } from '../deps.js';
import { deliverJobMaxAttempts, type DeliverJob } from './jobs.js';

export interface Slot {
  leave(): void;
}

export interface TenantFairness {
  /** A delivery slot for this tenant, waiting for one if it should free up soon; null when the job should step aside. */
  enter(tenantId: string): Promise<Slot | null>;
  /** Puts the job back in the queue to run later, behind the queue's other jobs. */
  defer(job: DeliverJob, priority: number): Promise<void>;
  /** Deliveries in flight. */
  inFlight(): number;
  /** Jobs waiting for a slot. */
  waiting(): number;
  /** Hands out no more slots: every waiting job steps aside (goes back to the queue). */
  close(): void;
}

export interface TenantFairnessOptions {
  /** Deliveries in flight at most, all tenants together. */
  slots: number;
  maxPerTenant: number;
  /** The per-attempt timeout: a tenant at its cap frees `maxPerTenant` slots per timeout at the least. */
  attemptTimeoutMs: number;
  waitMs?: number;
  /** The least time a job that stepped aside stays away. */
  deferMs?: number;
  now?: () => number;
}

/**
 * Slot releases counted in two consecutive windows of `waitMs` (a cheap sliding-window rate). Until
 * one window has passed there is no turnover to judge, and as many jobs may wait as are assumed at
 * start: any number for a tenant (graphile-worker's job slots bound them), the slot count for all.
 */
interface Turnover {
  since: number;
  assumedAtStart: number;
  windowStart: number;
  thisWindow: number;
  lastWindow: number;
}

interface TenantState {
  id: string;
  held: number;
  waiters: Array<(slot: Slot | null) => void>;
  /** In `turn` (once at most). */
  inTurn: boolean;
  turnover: Turnover;
  /** Releases per second (decaying over about a second): the pace its jobs come back at. */
  releaseRate: number;
  rateAt: number;
  /** Jobs of the tenant that stepped aside come back spread out from here. */
  nextReturnAt: number;
}

export function createTenantFairness(deps: AppDeps, options: TenantFairnessOptions): TenantFairness {
  const waitMs = options.waitMs ?? 250;
  const rateTimeConstantMs = 1000;
  const deferMs = options.deferMs ?? 1000;
  const now = options.now ?? Date.now;
  // Hanging deliveries free their slots when they time out: the slowest a tenant at its cap goes.
  const slowestRate = (options.maxPerTenant * 1000) / Math.max(options.attemptTimeoutMs, 1);

  const tenants = new Map<string, TenantState>();
  /** Tenants with waiting jobs, in the order they are served when a slot frees up. */
  const turn: TenantState[] = [];
  const everyone = newTurnover(now(), options.slots);
  let held = 0;
  let waiting = 0;
  let closed = false;

  // A tenant whose deliveries hang can have hundreds of jobs stepping aside at once (a fan-out
  // arriving): they go back to the queue in one statement, not one each.
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

  function newTurnover(at: number, assumedAtStart: number): Turnover {
    return { since: at, assumedAtStart, windowStart: at, thisWindow: 0, lastWindow: 0 };
  }

  function rollWindow(turnover: Turnover, at: number) {
    const windows = Math.floor((at - turnover.windowStart) / waitMs);
    if (windows <= 0) return;
    turnover.lastWindow = windows === 1 ? turnover.thisWindow : 0;
    turnover.thisWindow = 0;
    turnover.windowStart += windows * waitMs;
  }

  /** How many slots will probably be released within the next `waitMs`. */
  function expectedReleases(turnover: Turnover, at: number): number {
    if (at - turnover.since < waitMs) return turnover.assumedAtStart;
    rollWindow(turnover, at);
    const elapsed = (at - turnover.windowStart) / waitMs;
    return turnover.thisWindow + turnover.lastWindow * (1 - elapsed);
  }

  function decayRate(state: TenantState, at: number) {
    state.releaseRate *= Math.exp(-(at - state.rateAt) / rateTimeConstantMs);
    state.rateAt = at;
  }

  function stateOf(tenantId: string, at: number): TenantState {
    let state = tenants.get(tenantId);
    if (!state) {
      state = { id: tenantId, held: 0, waiters: [], inTurn: false, turnover: newTurnover(at, Number.POSITIVE_INFINITY), releaseRate: 0, rateAt: at, nextReturnAt: 0 };
      tenants.set(tenantId, state);
    }
    return state;
  }

  function slotFor(state: TenantState): Slot {
    held++;
    state.held++;
    let left = false;
    return {
      leave() {
        if (left) return;
        left = true;
        held--;
        state.held--;
        const at = now();
        for (const turnover of [state.turnover, everyone]) {
          rollWindow(turnover, at);
          turnover.thisWindow++;
        }
        decayRate(state, at);
        state.releaseRate += 1000 / rateTimeConstantMs;
        handOutFreeSlots();
        if (state.held === 0 && state.waiters.length === 0 && state.nextReturnAt < at) tenants.delete(state.id);
      },
    };
  }

  /** Gives free slots to waiting jobs, one tenant after another, passing over tenants at their cap. */
  function handOutFreeSlots() {
    let passedOver = 0;
    while (held < options.slots && passedOver < turn.length) {
      const state = turn.shift()!;
      if (state.waiters.length === 0) {
        state.inTurn = false; // its jobs stepped aside meanwhile
        continue;
      }
      if (state.held >= options.maxPerTenant) {
        turn.push(state);
        passedOver++;
        continue;
      }
      passedOver = 0;
      const waiter = state.waiters.shift()!;
      waiting--;
      if (state.waiters.length > 0) turn.push(state);
      else state.inTurn = false;
      waiter(slotFor(state));
    }
  }

  return {
    enter(tenantId) {
      if (closed) return Promise.resolve(null);
      const at = now();
      const state = stateOf(tenantId, at);
      // While slots are free, every waiting job belongs to a tenant at its cap: a job of a tenant
      // under its cap takes a free slot without passing anyone.
      const atCap = state.held >= options.maxPerTenant;
      if (!atCap && held < options.slots) return Promise.resolve(slotFor(state));
      const mayWait = atCap
        ? state.waiters.length < expectedReleases(state.turnover, at)
        : waiting < expectedReleases(everyone, at);
      if (!mayWait) return Promise.resolve(null);
      return new Promise((resolve) => {
        const waiter = (slot: Slot | null) => {
          clearTimeout(timer);
          resolve(slot);
        };
        const timer = setTimeout(() => {
          const index = state.waiters.indexOf(waiter);
          if (index < 0) return;
          state.waiters.splice(index, 1);
          waiting--;
          resolve(null);
        }, 2 * waitMs);
        if (!state.inTurn) {
          state.inTurn = true;
          turn.push(state);
        }
        state.waiters.push(waiter);
        waiting++;
      });
    },
    async defer(job, priority) {
      const at = now();
      const state = stateOf(job.tenantId, at);
      decayRate(state, at);
      // The recent window follows a change of pace at once; the decaying rate smooths out waves
      // (hanging deliveries time out together).
      const recentRate = at - state.turnover.since < waitMs ? 0 : (expectedReleases(state.turnover, at) * 1000) / waitMs;
      const spacingMs = 1000 / Math.max(state.releaseRate, recentRate, slowestRate);
      const runAt = Math.max(at + deferMs * (1 + Math.random() / 2), state.nextReturnAt);
      state.nextReturnAt = runAt + spacingMs;
      await requeue({ job, delayMs: Math.round(runAt - at), priority: Math.min(priority + 10, 1000) });
    },
    inFlight: () => held,
    waiting: () => waiting,
    close() {
      closed = true;
      for (const state of turn.splice(0)) {
        state.inTurn = false;
        for (const waiter of state.waiters.splice(0)) {
          waiting--;
          waiter(null);
        }
      }
    },
  };
}
