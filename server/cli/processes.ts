// The long-running commands: `start` (API + worker in one process), `serve`, `worker`, `migrate`.
import { once } from 'node:events';
import type { Server } from 'node:http';
import { createApiServer } from '../http/server.js';
import { startRuntime, type Runtime } from '../runtime.js';
import { startWorker, type Worker } from '../worker/worker.js';

export async function runProcesses(parts: { api: boolean; worker: boolean }): Promise<void> {
  const runtime = await startRuntime();
  const { deps, logger } = runtime;
  let server: Server | undefined;
  let worker: Worker | undefined;

  if (parts.worker) {
    worker = await startWorker(deps);
    logger.info({ concurrency: deps.config.workerConcurrency }, 'worker started');
  }
  if (parts.api) {
    server = createApiServer(deps);
    server.listen(deps.config.port, deps.config.host);
    await once(server, 'listening');
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : deps.config.port;
    logger.info({ url: `http://${deps.config.host}:${port}` }, 'API listening');
    process.stdout.write(`hookline API on http://${deps.config.host}:${port}/trpc (health: /healthz)\n`);
  }

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    await stopAll(runtime, server, worker);
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

async function stopAll(runtime: Runtime, server: Server | undefined, worker: Worker | undefined): Promise<void> {
  // Stop taking new work first; in-flight requests and deliveries finish (bounded by the timeout).
  const closing = server ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
  server?.closeIdleConnections();
  await Promise.all([closing, worker?.stop()]);
  await runtime.close();
}

export async function runMigrate(): Promise<void> {
  const runtime = await startRuntime({ migrate: true });
  process.stdout.write('migrations applied\n');
  await runtime.close();
}
