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
    // Twice as many jobs as delivery slots (HOOKLINE_WORKER_CONCURRENCY): a job finding no free slot
    // waits for one in memory (delivery/fairness.ts) while other tenants' jobs are still fetched.
    concurrency: jobSlots(config),
    maxPoolSize: Math.min(jobSlots(config) + 2, 20),
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
      },
    },
  };
}

function jobSlots(config: ReadyConfig): number {
  return 2 * config.workerConcurrency;
}

/** Delivery slots one tenant may hold at most: half of the worker's, so no tenant can fill it. */
export function tenantSlots(config: ReadyConfig): number {
  return Math.max(1, Math.floor(config.workerConcurrency / 2));
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
