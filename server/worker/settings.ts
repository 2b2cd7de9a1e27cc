// The graphile-worker settings of hookline's delivery worker, in one place: the worker runs with
// them, and the benchmark's no-op ceiling drains with exactly the same ones.
import type { RunnerOptions } from 'graphile-worker';
import type { ReadyConfig } from '../env.js';

export const defaultPollIntervalMs = 500;

export function workerRunnerSettings(
  config: ReadyConfig,
  options: { pollIntervalMs?: number | undefined; localQueue?: boolean } = {},
): Pick<RunnerOptions, 'concurrency' | 'maxPoolSize' | 'pollInterval' | 'noHandleSignals' | 'preset'> {
  return {
    concurrency: slotPolicy(config).jobSlots,
    maxPoolSize: Math.min(slotPolicy(config).jobSlots + 2, 20),
    pollInterval: options.pollIntervalMs ?? defaultPollIntervalMs,
    noHandleSignals: true,
    preset: {
      worker: {
        gracefulShutdownAbortTimeout: config.timeoutMs + 5000,
        // One batched fetch feeds every slot (instead of each slot polling on its own), so a short
        // poll interval stays cheap and re-queued jobs come back promptly.
        ...(options.localQueue !== false && { localQueue: { size: config.workerConcurrency } }),
        // Completions of the same tick share one statement. A completion lost in a crash only
        // re-runs a job whose attempt is already recorded, which then does nothing.
        completeJobBatchDelay: 0,
        // Failures batched too: unbatched, graphile-worker 0.17 does not await a failed job's
        // update, and one lost to a database restart was an unhandled rejection that killed the
        // process. Batched, it stops the runner instead, which the worker restarts (worker.ts).
        failJobBatchDelay: 0,
      },
    },
  };
}

/**
 * How a worker shares its delivery slots (delivery/slots.ts), in one place. A tenant holds at most
 * half of the worker's slots, so no tenant can fill it. Inside a tenant an endpoint alone may use
 * all of the tenant's; while other endpoints of the tenant wait, it holds at most half of them. An
 * endpoint starts with one slot and earns the rest by answering (an answer earns it all of them;
 * a timeout halves what it has): an endpoint that hangs keeps one slot, and a tenant's hanging
 * endpoints cannot take the slots its healthy ones need.
 */
export interface SlotPolicy {
  /** Deliveries in flight at most, all tenants together (HOOKLINE_WORKER_CONCURRENCY). */
  deliverySlots: number;
  tenantSlots: number;
  /** An endpoint's share of its tenant's slots while other endpoints of the tenant wait. */
  sharedEndpointSlots: number;
  /** The slots an endpoint starts with, and never falls below. */
  firstEndpointSlots: number;
  /**
   * graphile-worker's concurrency: twice the delivery slots, so a job that finds no free slot can
   * wait for one in memory while other tenants' jobs are still fetched.
   */
  jobSlots: number;
}

export function slotPolicy(config: Pick<ReadyConfig, 'workerConcurrency'>): SlotPolicy {
  const deliverySlots = config.workerConcurrency;
  const tenantSlots = Math.max(1, Math.floor(deliverySlots / 2));
  return {
    deliverySlots,
    tenantSlots,
    sharedEndpointSlots: Math.max(1, Math.floor(tenantSlots / 2)),
    firstEndpointSlots: 1,
    jobSlots: 2 * deliverySlots,
  };
}

/** Delivery slots one tenant may hold at most. */
export function tenantSlots(config: Pick<ReadyConfig, 'workerConcurrency'>): number {
  return slotPolicy(config).tenantSlots;
}

/** The settings in one line, for logs and benchmark tables. */
export function describeWorkerSettings(config: ReadyConfig): string {
  const s = workerRunnerSettings(config);
  const w = s.preset?.worker;
  return (
    `${config.workerConcurrency} delivery slots, concurrency ${s.concurrency}, localQueue.size ${w?.localQueue?.size}, maxPoolSize ${s.maxPoolSize}, ` +
    `pollInterval ${s.pollInterval} ms, completeJobBatchDelay ${w?.completeJobBatchDelay}`
  );
}
