// A running hookline for tests: its own database, the API on a loopback port, typed clients, and
// optionally the worker — the same parts production runs, wired the same way.
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTRPCClient, httpLink, type TRPCClient } from '@trpc/client';
import type { Database } from '../../db/client.js';
import { composeApp, type App } from '../../server/compose.js';
import type { AppDeps } from '../../server/deps.js';
import { loadConfig, type ReadyConfig } from '../../server/env.js';
import type { AppRouter } from '../../server/router.js';
import type { Worker, WorkerOptions } from '../../server/worker/worker.js';
import { createTestDatabase, type TestDatabase } from './database.js';

export type Client = TRPCClient<AppRouter>;

export interface TestApp {
  url: string;
  config: ReadyConfig;
  deps: AppDeps;
  /** The parts as the composition root wires them: further workers, servers, metrics, as production makes them. */
  composed: App;
  database: Database;
  testDatabase: TestDatabase;
  admin: Client;
  client(apiKey?: string): Client;
  worker: Worker | undefined;
  close(): Promise<void>;
}

export interface TestAppOptions {
  env?: Record<string, string>;
  /** Run a delivery worker in this process too (with these options). */
  worker?: boolean | WorkerOptions;
  /** Where the app's JSON log lines go (default stdout), e.g. to inspect them in a test. */
  logDestination?: { write(line: string): void };
}

export function testConfig(databaseUrl: string, env: Record<string, string> = {}): ReadyConfig {
  const config = loadConfig({
    HOOKLINE_LOG_LEVEL: process.env.HOOKLINE_TEST_LOG_LEVEL ?? 'silent',
    HOOKLINE_ALLOW_HTTP: 'true',
    HOOKLINE_ALLOWED_NETWORKS: '127.0.0.0/8,::1/128',
    HOOKLINE_RETRY_SCHEDULE: '50ms,100ms,150ms',
    HOOKLINE_TIMEOUT: '2s',
    ...env,
    DATABASE_URL: databaseUrl,
    HOOKLINE_ADMIN_KEY: env.HOOKLINE_ADMIN_KEY ?? `admin_${randomBytes(24).toString('base64url')}`,
    HOOKLINE_ENCRYPTION_KEY: env.HOOKLINE_ENCRYPTION_KEY ?? randomBytes(32).toString('base64'),
  });
  return config as ReadyConfig;
}

export function makeClient(url: string, apiKey?: string): Client {
  return createTRPCClient<AppRouter>({
    links: [httpLink({ url: `${url}/trpc`, headers: () => (apiKey ? { authorization: `Bearer ${apiKey}` } : {}) })],
  });
}

export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const testDatabase = await createTestDatabase();
  const config = testConfig(testDatabase.url, options.env);
  const app = composeApp(config, { poolSize: 5, ...(options.logDestination && { logDestination: options.logDestination }) });
  const { deps, database } = app;
  const server: Server = app.createApiServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const worker = options.worker
    ? await app.startWorker({ pollIntervalMs: 200, ...(typeof options.worker === 'object' ? options.worker : {}) })
    : undefined;
  return {
    url,
    config,
    deps,
    composed: app,
    database,
    testDatabase,
    admin: makeClient(url, config.adminKey),
    client: (apiKey) => makeClient(url, apiKey),
    worker,
    async close() {
      await worker?.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await database.close();
      await testDatabase.drop();
    },
  };
}
