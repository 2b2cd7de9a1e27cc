// The stranded-delivery sweeper: every worker process periodically finds `pending` deliveries that
// no job will ever attempt again (db/sql/stranded.ts says how that happens) and gives each a job
// again, for the same attempt number, so the worker's rule (act only when the delivery expects that
// attempt) holds. A delivery whose job kept failing inside hookline for longer than `giveUpAfterMs`
// is failed instead, with a reason, rather than retried for ever.
//
// Cheap on a large table: each sweep reads a bounded range of the deliveries table's pages (the
// next range on the next sweep, round and round) and, once, graphile-worker's jobs table; it acts
// on a bounded batch. Jobs that used up their attempts are found anywhere at once; a job deleted by
// hand within one pass over the table. Safe with many workers: a delivery is acted on only under
// its row lock (taken with SKIP LOCKED), and its jobs are looked at again after the lock is held,
// so two sweepers, or a sweeper and deliveries.retry, never give it two jobs.
import { failDeliveries, lockPendingDeliveries } from '../../db/sql/deliveries.js';
import { addDeliverJobs } from '../../db/sql/jobs.js';
import { deleteDeadJobsSql, deliveryPageCount, findStrandedCandidates, jobsForNextAttempt, queueIsBehind } from '../../db/sql/stranded.js';
import { advanceFifoLine, stalledFifoLines } from '../../db/sql/fifo.js';
import { nextAttemptJob } from '../delivery/requeue.js';
import type { ApiPool, Shared } from '../deps.js';

export interface StrandedSweeperOptions {
  intervalMs?: number;
  /** A pending delivery's attempt must have been due this long (a margin for anything in flight). */
  graceMs?: number;
  /**
   * The walk rests while the queue has jobs due for longer than this (a backlog: every delivery
   * waiting in it would look stranded, see queueIsBehind).
   */
  backlogAfterMs?: number;
  /** Pages of the deliveries table read per sweep (8 KiB each, a few dozen deliveries). */
  pagesPerSweep?: number;
  /** Deliveries acted on per sweep at most. */
  batchSize?: number;
  /** A delivery whose attempt is overdue this long while its job keeps failing is failed. */
  giveUpAfterMs?: number;
}

export interface SweepResult {
  requeued: number;
  failed: number;
  /** Used-up jobs of deliveries that no longer expect them, deleted. */
  staleJobsDeleted: number;
  /** FIFO lines advanced whose head was finished (or empty) without the next getting its job. */
  linesAdvanced: number;
}

export interface StrandedSweeper {
  /** Sweeps every `intervalMs` in the background. */
  start(): void;
  /** One sweep (the next range of pages). */
  sweep(): Promise<SweepResult>;
  stop(): Promise<void>;
}

export const DEFAULT_GIVE_UP_AFTER_MS = 24 * 3_600_000;

export function createStrandedSweeper(
  deps: ApiPool & Pick<Shared, 'config' | 'logger'>,
  options: StrandedSweeperOptions = {},
): StrandedSweeper {
  const intervalMs = options.intervalMs ?? deps.config.sweepIntervalMs;
  const graceMs = options.graceMs ?? 60_000;
  const backlogAfterMs = options.backlogAfterMs ?? 60_000;
  const pagesPerSweep = options.pagesPerSweep ?? 2_000;
  const batchSize = options.batchSize ?? 500;
  const giveUpAfterMs = options.giveUpAfterMs ?? DEFAULT_GIVE_UP_AFTER_MS;
  let nextPage = 0;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();

  const sweep = async (): Promise<SweepResult> => {
    // Jobs that used up their attempts are looked for on every sweep; the walk over the deliveries
    // table rests while the queue has a backlog (see queueIsBehind).
    let pages = { from: 0, to: 0 };
    if (!(await queueIsBehind(deps.sql, backlogAfterMs))) {
      if (nextPage >= (await deliveryPageCount(deps.sql))) nextPage = 0;
      pages = { from: nextPage, to: nextPage + pagesPerSweep };
      nextPage = pages.to;
    }
    const candidates = await findStrandedCandidates(deps.sql, { pages, graceMs, limit: batchSize });
    const result: SweepResult = { requeued: 0, failed: 0, staleJobsDeleted: 0, linesAdvanced: 0 };
    // FIFO lines whose head finished while its worker died before advancing (db/sql/fifo.ts); one
    // at a time, each its own statement. (A live worker advances its line right after recording,
    // so a line caught in between is only advanced twice, which does nothing the second time.)
    for (const endpointId of await stalledFifoLines(deps.sql, batchSize)) {
      if (await advanceFifoLine(deps.sql, endpointId)) result.linesAdvanced++;
    }
    if (candidates.staleDeadJobIds.length > 0) {
      const deleted = await deps.db.execute(deleteDeadJobsSql(candidates.staleDeadJobIds));
      result.staleJobsDeleted = deleted.count;
    }
    if (candidates.deliveryIds.length === 0) return result;

    await deps.db.transaction(async (tx) => {
      // Pending still, and not being handled by anyone else right now.
      const locked = await lockPendingDeliveries(tx, { ids: candidates.deliveryIds });
      const jobs = await jobsForNextAttempt(tx, locked);
      const requeue: typeof locked = [];
      const fail: typeof locked = [];
      const deadJobIds: string[] = [];
      const now = Date.now();
      for (const delivery of locked) {
        const found = jobs.get(delivery.id)!;
        if (found.live) continue;
        deadJobIds.push(...found.deadJobIds);
        const dueAt = Math.max(delivery.updatedAt.getTime(), delivery.nextAttemptAt?.getTime() ?? 0);
        if (found.deadJobIds.length > 0 && dueAt < now - giveUpAfterMs) {
          fail.push(delivery);
          deps.logger.warn(
            { deliveryId: delivery.id, tenantId: delivery.tenantId, jobError: found.deadJobError },
            'stranded delivery failed: its job kept failing',
          );
        } else {
          requeue.push(delivery);
        }
      }
      if (deadJobIds.length > 0) await tx.execute(deleteDeadJobsSql(deadJobIds));
      if (fail.length > 0) {
        await failDeliveries(tx, { ids: fail.map((d) => d.id), reason: givenUpReason(giveUpAfterMs) });
      }
      await addDeliverJobs(tx, { jobs: requeue.map(nextAttemptJob) });
      result.requeued = requeue.length;
      result.failed = fail.length;
    });
    if (result.requeued + result.failed + result.linesAdvanced > 0) deps.logger.warn({ ...result }, 'stranded deliveries swept');
    return result;
  };

  let busy = false;
  const tick = () => {
    if (busy) return;
    busy = true;
    running = sweep()
      .catch((error: unknown) => deps.logger.warn({ err: error }, 'stranded delivery sweep failed'))
      .finally(() => {
        busy = false;
      });
  };

  return {
    start() {
      timer ??= setInterval(tick, intervalMs);
      timer.unref();
    },
    sweep,
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      await running;
    },
  };
}

/** What the tenant reads: no internal detail (the worker's log has the job's error). */
function givenUpReason(giveUpAfterMs: number): string {
  const hours = Math.round(giveUpAfterMs / 3_600_000);
  const span = hours >= 1 ? `${hours} hour${hours === 1 ? '' : 's'}` : `${Math.round(giveUpAfterMs / 1000)} s`;
  return `given up: hookline could not make this attempt for over ${span} (an internal error; the operator's worker log has it)`;
}
