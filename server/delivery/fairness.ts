// Tenant fairness inside one worker process. Deliveries are I/O-bound and a worker holds many in
// flight; without a cap, one tenant whose endpoints hang until the timeout could fill every slot
// and stall everyone else. Each tenant may hold at most `maxPerTenant` slots; a job over the cap is
// re-queued a moment later (no attempt is made or counted) and the slot goes to the next job.
import type { AppDeps } from '../deps.js';
import { deliverJobMaxAttempts, type DeliverJob } from './jobs.js';

export interface TenantFairness {
  /** A slot for this tenant, or null when it already holds its share. */
  tryEnter(tenantId: string): { leave(): void } | null;
  /** Puts the job back in the queue to run after a short pause. */
  defer(job: DeliverJob): Promise<void>;
  inFlight(): number;
}

export interface TenantFairnessOptions {
  maxPerTenant: number;
  deferMs?: number;
}

export function createTenantFairness(deps: AppDeps, options: TenantFairnessOptions): TenantFairness {
  const counts = new Map<string, number>();
  let total = 0;
  const deferMs = options.deferMs ?? 1000;
  return {
    tryEnter(tenantId) {
      const held = counts.get(tenantId) ?? 0;
      if (held >= options.maxPerTenant) return null;
      counts.set(tenantId, held + 1);
      total++;
      let left = false;
      return {
        leave() {
          if (left) return;
          left = true;
          total--;
          const now = (counts.get(tenantId) ?? 1) - 1;
          if (now === 0) counts.delete(tenantId);
          else counts.set(tenantId, now);
        },
      };
    },
    async defer(job) {
      const delayMs = Math.round(deferMs * (1 + Math.random() / 2));
      await deps.sql`select graphile_worker.add_job('deliver', ${JSON.stringify(job)}::json,
        run_at := now() + ${delayMs} * interval '1 millisecond', max_attempts := ${deliverJobMaxAttempts})`;
    },
    inFlight: () => total,
  };
}
