// The long-running commands: `start` (API + worker in one process), `serve`, `worker`, `migrate`.
// Each exposes /metrics (per-process registry), and on HOOKLINE_METRICS_PORT a second listener with
// /metrics, /healthz and /readyz only (how a worker-only process is scraped and probed).
// SIGTERM/SIGINT shut down gracefully: stop accepting, drain HTTP, let in-flight deliveries finish,
// close the pool, exit 0.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isConnectionError } from '../../db/errors.js';
import { limitHeapGrowth } from '../heap.js';
import type { Logger } from '../logger.js';
import { startRuntime, type Runtime } from '../runtime.js';
import type { Worker } from '../worker/worker.js';

/** Extra time past the per-attempt timeout before a shutdown gives up and exits 1. */
const SHUTDOWN_GRACE_MS = 15_000;
/** How long a worker that gave up on its job runner tries to stop cleanly before it exits 1. */
const GIVE_UP_SHUTDOWN_MS = 3_000;

export async function runProcesses(parts: { api: boolean; worker: boolean }): Promise<void> {
  limitHeapGrowth();
  // Signals are handled from the first moment: a SIGTERM while starting stops what has started.
  let stopRequested: string | undefined;
  let onStopRequest: ((signal: string) => void) | undefined;
  let runtime: Runtime | undefined;
  /** The worker's runner could not be restarted: stop, and exit 1. */
  let gaveUp = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopRequested) {
      // A second signal: the operator insists.
      process.stderr.write(`hookline: ${signal} again, exiting without waiting\n`);
      process.exit(1);
    }
    stopRequested = signal;
    // A stuck start or shutdown must not hang forever (an orchestrator would SIGKILL anyway).
    setTimeout(
      () => {
        process.stderr.write('hookline: shutdown did not finish in time; exiting\n');
        process.exit(1);
      },
      (runtime?.deps.config.timeoutMs ?? 10_000) + SHUTDOWN_GRACE_MS,
    ).unref();
    onStopRequest?.(signal);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // A promise rejected with nobody awaiting it ends a Node process. A lost database connection is
  // not a reason to die (the pools reconnect, the worker restarts its runner): graphile-worker 0.17
  // leaves such rejections unawaited on some of its shutdown paths. Anything else still ends it.
  process.on('unhandledRejection', (reason) => {
    if (isConnectionError(reason) || isReleasedBatcher(reason)) {
      (runtime?.logger ?? console).warn({ err: reason }, 'database operation failed with nobody waiting for it');
      return;
    }
    process.stderr.write(`hookline: unhandled rejection: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}\n`);
    process.exit(1);
  });

  // Without the API, the process pool only serves the worker's upkeep, /metrics and /readyz: the
  // deliveries have a pool of their own.
  runtime = await startRuntime({ poolSize: parts.api ? 10 : 3 });
  const { app, deps, logger } = runtime;
  const servers: Server[] = [];
  let worker: Worker | undefined;
  const metrics = app.createMetrics({ worker: parts.worker });
  const notReadyReason = () => (worker && !worker.isRunning() ? 'delivery worker restarting' : undefined);

  try {
    if (parts.worker && !stopRequested) {
      worker = await app.startWorker({
        onAttempt: metrics.onAttempt,
        // A worker-only process that cannot get a job runner going again exits 1, so that its
        // orchestrator restarts it; `start` (API and worker, nothing to restart it) keeps trying.
        ...(!parts.api && {
          restartWindowMs: deps.config.workerRestartWindowMs,
          onGiveUp: () => {
            gaveUp = true;
            onSignal('SIGTERM');
            // Nothing is in flight and the database is away: a stop that waits on it is not worth waiting for.
            setTimeout(() => process.exit(1), GIVE_UP_SHUTDOWN_MS).unref();
          },
        }),
      });
      metrics.watchWorker(worker);
      logger.info({ concurrency: deps.config.workerConcurrency, workerId: worker.processId }, 'worker started');
    }
    if (parts.api && !stopRequested) {
      const server = app.createApiServer({ routes: { '/metrics': metrics.serve }, notReadyReason });
      servers.push(server);
      const port = await listen(server, deps.config.port, deps.config.host);
      logger.info({ url: `http://${deps.config.host}:${port}` }, 'API listening');
      process.stdout.write(`hookline API on http://${deps.config.host}:${port}/trpc (health: /healthz)\n`);
    }
    if (deps.config.metricsPort !== undefined && !stopRequested) {
      const server = app.createApiServer({ trpc: false, routes: { '/metrics': metrics.serve }, notReadyReason });
      servers.push(server);
      const port = await listen(server, deps.config.metricsPort, deps.config.host);
      logger.info({ url: `http://${deps.config.host}:${port}/metrics` }, 'metrics listening');
      process.stdout.write(`hookline metrics on http://${deps.config.host}:${port}/metrics\n`);
    }
  } catch (error) {
    // Failed half-way (e.g. the port is taken): release what started, then report as usual.
    await stopAll(runtime, servers, worker, logger).catch(() => {});
    throw error;
  }

  const started = runtime;
  const shutdown = async (signal: string) => {
    logger.info({ signal }, 'shutting down');
    try {
      await stopAll(started, servers, worker, logger);
      logger.info('stopped');
      process.exit(gaveUp ? 1 : 0);
    } catch (error) {
      logger.error({ err: error }, 'shutdown failed');
      process.exit(1);
    }
  };
  onStopRequest = (signal) => void shutdown(signal);
  if (stopRequested) onStopRequest(stopRequested);
}

/** graphile-worker's batcher of a stopped runner, called by a delivery that outlived it. */
function isReleasedBatcher(reason: unknown): boolean {
  return reason instanceof Error && reason.message.startsWith('This batcher has been released');
}

async function listen(server: Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

async function stopAll(runtime: Runtime, servers: Server[], worker: Worker | undefined, logger: Logger): Promise<void> {
  // Stop taking new work first; in-flight requests and deliveries finish (deliveries are bounded
  // by the per-attempt timeout), then the pool closes.
  await Promise.all([
    ...servers.map((server) => drain(server, runtime.deps.config.timeoutMs + 5_000)),
    worker?.stop().then(() => logger.info('worker stopped')),
  ]);
  await runtime.close();
}

/**
 * Stops listening and waits for in-flight requests. A keep-alive connection stays open after its
 * request unless closed, so idle ones are closed as they become idle; whatever is still open at
 * the deadline is cut.
 */
async function drain(server: Server, deadlineMs: number): Promise<void> {
  if (!server.listening) return;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const sweep = setInterval(() => server.closeIdleConnections(), 100);
  const cut = setTimeout(() => server.closeAllConnections(), deadlineMs);
  try {
    await closed;
  } finally {
    clearInterval(sweep);
    clearTimeout(cut);
  }
}

export async function runMigrate(): Promise<void> {
  const runtime = await startRuntime({ migrate: true });
  process.stdout.write('migrations applied\n');
  await runtime.close();
}
