// The worker's delivery pool and the deps the delivery path runs on. Deliveries get a pool of their
// own, set for what they run: batched statements that find rows by key and no transactions (see
// db/client.ts for each setting). The upkeep (liveness, queue vacuum, sweeps, retention) scans and
// deletes in bulk, so it stays on the process' pool with the default planner.
import { connectDatabase, type Database } from '../../db/client.js';
import type { DeliveryDeps, DeliveryPool, Shared } from '../deps.js';

/** The worker's own query pool (graphile-worker keeps another for its jobs). */
const WORKER_POOL_SIZE = 10;

export function connectDeliveryPool(databaseUrl: string): Database & DeliveryPool {
  return connectDatabase(databaseUrl, { max: WORKER_POOL_SIZE, maxPipeline: 1, keyLookupsOnly: true });
}

/** The process' shared parts over the delivery pool (never over the process' own pool). */
export function deliveryDeps(shared: Shared, pool: DeliveryPool): DeliveryDeps {
  return { config: shared.config, secretBox: shared.secretBox, logger: shared.logger, db: pool.db, sql: pool.sql };
}
