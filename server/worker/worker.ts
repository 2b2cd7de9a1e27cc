// The delivery worker: a graphile-worker runner over hookline's tasks, with the guarded HTTP
// client, per-tenant fairness and crash recovery (liveness) wired around it, and the hourly
// retention job on graphile-worker's cron.
import { EventEmitter } from 'node:events';
import { run, type Runner, type WorkerEvents } from 'graphile-worker';
import { connectDatabase } from '../../db/client.js';
import { createDeliverTask } from '../delivery/deliver.js';
import { createDeliveryFairness, type DeliveryFairness } from '../delivery/fairness.js';
import { createWebhookHttpClient, type Resolver } from '../delivery/http.js';
import type { Outcome } from '../delivery/outcome.js';
import { createPaceEstimator } from '../delivery/pace.js';
import { createStepAsideQueue } from '../delivery/step-aside.js';
import type { AppDeps } from '../deps.js';
import { createRetentionTask, retentionCronItems } from '../retention.js';
import { graphileLogger } from './graphile-logger.js';
import { createLiveness, type LivenessOptions } from './liveness.js';
import { startQueueVacuum } from './queue-vacuum.js';
import { slotPolicy, workerRunnerSettings } from './settings.js';

export interface WorkerOptions {
  /** Maps hostnames to addresses (tests map names to loopback); default: the system resolver. */
  resolver?: Resolver;
  liveness?: LivenessOptions;
  /** How long a job waits for a slot without the slots keeping it out turning over (default 250 ms). */
  fairnessWindowMs?: number;
  pollIntervalMs?: number;
  onAttempt?: (info: { outcome: Outcome['kind']; durationMs: number }) => void;
}

export interface Worker {
  processId: string;
  fairness: DeliveryFairness;
  /** Stops taking jobs, lets in-flight deliveries finish (bounded by the timeout), then returns (once). */
  stop(): Promise<void>;
}

/** The worker's own query pool (graphile-worker keeps another for its jobs). */
const workerPoolSize = 10;

export async function startWorker(processDeps: AppDeps, options: WorkerOptions = {}): Promise<Worker> {
  const { config } = processDeps;
  // Deliveries get a pool of their own, set for what they run: batched statements that find rows by
  // key and no transactions (see db/client.ts). The upkeep (liveness, queue vacuum, retention)
  // scans and deletes in bulk, so it stays on the process' pool with the default planner.
  const pool = connectDatabase(config.databaseUrl, { max: workerPoolSize, maxPipeline: 1, keyLookupsOnly: true });
  const deps: AppDeps = { ...processDeps, db: pool.db, sql: pool.sql };
  const http = createWebhookHttpClient({
    policy: config.urlPolicy,
    timeoutMs: config.timeoutMs,
    ...(options.resolver && { resolver: options.resolver }),
  });
  const fairnessWindowMs = options.fairnessWindowMs ?? 250;
  const fairness = createDeliveryFairness({
    policy: slotPolicy(config),
    pace: createPaceEstimator({ windowMs: fairnessWindowMs, returnAfterMs: config.timeoutMs }),
    queue: createStepAsideQueue(pool.sql),
    windowMs: fairnessWindowMs,
    onError: (error) => deps.logger.warn({ err: error }, 'bringing back a job that stepped aside failed; it returns by itself'),
  });
  const liveness = createLiveness(processDeps, {
    heartbeatMs: config.workerHeartbeatMs,
    deadAfterMs: config.workerDeadAfterMs,
    ...options.liveness,
  });

  const events: WorkerEvents = new EventEmitter();
  events.on('pool:create', ({ workerPool }) => liveness.addLockId(workerPool.id));
  events.on('worker:create', ({ worker }) => liveness.addLockId(worker.workerId));

  let runner: Runner | undefined;
  try {
    runner = await run({
      connectionString: config.databaseUrl,
      ...workerRunnerSettings(config, { pollIntervalMs: options.pollIntervalMs }),
      events,
      logger: graphileLogger(deps.logger),
      // Every worker process carries the schedule; graphile-worker's known_crontabs table makes sure
      // each hour's run is queued once however many workers run.
      parsedCronItems: retentionCronItems(),
      taskList: {
        retention: createRetentionTask(processDeps) as never,
        deliver: createDeliverTask(deps, {
          http,
          fairness,
          ...(options.onAttempt && { onAttempt: options.onAttempt }),
        }) as never,
      },
    });
    await liveness.start();
  } catch (error) {
    // Half started: release what did start (a failure here must not hide the first one).
    await inTurn([() => runner?.stop(), () => http.close(), () => pool.close()]).catch(() => {});
    throw error;
  }
  const started = runner;
  const queueVacuum = startQueueVacuum(processDeps);

  let stopped: Promise<void> | undefined;
  return {
    processId: liveness.processId,
    fairness,
    stop() {
      // Jobs waiting for a delivery slot go back to the queue at once; the deliveries in flight
      // finish. Every step runs even if one before it failed: a heartbeat left beating would keep
      // other workers from ever unlocking this one's jobs.
      stopped ??= inTurn([
        () => fairness.close(),
        () => started.stop(),
        () => queueVacuum.stop(),
        () => liveness.stop(),
        () => http.close(),
        () => pool.close(),
      ]);
      return stopped;
    },
  };
}

/** Runs every step in order, whatever fails; rejects with the first failure once all have run. */
async function inTurn(steps: Array<() => unknown>): Promise<void> {
  const failures: unknown[] = [];
  for (const step of steps) {
    try {
      await step();
    } catch (error) {
      failures.push(error);
    }
  }
  if (failures.length > 0) throw failures[0];
}
