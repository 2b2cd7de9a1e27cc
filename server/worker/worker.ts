// The delivery worker: a graphile-worker runner over hookline's tasks, with the guarded HTTP
// client, per-tenant fairness and crash recovery (liveness) wired around it, and the hourly
// retention job on graphile-worker's cron.
//
// The runner is supervised. graphile-worker 0.17 stops its runner for good when it cannot record a
// job's completion or failure (the database restarting or failing over under a delivery in flight:
// "Failed to complete jobs … shutting down"), and never starts again by itself. When the runner
// stops without being asked to, a new one is started, with backoff, until one runs; the jobs the
// stopped one held locked are unlocked once the database answers again. The fairness slots and the
// process' heartbeat carry over: deliveries of the stopped runner still in flight keep their slots
// until they finish. A caller that cannot live without a runner (`hookline worker`, which an
// orchestrator restarts) sets `restartWindowMs` and is told when none could be started within it.
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { run, type Runner, type WorkerEvents, type WorkerPool } from 'graphile-worker';
import { unlockJobsOfWorkers } from '../../db/sql/heartbeats.js';
import { createDeliverTask } from '../delivery/deliver.js';
import { createDeliveryFairness, type DeliveryFairness } from '../delivery/fairness.js';
import { createWebhookHttpClient, type Resolver } from '../delivery/http.js';
import { createOperatorTenant, operatorUrlPolicy } from '../operator/operational-events.js';
import type { Outcome } from '../delivery/outcome.js';
import { createPaceEstimator } from '../delivery/pace.js';
import { createStepAsideQueue } from '../delivery/step-aside.js';
import type { AppDeps } from '../deps.js';
import { createRetentionTask, retentionCronItems } from '../retention.js';
import { graphileLogger } from './graphile-logger.js';
import { createLiveness, type LivenessOptions } from './liveness.js';
import { connectDeliveryPool, deliveryDeps } from './delivery-pool.js';
import { startQueueVacuum } from './queue-vacuum.js';
import { createRetryWake } from './retry-wake.js';
import { createRunnerPool } from './runner-pool.js';
import { slotPolicy, workerRunnerSettings } from './settings.js';
import { createStrandedSweeper, type StrandedSweeperOptions } from './stranded-sweeper.js';

/** How much longer than an attempt's timeout a runner may take to shut down by itself before it is forced. */
const STUCK_SHUTDOWN_MARGIN_MS = 5_000;
/** How long a forced shutdown may take before the runner is left behind (graphile-worker's own limit is 5 s). */
const FORCED_SHUTDOWN_WAIT_MS = 7_000;

export interface WorkerOptions {
  /** Maps hostnames to addresses (tests map names to loopback); default: the system resolver. */
  resolver?: Resolver;
  liveness?: LivenessOptions;
  /** How long a job waits for a slot without the slots keeping it out turning over (default 250 ms). */
  fairnessWindowMs?: number;
  pollIntervalMs?: number;
  sweeper?: StrandedSweeperOptions;
  onAttempt?: (info: { outcome: Outcome['kind']; durationMs: number }) => void;
  /**
   * A runner that stopped by itself and could not be started again within this long calls
   * `onGiveUp` (once); restarts go on meanwhile. Unset: restart for ever.
   */
  restartWindowMs?: number;
  onGiveUp?: (error: unknown) => void;
  /** Longest pause between two restart attempts (default 2 s). */
  maxRestartDelayMs?: number;
}

export interface Worker {
  processId: string;
  fairness: DeliveryFairness;
  /** Whether graphile-worker's runner is running (false while a stopped one is being restarted). */
  isRunning(): boolean;
  /** Stops taking jobs, lets in-flight deliveries finish (bounded by the timeout), then returns (once). */
  stop(): Promise<void>;
}

export async function startWorker(processDeps: AppDeps, options: WorkerOptions = {}): Promise<Worker> {
  const { config } = processDeps;
  // Deliveries run on a pool of their own (./delivery-pool.ts); the upkeep stays on the process' pool.
  const pool = connectDeliveryPool(config.databaseUrl);
  const deps = deliveryDeps(processDeps, pool);
  const http = createWebhookHttpClient({
    policy: config.urlPolicy,
    timeoutMs: config.timeoutMs,
    dnsTimeoutMs: config.dnsTimeoutMs,
    ...(options.resolver && { resolver: options.resolver }),
    logger: deps.logger,
  });
  const operatorTenant = createOperatorTenant(deps);
  const operator = operatorTenant && {
    tenant: operatorTenant,
    http: createWebhookHttpClient({
      policy: operatorUrlPolicy(config.urlPolicy),
      timeoutMs: config.timeoutMs,
      dnsTimeoutMs: config.dnsTimeoutMs,
      ...(options.resolver && { resolver: options.resolver }),
      logger: deps.logger,
    }),
  };
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

  // The ids the current runner locks jobs under (its pool's and its workers'); a restart starts a
  // new set, and the stopped runner's are unlocked once a new runner has started.
  let runnerLockIds = new Set<string>();
  const events: WorkerEvents = new EventEmitter();
  // The current runner's pool: retries wake its job fetch at their run_at (retry-wake.ts).
  let workerPool: WorkerPool | undefined;
  const retryWake = createRetryWake(() => workerPool?.nudge(1));
  events.on('pool:create', ({ workerPool: created }) => {
    workerPool = created;
    runnerLockIds.add(created.id);
    liveness.addLockId(created.id);
  });
  events.on('worker:create', ({ worker }) => {
    runnerLockIds.add(worker.workerId);
    liveness.addLockId(worker.workerId);
  });

  const startRunner = async (): Promise<Runner> => {
    runnerLockIds = new Set();
    const settings = workerRunnerSettings(config, { pollIntervalMs: options.pollIntervalMs });
    const runnerPool = createRunnerPool(config.databaseUrl, settings.maxPoolSize ?? 10, deps.logger);
    const endPool = () => runnerPool.end().catch(() => {});
    const started = await run({
      pgPool: runnerPool,
      ...settings,
      events,
      logger: graphileLogger(deps.logger),
      // Every worker process carries the schedule; graphile-worker's known_crontabs table makes sure
      // each hour's run is queued once however many workers run.
      parsedCronItems: retentionCronItems(),
      taskList: {
        retention: createRetentionTask(processDeps) as never,
        deliver: createDeliverTask(deps, {
          http,
          operator,
          fairness,
          onRetryScheduled: retryWake.at,
          ...(options.onAttempt && { onAttempt: options.onAttempt }),
        }) as never,
      },
    }).catch(async (error: unknown) => {
      await endPool();
      throw error;
    });
    // Its pool ends with it (a runner left behind keeps its own: worker.ts `supervise`).
    started.promise.then(endPool, endPool);
    return started;
  };

  let runner: Runner | undefined;
  try {
    runner = await startRunner();
    await liveness.start();
  } catch (error) {
    // Half started: release what did start (a failure here must not hide the first one).
    await inTurn([
      () => runner?.stop(),
      () => liveness.stop(),
      () => http.close(),
      async () => operator?.http.close(),
      () => pool.close(),
    ]).catch(() => {});
    throw error;
  }
  const queueVacuum = startQueueVacuum(processDeps);
  const sweeper = createStrandedSweeper(processDeps, options.sweeper);
  sweeper.start();

  let current: Runner | undefined = runner;
  let stopping = false;
  let stopped: Promise<void> | undefined;
  /** A restart under way (stop waits for it: a runner it starts meanwhile is stopped at once). */
  let restarting: Promise<void> | undefined;
  const abandon = new AbortController();
  const maxRestartDelayMs = options.maxRestartDelayMs ?? 2_000;

  /** Unlocks the jobs a stopped runner left locked (its local queue, deliveries cut short). */
  const releaseLocks = async (ids: string[]) => {
    try {
      await unlockJobsOfWorkers(pool.sql, { lockIds: ids });
    } finally {
      // No longer claimed by this process either way: if the unlock failed, the orphan sweep
      // (liveness.ts) unlocks them once they are `deadAfterMs` old.
      liveness.removeLockIds(ids);
    }
  };

  const supervise = (watched: Runner, lockIds: Set<string>, watchedPool: WorkerPool | undefined) => {
    let over = false;
    const timers: NodeJS.Timeout[] = [];
    const ended = (error?: unknown) => {
      if (over) return;
      over = true;
      events.off('pool:gracefulShutdown', onShutdown);
      for (const timer of timers) clearTimeout(timer);
      if (stopping) return;
      current = undefined;
      deps.logger.error({ err: error }, 'worker runner stopped; restarting it');
      restarting = restart([...lockIds], Date.now())
        .catch((restartError: unknown) => deps.logger.error({ err: restartError }, 'worker runner restart failed'))
        .finally(() => {
          restarting = undefined;
        });
    };
    // A runner that began shutting down by itself (it could not record a job's end) waits for its
    // in-flight jobs, and graphile-worker 0.17 can leave that wait unfinished for ever when the
    // database went away under it: seen as a worker that never delivered again after a PostgreSQL
    // restart. Past the longest an attempt can take it is forced; if even that does not end it, it
    // is left behind (it fetches nothing more) and a new runner starts.
    const onShutdown = ({ workerPool: shuttingDown }: { workerPool: WorkerPool }) => {
      if (shuttingDown !== watchedPool || stopping || over || timers.length > 0) return;
      const graceMs = config.timeoutMs + STUCK_SHUTDOWN_MARGIN_MS;
      timers.push(
        setTimeout(() => {
          if (over || stopping) return;
          deps.logger.warn({ waitedMs: graceMs }, 'worker runner did not finish shutting down; forcing it');
          Promise.resolve(shuttingDown.forcefulShutdown('hookline: shutdown did not finish')).catch(() => {});
        }, graceMs),
        setTimeout(
          () => ended(new Error('the worker runner did not stop after a forced shutdown; left behind')),
          graceMs + FORCED_SHUTDOWN_WAIT_MS,
        ),
      );
      for (const timer of timers) timer.unref();
    };
    events.on('pool:gracefulShutdown', onShutdown);
    watched.promise.then(() => ended(), ended);
  };

  const restart = async (orphanedLockIds: string[], downSince: number) => {
    let lastError: unknown;
    const giveUp =
      options.restartWindowMs === undefined
        ? undefined
        : setTimeout(() => {
            if (stopping || current) return;
            deps.logger.fatal({ err: lastError, downForMs: Date.now() - downSince }, 'worker runner could not be restarted; giving up');
            options.onGiveUp?.(lastError);
          }, options.restartWindowMs);
    giveUp?.unref();
    for (let delay = 250; !stopping; delay = Math.min(delay * 2, maxRestartDelayMs)) {
      await sleep(delay, undefined, { signal: abandon.signal }).catch(() => {});
      if (stopping) break;
      try {
        const started = await startRunner();
        if (stopping) {
          await started.stop();
          break;
        }
        current = started;
        clearTimeout(giveUp);
        supervise(started, runnerLockIds, workerPool);
        deps.logger.info({ downForMs: Date.now() - downSince }, 'worker runner restarted');
        // Not needed for the new runner to work, and the orphan sweep is the net: a failure is logged.
        await releaseLocks(orphanedLockIds).catch((error: unknown) =>
          deps.logger.warn({ err: error }, 'could not unlock the jobs of the stopped runner; the orphan sweep will'),
        );
        return;
      } catch (error) {
        lastError = error;
        deps.logger.warn({ err: error }, 'worker runner did not start; trying again');
      }
    }
    clearTimeout(giveUp);
  };
  supervise(runner, runnerLockIds, workerPool);

  return {
    processId: liveness.processId,
    fairness,
    isRunning: () => current !== undefined,
    stop() {
      // Jobs waiting for a delivery slot go back to the queue at once; the deliveries in flight
      // finish. Every step runs even if one before it failed: a heartbeat left beating would keep
      // other workers from ever unlocking this one's jobs.
      stopping = true;
      abandon.abort();
      stopped ??= inTurn([
        () => fairness.close(),
        () => restarting,
        () => current?.stop(),
        () => queueVacuum.stop(),
        () => sweeper.stop(),
        () => retryWake.stop(),
        () => liveness.stop(),
        () => http.close(),
        async () => operator?.http.close(),
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
