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

export interface ConnectOptions {
  max?: number;
  /**
   * Queries postgres.js may pipeline behind a running one (its default: 100). 1 suits the worker's
   * own pool: postgres.js 3.4 keeps busy connections in a queue whose array grows by a
   * slot per pipelined query while the pool stays saturated, and every connection state change
   * scans it (a worker's drain slowed from 1,190 to 704 deliveries/s, 31 % of its CPU in
   * Queue.remove; with 1 the queue empties and resets constantly). But postgres.js cannot reserve
   * a connection for a transaction whose BEGIN lands that many queries deep in a busy connection's
   * pipeline (UNSAFE_TRANSACTION), which with 1 happens whenever the pool is saturated: the API's
   * pool, which runs transactions, keeps the default; the worker runs none.
   */
  maxPipeline?: number;
  /**
   * For a pool whose statements all find rows by key (the worker's): plans of index lookups in
   * nested loops only (enable_seqscan, enable_hashjoin and enable_mergejoin off). A prepared
   * statement's generic plan is made once per connection, from the table sizes of that moment, and
   * kept until an ANALYZE: a plan made while deliveries and events were small (a new deployment's
   * first minute) went on scanning and hashing the whole events table for every batch of loads
   * after it had grown to 20,000 rows. Planning each statement anew (plan_cache_mode=
   * force_custom_plan) avoided that but cost more CPU than the statements themselves at low rates.
   */
  keyLookupsOnly?: boolean;
  /**
   * With `keyLookupsOnly`: every statement, those inside PL/pgSQL functions too, runs the plan made
   * once per connection (plan_cache_mode=force_generic_plan). graphile-worker's add_jobs, called by
   * the fan-out statement, otherwise plans its job insert and key update anew on every call (a plan
   * for the array it was given is always estimated cheaper than the generic one): 0.3 ms of
   * PostgreSQL's CPU per fan-out statement, as much as the rest of a lone send's statement. Safe
   * only where plans are key lookups whatever the table sizes, hence with `keyLookupsOnly`.
   */
  planOnce?: boolean;
  /** Seconds to wait for a new connection (default 5; the driver's own default is 30). */
  connectTimeoutSeconds?: number;
  debug?: () => void;
}

/**
 * How long a new connection may take. While the database is down or failing over, a query waits
 * this long at most before it fails (and the API answers SERVICE_UNAVAILABLE): a refused connection
 * fails at once, but a server that drops packets (a failover in progress) would hold a caller for
 * the driver's default 30 s.
 */
export const DEFAULT_CONNECT_TIMEOUT_SECONDS = 5;

/**
 * Seconds a connection waits before it tries again after its last attempt failed. postgres.js
 * grows this with every failure anywhere in the pool, to 20 s, and a query given to a connection
 * waits that out before the attempt even starts: during an outage, API calls hung for 10–20 s (and
 * then often succeeded, long after their caller had given up). Capped at half a second, a call
 * meets the outage promptly (SERVICE_UNAVAILABLE) and the pool is back as soon as the database is.
 */
export function reconnectBackoffSeconds(failures: number): number {
  return Math.min(0.05 * 2 ** failures, 0.5);
}

export function connectDatabase(url: string, options: ConnectOptions = {}): Database {
  const sql = postgres(url, {
    max: options.max ?? 10,
    connect_timeout: options.connectTimeoutSeconds ?? DEFAULT_CONNECT_TIMEOUT_SECONDS,
    backoff: reconnectBackoffSeconds,
    // (max_pipeline: a runtime option of postgres.js that its type definitions leave out.)
    ...(options.maxPipeline !== undefined && ({ max_pipeline: options.maxPipeline } as object)),
    onnotice: () => {},
    ...(options.debug && { debug: options.debug }),
    // Timestamps stay Date objects; jsonb comes back parsed.
    connection: {
      application_name: 'hookline',
      ...(options.keyLookupsOnly && { enable_seqscan: 'off', enable_hashjoin: 'off', enable_mergejoin: 'off' }),
      ...(options.keyLookupsOnly && options.planOnce && { plan_cache_mode: 'force_generic_plan' }),
    },
  });
  // Drizzle takes over the driver's date handling: raw `sql` queries pass and get timestamps as
  // ISO strings, not Date objects.
  const db = drizzle(sql, { schema });
  return { db, sql, close: () => sql.end({ timeout: 5 }) };
}
