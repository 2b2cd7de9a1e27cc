// Prometheus metrics (GET /metrics). One registry per process (never prom-client's global one, so
// tests can run several apps in one process). Each process exposes what it knows:
//   - every process: Node process metrics, and two database-wide gauges read on scrape
//     (queue depth, disabled endpoints) — the same figure from every process, so aggregate them
//     with max(), not sum();
//   - a process running the worker: attempt outcomes, attempt durations, deliveries in flight.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { readDatabaseFigures, type DatabaseFigures } from '../db/sql/metrics.js';
import type { Outcome } from './delivery/outcome.js';
import type { AppDeps } from './deps.js';

/**
 * Queue depth is an exact count up to this many jobs and reads "at least this many" beyond: the
 * count walks graphile-worker's partial index of available jobs, so its cost is bounded too.
 */
export const QUEUE_DEPTH_CAP = 100_000;
const SCRAPE_QUERY_TIMEOUT_MS = 2_000;

export interface Metrics {
  registry: Registry;
  /** startWorker's `onAttempt` hook (a no-op unless created with `worker: true`). */
  onAttempt(info: { outcome: Outcome['kind']; durationMs: number }): void;
  /** Reports this worker's deliveries in flight from now on. */
  watchWorker(worker: { fairness: { inFlight(): number } }): void;
  /** The GET /metrics route. */
  serve(req: IncomingMessage, res: ServerResponse): Promise<void>;
}

export function createMetrics(deps: Pick<AppDeps, 'sql' | 'logger'>, options: { worker: boolean }): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  // Both database gauges come from one statement; a scrape collects them concurrently, so they
  // share the query in flight.
  let reading: Promise<DatabaseFigures | undefined> | undefined;
  const readDatabase = () => {
    reading ??= readFiguresInTime(deps).finally(() => {
      reading = undefined;
    });
    return reading;
  };

  new Gauge({
    name: 'hookline_queue_depth',
    help: `Delivery queue jobs: pending = due and not taken by a worker, scheduled = due later (counts stop at ${QUEUE_DEPTH_CAP})`,
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      // Unreadable (database down): NaN ("unknown") rather than a stale or a made-up figure.
      const figures = await readDatabase();
      this.set({ state: 'pending' }, figures?.pending ?? Number.NaN);
      this.set({ state: 'scheduled' }, figures?.scheduled ?? Number.NaN);
    },
  });
  new Gauge({
    name: 'hookline_endpoints_disabled',
    help: 'Endpoints currently disabled (by their tenant, or automatically after failing)',
    registers: [registry],
    async collect() {
      this.set((await readDatabase())?.disabledEndpoints ?? Number.NaN);
    },
  });

  if (!options.worker) {
    return { registry, onAttempt: () => {}, watchWorker: () => {}, serve: (_req, res) => serveRegistry(registry, res) };
  }

  const deliveries = new Counter({
    name: 'hookline_deliveries_total',
    help: 'Delivery attempts made by this process, by outcome (succeeded, retry = failed and retried later, failed = given up)',
    labelNames: ['outcome'],
    registers: [registry],
  });
  // Present from the start at 0, so rate() sees the first increase.
  for (const outcome of ['succeeded', 'retry', 'failed'] as const) deliveries.inc({ outcome }, 0);
  const duration = new Histogram({
    name: 'hookline_attempt_duration_seconds',
    help: 'Duration of delivery attempts made by this process (connect to end of response body)',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  let inFlight: () => number = () => 0;
  new Gauge({
    name: 'hookline_deliveries_in_flight',
    help: 'Deliveries this worker process is making right now',
    registers: [registry],
    collect() {
      this.set(inFlight());
    },
  });

  return {
    registry,
    onAttempt({ outcome, durationMs }) {
      deliveries.inc({ outcome });
      duration.observe(durationMs / 1000);
    },
    watchWorker(worker) {
      inFlight = () => worker.fairness.inFlight();
    },
    serve: (_req, res) => serveRegistry(registry, res),
  };
}

/** The figures of `readDatabaseFigures`, or undefined (logged) when the database does not answer in time. */
async function readFiguresInTime(deps: Pick<AppDeps, 'sql' | 'logger'>): Promise<DatabaseFigures | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      readDatabaseFigures(deps.sql, { cap: QUEUE_DEPTH_CAP }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('database timeout')), SCRAPE_QUERY_TIMEOUT_MS);
      }),
    ]);
  } catch (error) {
    deps.logger.warn({ err: error }, 'metrics: database gauges unavailable');
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}

async function serveRegistry(registry: Registry, res: ServerResponse): Promise<void> {
  const body = await registry.metrics();
  res.writeHead(200, { 'content-type': registry.contentType });
  res.end(body);
}
