// Tenant fairness inside one worker process. Deliveries are I/O-bound and a worker holds many in
// flight; without a cap, one tenant whose endpoints hang until the timeout could fill every slot
// and stall everyone else. Each tenant may hold at most `maxPerTenant` slots. A job over the cap
// waits briefly for one of its tenant's slots (so a lone busy tenant with fast receivers keeps its
// pace); if none frees up in time — the tenant's receivers are slow — the job is re-queued a moment
// later (no attempt is made or counted), and for a while the tenant's further jobs over the cap are
// re-queued without waiting, so the worker's slots reach the other tenants' jobs quickly.
import type { AppDeps } from '../deps.js';
import { deliverJobMaxAttempts, type DeliverJob } from './jobs.js';

export interface Slot {
  leave(): void;
}

export interface TenantFairness {
  /** A slot for this tenant, waiting up to `waitMs` for one; null when none freed up in time. */
  enter(tenantId: string): Promise<Slot | null>;
  /** Puts the job back in the queue to run after a pause, behind the queue's other jobs. */
  defer(job: DeliverJob, priority: number): Promise<void>;
  inFlight(): number;
}

export interface TenantFairnessOptions {
  maxPerTenant: number;
  waitMs?: number;
  deferMs?: number;
}

interface TenantState {
  held: number;
  waiters: Array<(slot: Slot) => void>;
  /** Until then, the tenant's jobs over the cap are re-queued at once: a recent wait ran out. */
  slowUntil: number;
  /** Re-queued jobs of the tenant come back spread out from here, not all at the same instant. */
  nextReturnAt: number;
}

export function createTenantFairness(deps: AppDeps, options: TenantFairnessOptions): TenantFairness {
  const tenants = new Map<string, TenantState>();
  const waitMs = options.waitMs ?? 250;
  const deferMs = options.deferMs ?? 1000;
  let total = 0;

  const slotFor = (tenantId: string, state: TenantState): Slot => {
    total++;
    let left = false;
    return {
      leave() {
        if (left) return;
        left = true;
        total--;
        const next = state.waiters.shift();
        if (next) {
          next(slotFor(tenantId, state)); // the slot passes straight to a waiting job of the same tenant
          return;
        }
        state.held--;
        if (state.held === 0 && state.nextReturnAt < Date.now()) tenants.delete(tenantId);
      },
    };
  };

  return {
    enter(tenantId) {
      let state = tenants.get(tenantId);
      if (!state) {
        state = { held: 0, waiters: [], slowUntil: 0, nextReturnAt: 0 };
        tenants.set(tenantId, state);
      }
      if (state.held < options.maxPerTenant) {
        state.held++;
        return Promise.resolve(slotFor(tenantId, state));
      }
      if (Date.now() < state.slowUntil) return Promise.resolve(null);
      const waiting = state;
      return new Promise((resolve) => {
        const waiter = (slot: Slot) => {
          clearTimeout(timer);
          resolve(slot);
        };
        const timer = setTimeout(() => {
          waiting.waiters.splice(waiting.waiters.indexOf(waiter), 1);
          waiting.slowUntil = Date.now() + deferMs;
          resolve(null);
        }, waitMs);
        waiting.waiters.push(waiter);
      });
    },
    async defer(job, priority) {
      // Returned jobs are spaced so that about `maxPerTenant` come back per `deferMs` — roughly what
      // a tenant at its cap can take — instead of the whole backlog churning through the queue.
      const state = tenants.get(job.tenantId);
      const now = Date.now();
      let runAt = now + deferMs * (1 + Math.random() / 2);
      if (state) {
        runAt = Math.max(runAt, state.nextReturnAt);
        state.nextReturnAt = runAt + deferMs / options.maxPerTenant;
      }
      await deps.sql`select graphile_worker.add_job('deliver', ${JSON.stringify(job)}::json,
        run_at := now() + ${Math.round(runAt - now)} * interval '1 millisecond',
        max_attempts := ${deliverJobMaxAttempts}, priority := ${Math.min(priority + 10, 1000)})`;
    },
    inFlight: () => total,
  };
}
