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
// slots are taken), and none waits longer than twice that. The jobs of a tenant whose deliveries
// hang therefore step aside at once: they go back to the queue without an attempt, spaced to come
// back about as fast as slots free up for them (the tenant's, or the worker's when it is full),
// not all at the same instant.
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
  /** The per-attempt timeout: hanging deliveries free their slots no later than this. */
  attemptTimeoutMs: number;
  waitMs?: number;
  /** The least time a job that stepped aside stays away. */
  deferMs?: number;
  now?: () => number;
}

/** How fast slots free up: for one tenant, or for the whole worker. */
interface Pace {
  /** Before one window has passed there is no turnover to judge: this many may wait meanwhile. */
  since: number;
  assumedAtStart: number;
  /** Releases counted in two consecutive windows of `waitMs` (a cheap sliding-window rate). */
  windowStart: number;
  thisWindow: number;
  lastWindow: number;
  /** Releases per second, decaying over about a second. */
  releaseRate: number;
  rateAt: number;
  /** The slowest it can go: hanging deliveries time out. */
  slowestRate: number;
  /** Jobs that stepped aside come back spread out from here. */
  nextReturnAt: number;
}

interface TenantState {
  id: string;
  held: number;
  waiters: Array<(slot: Slot | null) => void>;
  /** In `turn` (once at most). */
  inTurn: boolean;
  pace: Pace;
}

const rateTimeConstantMs = 1000;
/** Idle tenants are forgotten at the latest this long after they were last seen. */
const sweepEveryMs = 10_000;

export function createTenantFairness(deps: AppDeps, options: TenantFairnessOptions): TenantFairness {
  const waitMs = options.waitMs ?? 250;
  const deferMs = options.deferMs ?? 1000;
  const now = options.now ?? Date.now;
  const timeoutSeconds = Math.max(options.attemptTimeoutMs, 1) / 1000;

  const tenants = new Map<string, TenantState>();
  /** Tenants with waiting jobs, in the order they are served when a slot frees up. */
  const turn: TenantState[] = [];
  const everyone = newPace(now(), options.slots, options.slots / timeoutSeconds);
  let held = 0;
  let waiting = 0;
  let closed = false;
  let sweptAt = now();

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

  function newPace(at: number, assumedAtStart: number, slowestRate: number): Pace {
    return { since: at, assumedAtStart, windowStart: at, thisWindow: 0, lastWindow: 0, releaseRate: 0, rateAt: at, slowestRate, nextReturnAt: 0 };
  }

  function rollWindow(pace: Pace, at: number) {
    const windows = Math.floor((at - pace.windowStart) / waitMs);
    if (windows <= 0) return;
    pace.lastWindow = windows === 1 ? pace.thisWindow : 0;
    pace.thisWindow = 0;
    pace.windowStart += windows * waitMs;
  }

  /** How many slots will probably be released within the next `waitMs`. */
  function expectedReleases(pace: Pace, at: number): number {
    if (at - pace.since < waitMs) return pace.assumedAtStart;
    rollWindow(pace, at);
    const elapsed = (at - pace.windowStart) / waitMs;
    return pace.thisWindow + pace.lastWindow * (1 - elapsed);
  }

  function decayRate(pace: Pace, at: number) {
    pace.releaseRate *= Math.exp(-(at - pace.rateAt) / rateTimeConstantMs);
    pace.rateAt = at;
  }

  function recordRelease(pace: Pace, at: number) {
    rollWindow(pace, at);
    pace.thisWindow++;
    decayRate(pace, at);
    pace.releaseRate += 1000 / rateTimeConstantMs;
  }

  /** When the next job to step aside comes back (and moves the one after it on). */
  function returnTime(pace: Pace, at: number): number {
    decayRate(pace, at);
    // The recent window follows a change of pace at once; the decaying rate smooths out waves
    // (hanging deliveries time out together).
    const recentRate = at - pace.since < waitMs ? 0 : (expectedReleases(pace, at) * 1000) / waitMs;
    const spacingMs = 1000 / Math.max(pace.releaseRate, recentRate, pace.slowestRate);
    const runAt = Math.max(at + deferMs * (1 + Math.random() / 2), pace.nextReturnAt);
    pace.nextReturnAt = runAt + spacingMs;
    return runAt;
  }

  function stateOf(tenantId: string, at: number): TenantState {
    let state = tenants.get(tenantId);
    if (!state) {
      // A tenant just seen may let any number of jobs wait (graphile-worker's job slots bound them).
      const pace = newPace(at, Number.POSITIVE_INFINITY, options.maxPerTenant / timeoutSeconds);
      state = { id: tenantId, held: 0, waiters: [], inTurn: false, pace };
      tenants.set(tenantId, state);
    }
    return state;
  }

  function isIdle(state: TenantState, at: number): boolean {
    return state.held === 0 && state.waiters.length === 0 && state.pace.nextReturnAt < at;
  }

  function forgetIfIdle(state: TenantState, at: number) {
    if (isIdle(state, at)) tenants.delete(state.id);
  }

  /** Tenants whose last job stepped aside or gave up waiting are forgotten here, once idle. */
  function sweep(at: number) {
    if (at - sweptAt < sweepEveryMs) return;
    sweptAt = at;
    for (const state of tenants.values()) forgetIfIdle(state, at);
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
        recordRelease(state.pace, at);
        recordRelease(everyone, at);
        handOutFreeSlots();
        forgetIfIdle(state, at);
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
      sweep(at);
      const state = stateOf(tenantId, at);
      // While slots are free, every waiting job belongs to a tenant at its cap: a job of a tenant
      // under its cap takes a free slot without passing anyone.
      const atCap = state.held >= options.maxPerTenant;
      if (!atCap && held < options.slots) return Promise.resolve(slotFor(state));
      const mayWait = atCap
        ? state.waiters.length < expectedReleases(state.pace, at)
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
      // At its cap, the job waits on its tenant's slots; otherwise on the worker's (all taken).
      const runAt = returnTime(state.held >= options.maxPerTenant ? state.pace : everyone, at);
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
