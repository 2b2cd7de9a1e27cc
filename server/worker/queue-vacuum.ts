// Keeps graphile-worker's jobs table lean under load. Every delivery inserts a job row, locks it
// (an update) and deletes it, so a busy queue leaves dead rows and index entries behind faster
// than autovacuum, which looks at a table at most once a minute (autovacuum_naptime), clears them.
// graphile-worker's job fetch then wades through them: measured here, 4.4 ms per fetch without
// and 2.2 ms with a vacuum every second during a throughput run. So each worker process checks
// the table's dead-row count every few seconds and vacuums it when enough have piled up.
import { jobsTableDeadRows, vacuumJobsTable } from '../../db/sql/queue-vacuum.js';
import type { ApiPool, Shared } from '../deps.js';

export interface QueueVacuumOptions {
  intervalMs?: number;
  /** Dead rows that make a vacuum worthwhile. */
  minDeadRows?: number;
}

export interface QueueVacuum {
  stop(): Promise<void>;
}

export function startQueueVacuum(deps: ApiPool & Pick<Shared, 'logger'>, options: QueueVacuumOptions = {}): QueueVacuum {
  const intervalMs = options.intervalMs ?? 2_000;
  const minDeadRows = options.minDeadRows ?? 5_000;
  let running: Promise<unknown> = Promise.resolve();

  const check = async () => {
    if ((await jobsTableDeadRows(deps.sql)) < minDeadRows) return;
    // On a connection of its own, skipped if another worker process is vacuuming already.
    await vacuumJobsTable(deps.sql);
  };

  let busy = false;
  const timer = setInterval(() => {
    if (busy) return; // a long vacuum is still running
    busy = true;
    running = check()
      .catch((error: unknown) => deps.logger.warn({ err: error }, 'queue vacuum failed'))
      .finally(() => {
        busy = false;
      });
  }, intervalMs);
  timer.unref();

  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
