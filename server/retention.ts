// Retention: events, deliveries and attempts older than HOOKLINE_RETENTION are deleted by an
// hourly graphile-worker cron job. The unit is the event: an expired event goes with its
// deliveries and attempts, but never while one of its deliveries is still `pending` (a retry or a
// `recover` may still be due; it expires once that delivery finishes).
//
// Deletes run in small batches, each its own short statement (no long transaction, no long
// locks), attempts first, then deliveries, then events, so no single statement cascades into a
// large number of rows. Every table is walked through its created_at index.
import { parseCronItems, type ParsedCronItem, type Task } from 'graphile-worker';
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

export const defaultRetentionBatchSize = 2_000;

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

export async function deleteExpiredData(deps: ApiPool & Pick<Shared, 'config' | 'logger'>, options: RetentionOptions = {}): Promise<RetentionCounts> {
  const now = options.now ?? new Date();
  const batchSize = options.batchSize ?? defaultRetentionBatchSize;
  // Raw SQL takes timestamps as ISO strings: Drizzle replaces the driver's Date serializer.
  const cutoff = new Date(now.getTime() - deps.config.retentionMs).toISOString();
  const { sql } = deps;
  // An event is kept while any of its deliveries is still pending (eventId: a column, never input).
  const settled = (eventId: string) =>
    sql`not exists (select 1 from deliveries p where p.event_id = ${sql.unsafe(eventId)} and p.status = 'pending')`;

  const attempts = await inBatches(batchSize, (limit) => sql`
    delete from attempts where id in (
      select a.id from attempts a join deliveries d on d.id = a.delivery_id
       where a.created_at < ${cutoff}::timestamptz
         and ${settled('d.event_id')}
       limit ${limit})`);
  // Deliveries are created with their event, so an expired delivery belongs to an expired event.
  const deliveries = await inBatches(batchSize, (limit) => sql`
    delete from deliveries where id in (
      select d.id from deliveries d
       where d.created_at < ${cutoff}::timestamptz
         and ${settled('d.event_id')}
       limit ${limit})`);
  const events = await inBatches(batchSize, (limit) => sql`
    delete from events where id in (
      select e.id from events e
       where e.created_at < ${cutoff}::timestamptz
         and ${settled('e.id')}
       limit ${limit})`);

  const counts = { attempts, deliveries, events };
  if (attempts + deliveries + events > 0) deps.logger.info({ ...counts, cutoff }, 'retention: expired data deleted');
  return counts;
}

/** Runs `statement` until a batch deletes fewer rows than the limit; returns the total. */
async function inBatches(batchSize: number, statement: (limit: number) => PromiseLike<{ count: number }>): Promise<number> {
  let total = 0;
  for (;;) {
    const { count } = await statement(batchSize);
    total += count;
    if (count < batchSize) return total;
  }
}

export function createRetentionTask(deps: ApiPool & Pick<Shared, 'config' | 'logger'>): Task<'retention'> {
  return async () => {
    await deleteExpiredData(deps);
  };
}
