// Crash recovery. graphile-worker leaves the jobs of a hard-killed worker locked for about four
// hours. Each worker process therefore writes a heartbeat with the ids it locks jobs under, and
// every process periodically unlocks the jobs of processes whose heartbeat has stopped, so a
// delivery interrupted by SIGKILL is attempted again within a minute once any worker runs.
//
// The heartbeat has a connection of its own: on a shared pool, queries queued behind a saturated
// pool (a burst of API calls, a slow upkeep scan) would silence a live process for longer than
// `deadAfterMs`, and its peers would unlock its jobs while it is still delivering them (duplicate
// POSTs outside any crash).
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { DEFAULT_CONNECT_TIMEOUT_SECONDS, reconnectBackoffSeconds } from '../../db/client.js';
import { deleteHeartbeat, unlockJobsOfDeadWorkers, writeHeartbeat } from '../../db/sql/heartbeats.js';
import type { AppDeps } from '../deps.js';

export interface LivenessOptions {
  heartbeatMs?: number;
  /** A process silent for this long is dead. */
  deadAfterMs?: number;
}

export interface Liveness {
  processId: string;
  /** Adds a graphile-worker id (pool or worker) that this process locks jobs under. */
  addLockId(id: string): void;
  /** Ids this process no longer locks jobs under (a graphile-worker runner that stopped). */
  removeLockIds(ids: Iterable<string>): void;
  /** Writes the first heartbeat, then keeps beating and sweeping in the background. */
  start(): Promise<void>;
  /** One sweep: unlocks the jobs of dead processes; returns how many processes were found dead. */
  sweep(): Promise<number>;
  stop(): Promise<void>;
}

export function createLiveness(deps: Pick<AppDeps, 'config' | 'logger'>, options: LivenessOptions = {}): Liveness {
  const heartbeatMs = options.heartbeatMs ?? 5_000;
  const deadAfterMs = options.deadAfterMs ?? 30_000;
  const processId = `hlw_${randomBytes(8).toString('hex')}`;
  const lockIds = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let beating: Promise<unknown> = Promise.resolve();
  const sql = postgres(deps.config.databaseUrl, {
    max: 1,
    connect_timeout: DEFAULT_CONNECT_TIMEOUT_SECONDS,
    backoff: reconnectBackoffSeconds,
    onnotice: () => {},
    connection: { application_name: 'hookline-heartbeat' },
  });

  // After a database outage every process' heartbeat is old: peers get one round of beats to show
  // they are alive before this process judges anyone dead (it would otherwise unlock the jobs of
  // live workers that simply have not beaten yet since the database came back).
  let failing = false;
  let sweepAfter = 0;

  const beat = () => writeHeartbeat(sql, { workerId: processId, pid: process.pid, host: hostname(), lockIds: [...lockIds] });

  // Finding orphans scans graphile-worker's jobs table (hundreds of ms at a depth of a million), and
  // an orphan is at least `deadAfterMs` old anyway: look for them once per that period, not per beat.
  let orphansCheckedAt = 0;

  const sweep = async (): Promise<number> => {
    const startedAt = Date.now();
    const checkOrphans = startedAt - orphansCheckedAt >= deadAfterMs;
    // Jobs locked by a dead process, and jobs locked long ago by an id no live process claims, are
    // unlocked in one statement.
    const { dead } = await unlockJobsOfDeadWorkers(sql, { deadAfterMs, checkOrphans });
    if (checkOrphans) orphansCheckedAt = startedAt;
    return dead;
  };

  const tick = () => {
    beating = beat()
      .then(() => {
        if (failing) {
          failing = false;
          sweepAfter = Date.now() + 2 * heartbeatMs;
          deps.logger.info('worker heartbeat resumed');
        }
        if (Date.now() >= sweepAfter) return sweep();
      })
      .catch((error: unknown) => {
        // Logged once per outage, not once per beat.
        if (!failing) deps.logger.warn({ err: error }, 'worker heartbeat failed');
        failing = true;
      });
  };

  return {
    processId,
    addLockId(id) {
      lockIds.add(id);
    },
    removeLockIds(ids) {
      for (const id of ids) lockIds.delete(id);
    },
    async start() {
      await beat();
      timer = setInterval(tick, heartbeatMs);
      timer.unref();
    },
    sweep,
    async stop() {
      if (timer) clearInterval(timer);
      await beating;
      try {
        await deleteHeartbeat(sql, { workerId: processId });
      } finally {
        await sql.end({ timeout: 5 });
      }
    },
  };
}
