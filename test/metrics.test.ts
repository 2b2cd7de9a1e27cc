// GET /metrics: Prometheus text from a per-process registry. The figures move as deliveries happen
// (scraped before and after a successful and a failing delivery), and the database gauges (queue
// depth, disabled endpoints) follow the database at each scrape.
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createApiServer } from '../server/http/server.js';
import { createMetrics, type Metrics } from '../server/metrics.js';
import { startWorker, type Worker } from '../server/worker/worker.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import {
  cleanupTracker,
  metricDelta,
  metricValue,
  scrape as scrapeUrl,
  sendSettled,
  settledDelivery,
  tenantWithEndpoint,
} from './helpers/fixtures.js';

let app: TestApp;
let metrics: Metrics;
let worker: Worker;
let server: Server;
let metricsUrl: string;
const cleanup = cleanupTracker();

beforeAll(async () => {
  // One retry: a failing delivery makes one `retry` attempt, then one `failed` attempt.
  app = await startTestApp({ env: { HOOKLINE_RETRY_SCHEDULE: '100ms', HOOKLINE_TIMEOUT: '2s' } });
  // Wired as `hookline start` wires it: one registry, the worker's hook, the route on the API server.
  metrics = createMetrics(app.deps, { worker: true });
  worker = await startWorker(app.deps, { onAttempt: metrics.onAttempt, pollIntervalMs: 100 });
  metrics.watchWorker(worker);
  server = createApiServer(app.deps, { routes: { '/metrics': metrics.serve } });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  metricsUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
  await app.admin.eventTypes.upsert.mutate({ name: 'job.completed' });
});
afterEach(() => cleanup.runAll());
afterAll(async () => {
  await worker.stop();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await app.close();
});

const scrape = () => scrapeUrl(metricsUrl);

describe('GET /metrics', () => {
  it('serves Prometheus text with hookline series and the Node process metrics', async () => {
    const response = await fetch(metricsUrl);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    // The first scrape of this process' registry, before any delivery: every series is there, at 0.
    for (const outcome of ['succeeded', 'retry', 'failed']) {
      expect(metricValue(text, `hookline_deliveries_total{outcome="${outcome}"}`)).toBe(0);
    }
    expect(text).toContain('# TYPE hookline_attempt_duration_seconds histogram');
    expect(metricValue(text, 'hookline_attempt_duration_seconds_count')).toBe(0);
    expect(metricValue(text, 'hookline_queue_depth{state="pending"}')).toBe(0);
    expect(metricValue(text, 'hookline_queue_depth{state="scheduled"}')).toBe(0);
    expect(metricValue(text, 'hookline_endpoints_disabled')).toBe(0);
    expect(metricValue(text, 'hookline_deliveries_in_flight')).toBe(0);
    expect(metricValue(text, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(text).toContain('nodejs_eventloop_lag_seconds');
  });

  it('counts a successful attempt and observes its duration', async () => {
    const r = await cleanup.receiver(() => ({ delayMs: 30 }));
    const { tenantId } = await tenantWithEndpoint(app, `${r.url}/ok`);
    const before = await scrape();

    const { delivery } = await sendSettled(app, { tenantId, type: 'job.completed', payload: { n: 1 } });
    expect(delivery.status).toBe('succeeded');

    const after = await scrape();
    const delta = (series: string) => metricDelta(before, after, series);
    expect(delta('hookline_deliveries_total{outcome="succeeded"}')).toBe(1);
    expect(delta('hookline_deliveries_total{outcome="retry"}')).toBe(0);
    expect(delta('hookline_deliveries_total{outcome="failed"}')).toBe(0);
    expect(delta('hookline_attempt_duration_seconds_count')).toBe(1);
    expect(delta('hookline_attempt_duration_seconds_sum')).toBeGreaterThanOrEqual(0.03);
    // At least 30 ms: not in the 10 ms and 25 ms buckets, in the 50 ms one or above.
    expect(delta('hookline_attempt_duration_seconds_bucket{le="0.025"}')).toBe(0);
    expect(delta('hookline_attempt_duration_seconds_bucket{le="+Inf"}')).toBe(1);
  });

  it('counts a failing delivery as one retry, then one failure', async () => {
    const r = await cleanup.receiver(() => ({ status: 500 }));
    const { tenantId } = await tenantWithEndpoint(app, `${r.url}/down`);
    const before = await scrape();

    const { delivery } = await sendSettled(app, { tenantId, type: 'job.completed', payload: { n: 2 } });
    expect(delivery.status).toBe('failed');

    const after = await scrape();
    const delta = (series: string) => metricDelta(before, after, series);
    expect(delta('hookline_deliveries_total{outcome="succeeded"}')).toBe(0);
    expect(delta('hookline_deliveries_total{outcome="retry"}')).toBe(1);
    expect(delta('hookline_deliveries_total{outcome="failed"}')).toBe(1);
    expect(delta('hookline_attempt_duration_seconds_count')).toBe(2);
  });

  it('shows deliveries in flight while a receiver takes its time', async () => {
    const r = await cleanup.receiver(() => ({ delayMs: 600 }));
    const { tenantId } = await tenantWithEndpoint(app, `${r.url}/slow`);
    const sent = await app.admin.events.send.mutate({ tenantId, type: 'job.completed', payload: { n: 3 } });
    await r.waitFor(1);
    expect(metricValue(await scrape(), 'hookline_deliveries_in_flight')).toBe(1);
    expect((await settledDelivery(app, sent.deliveries[0]!.id)).status).toBe('succeeded');
    expect(metricValue(await scrape(), 'hookline_deliveries_in_flight')).toBe(0);
  });

  it('reports queue depth from graphile-worker: due and free = pending, later = scheduled', async () => {
    const before = await scrape();
    // A task no worker here handles stays in the queue, as a backlog would.
    const jobs = await app.deps.sql<{ id: string }[]>`
      select (graphile_worker.add_job('metrics_test_task', '{}'::json,
                run_at := now() + (case when n <= 3 then interval '0' else interval '1 hour' end))).id
        from generate_series(1, 5) as n order by n`;
    let after = await scrape();
    const delta = (series: string) => metricDelta(before, after, series);
    expect(delta('hookline_queue_depth{state="pending"}')).toBe(3);
    expect(delta('hookline_queue_depth{state="scheduled"}')).toBe(2);

    // A job a worker holds is no longer waiting.
    await app.deps.sql`update graphile_worker._private_jobs set locked_at = now(), locked_by = 'someone'
                        where id = ${jobs[0]!.id}`;
    after = await scrape();
    expect(delta('hookline_queue_depth{state="pending"}')).toBe(2);

    await app.deps.sql`delete from graphile_worker._private_jobs where id = any(${jobs.map((j) => j.id)}::bigint[])`;
    after = await scrape();
    expect(delta('hookline_queue_depth{state="pending"}')).toBe(0);
    expect(delta('hookline_queue_depth{state="scheduled"}')).toBe(0);
  });

  it('counts disabled endpoints at each scrape', async () => {
    const before = metricValue(await scrape(), 'hookline_endpoints_disabled')!;
    const { apiKey, endpoint } = await tenantWithEndpoint(app, 'http://127.0.0.1:9/off', { disabled: true });
    expect(metricValue(await scrape(), 'hookline_endpoints_disabled')).toBe(before + 1);
    await app.client(apiKey).endpoints.update.mutate({ endpointId: endpoint.id, disabled: false });
    expect(metricValue(await scrape(), 'hookline_endpoints_disabled')).toBe(before);
  });

  it('an API-only process exposes no delivery series, and registries of two apps stay apart', async () => {
    const apiOnly = createMetrics(app.deps, { worker: false });
    const text = await apiOnly.registry.metrics();
    expect(text).not.toContain('hookline_deliveries_total');
    expect(text).not.toContain('hookline_deliveries_in_flight');
    expect(text).toContain('hookline_queue_depth');
    expect(metricValue(text, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);

    const other = createMetrics(app.deps, { worker: true });
    other.onAttempt({ outcome: 'failed', durationMs: 5 });
    const mine = await scrape();
    const theirs = await other.registry.metrics();
    expect(metricValue(theirs, 'hookline_deliveries_total{outcome="failed"}')).toBe(1);
    expect(metricValue(mine, 'hookline_deliveries_total{outcome="failed"}')).toBe(1); // the failing delivery above
  });
});
