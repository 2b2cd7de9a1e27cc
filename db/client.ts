// The database handle: one `postgres` connection pool and the Drizzle query builder over it.
import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import * as schema from './schema.js';

export type Db = PostgresJsDatabase<typeof schema>;

export interface Database {
  db: Db;
  sql: postgres.Sql;
  close(): Promise<void>;
}

export function connectDatabase(url: string, options: { max?: number; debug?: () => void } = {}): Database {
  const sql = postgres(url, {
    max: options.max ?? 10,
    onnotice: () => {},
    ...(options.debug && { debug: options.debug }),
    // Timestamps stay Date objects; jsonb comes back parsed.
    connection: { application_name: 'hookline' },
  });
  // Drizzle takes over the driver's date handling: raw `sql` queries pass and get timestamps as
  // ISO strings, not Date objects.
  const db = drizzle(sql, { schema });
  return { db, sql, close: () => sql.end({ timeout: 5 }) };
}
