// Brings a database to the schema this build expects: hookline's Drizzle migrations,
// graphile-worker's own schema, then the code migrations (data changes that need the application,
// such as the encryption key). Safe to run from several processes at once (advisory lock).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { drizzle } from 'drizzle-orm/postgres-js';
import { migrate as drizzleMigrate } from 'drizzle-orm/postgres-js/migrator';
import { Logger, runMigrations } from 'graphile-worker';
import postgres from 'postgres';
import { sealLegacyHeaderValues } from '../server/endpoints/seal-legacy-headers.js';
import type { SecretBox } from '../server/security/secret-box.js';

export const migrationsFolder = fileURLToPath(new URL('./migrations', import.meta.url));

// An arbitrary constant: every hookline process migrating the same database takes this lock.
const MIGRATION_LOCK_KEY = 7_310_428_166;

export interface MigrateOptions {
  /**
   * The process's secret box, for the code migrations that seal data. Every hookline command
   * passes it; without it they are skipped (the test suite's empty template database).
   */
  secretBox?: Pick<SecretBox, 'seal'>;
}

export async function migrateDatabase(url: string, options: MigrateOptions = {}): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await sql`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`;
    try {
      await drizzleMigrate(drizzle(sql), { migrationsFolder, migrationsSchema: 'hookline_meta' });
      await runMigrations({ connectionString: url, logger: silentLogger() });
      if (options.secretBox) await runCodeMigrations(sql, options.secretBox);
    } finally {
      await sql`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`;
    }
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/**
 * Data changes made in TypeScript, each idempotent and cheap when there is nothing left to do:
 * they run on every start, so rows written meanwhile by a previous release still running (a
 * rolling deploy) are caught at the next one.
 */
async function runCodeMigrations(sql: postgres.Sql, secretBox: Pick<SecretBox, 'seal'>): Promise<void> {
  await sealLegacyHeaderValues(sql, secretBox);
}

/** How many hookline migrations this build ships (for /readyz). */
export function expectedMigrationCount(): number {
  const journal = JSON.parse(readFileSync(`${migrationsFolder}/meta/_journal.json`, 'utf8')) as { entries: unknown[] };
  return journal.entries.length;
}

/** How many hookline migrations the database has applied. */
export async function appliedMigrationCount(sql: postgres.Sql): Promise<number> {
  const rows = await sql<{ n: number }[]>`select count(*)::int as n from hookline_meta.__drizzle_migrations`;
  return rows[0]?.n ?? 0;
}

function silentLogger(): Logger {
  return new Logger(() => () => {});
}
