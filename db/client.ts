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
    // At most one query pipelined behind the running one. postgres.js 3.4 keeps busy connections in
    // a queue whose array grows by a slot per pipelined query while the pool stays saturated, and
    // every connection state change scans it: with the default (100) a worker's drain slowed from
    // 1,190 to 704 deliveries/s, 31 % of its CPU in Queue.remove. With 1, a connection leaves the
    // busy queue after one pipelined query, so it empties and resets (probe: 100 callers on a pool
    // of 10 held ≈ 20,000 queries/s over 200,000 queries, against 23,000 falling to 8,000).
    // 0 would stop pipelining altogether, but postgres.js then cannot reserve a connection for
    // sql.begin (UNSAFE_TRANSACTION). (A runtime option its type definitions leave out.)
    ...({ max_pipeline: 1 } as object),
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
