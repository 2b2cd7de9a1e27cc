// Retention: events, deliveries and attempts older than HOOKLINE_RETENTION are deleted by an
// hourly graphile-worker cron job. The unit is the event: an expired event goes with its
// deliveries and attempts, but never while one of its deliveries is still `pending` (a retry or a
// `recover` may still be due; it expires once that delivery finishes).
//
// Deletes run in small batches, each its own short statement (no long transaction, no long
// locks), attempts first, then deliveries, then events, so no single statement cascades into a
// large number of rows. Every table is walked through its created_at index.
import { parseCronItems, type ParsedCronItem, type Task } from 'graphile-worker';
import { deleteExpiredAttempts, deleteExpiredDeliveries, deleteExpiredEvents } from '../db/sql/retention.js';
import type { ApiPool, Shared } from './deps.js';

/** The payload graphile-worker's cron gives a scheduled job. */
export interface RetentionJob {
  _cron?: { ts: string; backfilled?: boolean };
}

declare global {
  namespace GraphileWorker {
    interface Tasks {
      retention: RetentionJob;
    }
  }
}

export interface RetentionCounts {
  attempts: number;
  deliveries: number;
  events: number;
}

export interface RetentionOptions {
  /** The present (tests pass their own); default: this process' clock. */
  now?: Date;
  /** Rows per DELETE statement. */
  batchSize?: number;
}

export const DEFAULT_RETENTION_BATCH_SIZE = 2_000;

/** Hourly; every worker process carries the item, graphile-worker's known_crontabs schedules it once. */
export const retentionCronItem = {
  task: 'retention',
  match: '0 * * * *',
  identifier: 'hookline-retention',
  // One named queue: two runs never overlap, even if one takes longer than an hour.
  options: { queueName: 'hookline-retention', maxAttempts: 3 },
} as const;

export function retentionCronItems(): ParsedCronItem[] {
  return parseCronItems([{ ...retentionCronItem, options: { ...retentionCronItem.options } }]);
}

export async function deleteExpiredData(
  deps: ApiPool & Pick<Shared, 'config' | 'logger'>,
  options: RetentionOptions = {},
): Promise<RetentionCounts> {
  const now = options.now ?? new Date();
  const batchSize = options.batchSize ?? DEFAULT_RETENTION_BATCH_SIZE;
  const cutoff = new Date(now.getTime() - deps.config.retentionMs);
  const { sql } = deps;
  // Attempts first, then deliveries, then events: no single statement cascades into many rows.
  const attempts = await inBatches(batchSize, (limit) => deleteExpiredAttempts(sql, { before: cutoff, limit }));
  const deliveries = await inBatches(batchSize, (limit) => deleteExpiredDeliveries(sql, { before: cutoff, limit }));
  const events = await inBatches(batchSize, (limit) => deleteExpiredEvents(sql, { before: cutoff, limit }));

  const counts = { attempts, deliveries, events };
  if (attempts + deliveries + events > 0) deps.logger.info({ ...counts, cutoff: cutoff.toISOString() }, 'retention: expired data deleted');
  return counts;
}

/** Runs `statement` until a batch deletes fewer rows than the limit; returns the total. */
async function inBatches(batchSize: number, statement: (limit: number) => Promise<number>): Promise<number> {
  let total = 0;
  for (;;) {
    const count = await statement(batchSize);
    total += count;
    if (count < batchSize) return total;
  }
}

export function createRetentionTask(deps: ApiPool & Pick<Shared, 'config' | 'logger'>): Task<'retention'> {
  return async () => {
    await deleteExpiredData(deps);
  };
}
