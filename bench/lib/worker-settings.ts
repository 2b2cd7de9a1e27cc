// The graphile-worker settings hookline's worker runs with, for the no-op ceiling. They mirror
// `run({...})` in server/worker/worker.ts (startWorker), which builds them inline; `checkDrift`
// reads that file and warns when the mirrored expressions are no longer there, so a changed
// product setting cannot silently leave the ceiling measuring something else.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { RunnerOptions } from 'graphile-worker';
import type { ReadyConfig } from '../../server/env.js';

export const productPollIntervalMs = 500;
export const productCompleteJobBatchDelayMs = 0;

export function productRunnerSettings(config: ReadyConfig, options: { localQueue: boolean }): Partial<RunnerOptions> {
  return {
    concurrency: config.workerConcurrency,
    maxPoolSize: Math.min(config.workerConcurrency + 2, 20),
    pollInterval: productPollIntervalMs,
    noHandleSignals: true,
    preset: {
      worker: {
        gracefulShutdownAbortTimeout: config.timeoutMs + 5000,
        ...(options.localQueue && { localQueue: { size: config.workerConcurrency } }),
        completeJobBatchDelay: productCompleteJobBatchDelayMs,
      },
    },
  };
}

/** Describes the settings in one line for the tables. */
export function describeRunnerSettings(config: ReadyConfig): string {
  const c = config.workerConcurrency;
  return (
    `concurrency ${c}, localQueue.size ${c}, maxPoolSize ${Math.min(c + 2, 20)}, pollInterval ${productPollIntervalMs} ms, ` +
    `completeJobBatchDelay ${productCompleteJobBatchDelayMs}`
  );
}

const workerSource = fileURLToPath(new URL('../../server/worker/worker.ts', import.meta.url));
const mirrored = [
  'concurrency: config.workerConcurrency',
  'maxPoolSize: Math.min(config.workerConcurrency + 2, 20)',
  `pollInterval: options.pollIntervalMs ?? ${productPollIntervalMs}`,
  'localQueue: { size: config.workerConcurrency }',
  `completeJobBatchDelay: ${productCompleteJobBatchDelayMs}`,
];

/** The mirrored expressions no longer found in server/worker/worker.ts (empty = in step). */
export function checkDrift(): string[] {
  const source = readFileSync(workerSource, 'utf8');
  const missing = mirrored.filter((expression) => !source.includes(expression));
  // Settings the mirror does not know about yet also mean drift.
  for (const knob of ['failJobBatchDelay', 'refetchDelay', 'maxResetLockedInterval']) {
    if (source.includes(knob)) missing.push(`${knob} (set in worker.ts, not mirrored)`);
  }
  return missing;
}
