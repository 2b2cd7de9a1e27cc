// What the parts of a process are given. Each module names the few it uses (a `Pick<…>` of these
// or one of the small types below), never more. server/compose.ts builds them for a process;
// server/worker/delivery-pool.ts gives the delivery path its own pool.
//
// Two query pools exist and must not be mixed up, so their types differ:
//   - the process' pool (`ApiPool`): the API's queries and transactions, and the worker's upkeep
//     (liveness, sweeps, retention, metrics), with the default planner;
//   - the worker's delivery pool (`DeliveryPool`, opened by server/worker/delivery-pool.ts): batched
//     statements that find rows by key, one query deep, no transactions (see db/client.ts).
// The tag exists only for the compiler: a function that runs transactions takes an `ApiPool` and
// cannot be handed the worker's; the delivery path takes a `DeliveryPool`. A function that does not
// care takes `Pick<…, 'db'>` or `Pick<…, 'sql'>` and accepts either.
import type postgres from 'postgres';
import type { Db } from '../db/client.js';
import type { ReadyConfig } from './env.js';
import type { Logger } from './logger.js';
import type { SecretBox } from './security/secret-box.js';

declare const poolKind: unique symbol;

/** The process' query pool (API, upkeep): transactions allowed, default planner. */
export interface ApiPool {
  db: Db;
  sql: postgres.Sql;
  readonly [poolKind]?: 'api';
}

/** The worker's delivery pool: key lookups only, pipeline depth 1, no transactions. */
export interface DeliveryPool {
  db: Db;
  sql: postgres.Sql;
  readonly [poolKind]?: 'worker';
}

/** What every part of a process shares: configuration, the secret box, the logger. */
export interface Shared {
  config: ReadyConfig;
  secretBox: SecretBox;
  logger: Logger;
}

/**
 * The send pool: the few connections the fan-out statement runs on (server/events/send.ts), set
 * like the delivery pool for key lookups only. graphile-worker's add_jobs, inside that statement,
 * looks up job keys with a plan cached per connection; planned while the jobs table was small, it
 * went on scanning the whole table as a backlog grew (no worker running), and single sends slowed
 * with the queue's length.
 */
export interface SendPool {
  sendSql: postgres.Sql;
}

/** Connections of the send pool: the fan-out statements one API process runs at once. */
export const SEND_POOL_SIZE = 3;

/** A process' deps over its own pool (what the API and the upkeep are given). */
export type AppDeps = Shared & ApiPool & SendPool;

/** The delivery path's deps: the same shared parts over the worker's delivery pool. */
export type DeliveryDeps = Shared & DeliveryPool;
