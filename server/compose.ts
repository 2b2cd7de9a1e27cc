// The composition root: the one place that turns a configuration into a process' parts and hands
// each module what it uses. `hookline start/serve/worker` (server/runtime.ts, server/cli/processes.ts),
// the tests (test/helpers/app.ts) and the bench (bench/lib/hookline.ts) all wire hookline here, so
// they run the same parts wired the same way. The worker's delivery pool is opened by the worker
// itself (server/worker/delivery-pool.ts), as it lives and dies with it.
import type { Server } from 'node:http';
import { connectDatabase, type Database } from '../db/client.js';
import { SEND_POOL_SIZE, type AppDeps } from './deps.js';
import type { ReadyConfig } from './env.js';
import { createApiServer, type ApiServerOptions } from './http/server.js';
import { createLogger, type Logger } from './logger.js';
import { createMetrics, type Metrics } from './metrics.js';
import { createSecretBox } from './security/secret-box.js';
import { startWorker, type Worker, type WorkerOptions } from './worker/worker.js';

export interface ComposeOptions {
  /** Connections in the process' pool (default 10). */
  poolSize?: number;
  /** A logger already made (the runtime's, which logged the start-up); default: a new one at `config.logLevel`. */
  logger?: Logger;
  /** Where a new logger writes (default stdout), e.g. for a test to read the lines. */
  logDestination?: { write(line: string): void };
}

export interface App {
  deps: AppDeps;
  /** The process' pool (`deps.db` and `deps.sql` are its); closing it closes the send pool too. */
  database: Database;
  /** The API's HTTP server (with `trpc: false`, the metrics and health listener), not yet listening. */
  createApiServer(options?: ApiServerOptions): Server;
  /** A delivery worker over this process' deps; it opens (and closes) its own delivery pool. */
  startWorker(options?: WorkerOptions): Promise<Worker>;
  /** The process' metrics registry and its GET /metrics route. */
  createMetrics(options: { worker: boolean }): Metrics;
}

export function composeApp(config: ReadyConfig, options: ComposeOptions = {}): App {
  const logger = options.logger ?? createLogger(config.logLevel, options.logDestination);
  const processPool = connectDatabase(config.databaseUrl, { max: options.poolSize ?? 10 });
  // As many connections as sends may have statements in flight (server/events/send.ts).
  const sendPool = connectDatabase(config.databaseUrl, { max: SEND_POOL_SIZE, keyLookupsOnly: true, planOnce: true });
  const database: Database = {
    ...processPool,
    close: async () => {
      await Promise.all([sendPool.close(), processPool.close()]);
    },
  };
  const deps: AppDeps = {
    config,
    db: database.db,
    sql: database.sql,
    sendSql: sendPool.sql,
    secretBox: createSecretBox(config.encryptionKey),
    logger,
  };
  return {
    deps,
    database,
    createApiServer: (serverOptions) => createApiServer(deps, serverOptions),
    startWorker: (workerOptions) => startWorker(deps, workerOptions),
    createMetrics: (metricsOptions) => createMetrics(deps, metricsOptions),
  };
}
