// Process start-up shared by every command: configuration, the database (DATABASE_URL or the
// embedded one under .hookline/), migrations, the admin and encryption keys, then the process'
// parts from the composition root (./compose.ts). The embedded PostgreSQL is development tooling:
// it is imported only when the quickstart needs it (no DATABASE_URL), never by a production process.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import postgres from 'postgres';
import type { Database } from '../db/client.js';
import { migrateDatabase } from '../db/migrate.js';
import { composeApp, type App } from './compose.js';
import type { AppDeps } from './deps.js';
import { ConfigError, loadConfig, type ReadyConfig } from './env.js';
import { createLogger, type Logger } from './logger.js';

export interface Runtime {
  /** The process' parts (./compose.ts). */
  app: App;
  deps: AppDeps;
  database: Database;
  logger: Logger;
  /** Closes the pool and stops an embedded server this process started. */
  close(): Promise<void>;
}

export interface RuntimeOptions {
  env?: Record<string, string | undefined>;
  migrate?: boolean;
  poolSize?: number;
}

export async function startRuntime(options: RuntimeOptions = {}): Promise<Runtime> {
  const base = loadConfig(options.env ?? process.env);
  const logger = createLogger(base.logLevel);
  let stopEmbedded: () => Promise<void> = async () => {};
  let config: ReadyConfig;

  if (base.databaseUrl) {
    if (!base.adminKey) throw new ConfigError('invalid configuration:\n  HOOKLINE_ADMIN_KEY: required when DATABASE_URL is set');
    if (!base.encryptionKey) {
      throw new ConfigError('invalid configuration:\n  HOOKLINE_ENCRYPTION_KEY: required when DATABASE_URL is set (base64 of 32 bytes)');
    }
    config = Object.freeze({ ...base, databaseUrl: base.databaseUrl, adminKey: base.adminKey, encryptionKey: base.encryptionKey });
  } else {
    const dataDir = resolve(base.dataDir);
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const { startEmbeddedPostgres } = await import('../db/embedded.js');
    const embedded = await startEmbeddedPostgres({ dataDir, log: (line) => logger.debug({ postgres: line }) });
    stopEmbedded = embedded.stop;
    const databaseUrl = await ensureDatabase(embedded.url, 'hookline');
    const adminKey =
      base.adminKey ??
      readOrCreateKeyFile(
        join(dataDir, 'admin-key'),
        () => `hk_admin_${randomBytes(32).toString('base64url')}`,
        (key) => {
          process.stdout.write(`\nhookline admin key (shown once, stored in ${join(base.dataDir, 'admin-key')}):\n\n  ${key}\n\n`);
        },
      );
    const encryptionKey =
      base.encryptionKey ??
      Buffer.from(
        readOrCreateKeyFile(join(dataDir, 'encryption-key'), () => randomBytes(32).toString('base64')),
        'base64',
      );
    config = Object.freeze({ ...base, databaseUrl, adminKey, encryptionKey });
    logger.info({ dataDir }, 'using the embedded PostgreSQL');
  }

  // (The pool connects on its first query, so the migrations still run first.)
  const app = composeApp(config, { poolSize: options.poolSize ?? 10, logger });
  const { deps, database } = app;
  if (options.migrate !== false) {
    await migrateDatabase(config.databaseUrl, { secretBox: deps.secretBox }).catch(async (error: unknown) => {
      await database.close();
      throw error;
    });
  }
  return {
    app,
    deps,
    database,
    logger,
    async close() {
      await database.close();
      await stopEmbedded();
    },
  };
}

function readOrCreateKeyFile(path: string, create: () => string, onCreate?: (value: string) => void): string {
  if (existsSync(path)) return readFileSync(path, 'utf8').trim();
  const value = create();
  writeFileSync(path, `${value}\n`, { mode: 0o600, flag: 'wx' });
  onCreate?.(value);
  return value;
}

/** Creates the named database on the server if missing; returns its connection string. */
export async function ensureDatabase(serverUrl: string, name: string): Promise<string> {
  const sql = postgres(serverUrl, { max: 1, onnotice: () => {} });
  try {
    const rows = await sql`select 1 from pg_database where datname = ${name}`;
    if (rows.length === 0) {
      await sql.unsafe(`create database "${name}"`).catch((error: { code?: string }) => {
        if (error.code !== '42P04') throw error; // created concurrently by another process
      });
    }
  } finally {
    await sql.end({ timeout: 5 });
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
