// Real processes, as containers run them: one `hookline serve` and two `hookline worker` child
// processes against one database. 2,000 events sent through the serve process' API arrive exactly
// once each, both workers share the work (each worker's own /metrics on HOOKLINE_METRICS_PORT
// says how many it delivered), and SIGTERM stops every process with exit code 0 — a worker only
// after the delivery it has in flight is finished and recorded.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeClient, startTestApp, type Client, type TestApp } from './helpers/app.js';
import { cleanupTracker, metricValue, scrape, tenantWithEndpoint as newTenantWithEndpoint } from './helpers/fixtures.js';
import { processEnv, spawnHookline, type HooklineProcess } from './helpers/processes.js';
import { eventually } from './helpers/receiver.js';

const EVENT_COUNT = 2_000;
const SEND_CONCURRENCY = 50;

let app: TestApp;
let serve: HooklineProcess;
let workers: HooklineProcess[];
let apiUrl: string;
let workerMetricsUrls: string[];
let admin: Client;
// The processes and receivers live for the whole file (the processes outlast any one test).
const cleanup = cleanupTracker();

/** The URL a process printed on start-up, e.g. `hookline metrics on http://127.0.0.1:PORT/metrics`. */
async function printedUrl(child: HooklineProcess, prefix: string): Promise<string> {
  const pattern = new RegExp(`${prefix} (http://\\S+)`);
  await child.waitForOutput(pattern);
  return pattern.exec(child.output())![1]!;
}

beforeAll(async () => {
  // The database and configuration; its in-process API is not used, the child processes are.
  app = await startTestApp();
  const env = (extra: Record<string, string>) => processEnv(app.config, { HOOKLINE_WORKER_HEARTBEAT: '1s', ...extra });
  workers = [
    cleanup.hookline(['worker'], env({ HOOKLINE_METRICS_PORT: '0' })),
    cleanup.hookline(['worker'], env({ HOOKLINE_METRICS_PORT: '0' })),
  ];
  serve = cleanup.hookline(['serve'], env({ HOOKLINE_PORT: '0' }));
  apiUrl = (await printedUrl(serve, 'hookline API on')).replace(/\/trpc$/, '');
  workerMetricsUrls = await Promise.all(workers.map((w) => printedUrl(w, 'hookline metrics on')));
  admin = makeClient(apiUrl, app.config.adminKey);
  await admin.eventTypes.upsert.mutate({ name: 'job.completed' });
}, 60_000);

afterAll(async () => {
  await cleanup.runAll();
  await app.close();
});

/** A tenant with an endpoint, made through the serve process' API. */
async function tenantWithEndpoint(url: string): Promise<string> {
  const api = { admin, client: (apiKey: string) => makeClient(apiUrl, apiKey) };
  return (await newTenantWithEndpoint(api, url, { tenantName: 'Load Co' })).tenantId;
}

describe('serve + two workers', () => {
  it(`delivers ${EVENT_COUNT} events exactly once each, shared by both workers`, async () => {
    const receiver = await cleanup.receiver();
    const tenantId = await tenantWithEndpoint(`${receiver.url}/load`);

    const sentIds: string[] = [];
    for (let start = 0; start < EVENT_COUNT; start += SEND_CONCURRENCY) {
      const batch = Array.from({ length: Math.min(SEND_CONCURRENCY, EVENT_COUNT - start) }, (_, i) =>
        admin.events.send.mutate({ tenantId, type: 'job.completed', payload: { n: start + i } }),
      );
      for (const sent of await Promise.all(batch)) sentIds.push(sent.event.id);
    }

    await receiver.waitFor(EVENT_COUNT, { timeoutMs: 45_000 });
    await eventually(async () => {
      const [row] = await app.deps.sql<{ n: number }[]>`select count(*)::int as n from deliveries where status = 'succeeded'`;
      return row!.n === EVENT_COUNT;
    }, 15_000);
    // A moment for a duplicate to show up, if there were one.
    await new Promise((resolve) => setTimeout(resolve, 300));

    const ids = receiver.requests.map((r) => String(r.headers['webhook-id']));
    expect(ids).toHaveLength(EVENT_COUNT);
    expect(new Set(ids)).toEqual(new Set(sentIds));

    // Each worker counts the attempts it made itself: both took part, together they made them all.
    const delivered = await Promise.all(
      workerMetricsUrls.map(async (url) => metricValue(await scrape(url), 'hookline_deliveries_total{outcome="succeeded"}')!),
    );
    expect(
      delivered.every((n) => n > 0),
      `per worker: ${delivered.join(', ')}`,
    ).toBe(true);
    expect(delivered[0]! + delivered[1]!).toBe(EVENT_COUNT);

    const [alive] = await app.deps.sql<{ n: number }[]>`select count(*)::int as n from worker_heartbeats`;
    expect(alive!.n).toBe(2);

    // The API process exposes the database gauges, and no delivery series of its own.
    const apiMetrics = await scrape(`${apiUrl}/metrics`);
    expect(metricValue(apiMetrics, 'hookline_queue_depth{state="pending"}')).toBe(0);
    expect(apiMetrics).not.toContain('hookline_deliveries_total');
    // A worker's metrics listener is not an API.
    expect((await fetch(workerMetricsUrls[0]!.replace(/\/metrics$/, '/trpc/health'))).status).toBe(404);
    expect((await fetch(workerMetricsUrls[0]!.replace(/\/metrics$/, '/healthz'))).status).toBe(200);
  }, 90_000);

  it('SIGTERM: a worker finishes and records its in-flight delivery, then every process exits 0', async () => {
    const slow = await cleanup.receiver(() => ({ delayMs: 1_000 }));
    const tenantId = await tenantWithEndpoint(`${slow.url}/slow`);
    const sent = await admin.events.send.mutate({ tenantId, type: 'job.completed', payload: { last: true } });
    await slow.waitFor(1);

    // The delivery is in flight in one of the workers: stop both now.
    const started = Date.now();
    const exits = await Promise.all(workers.map((w) => w.kill('SIGTERM')));
    expect(exits).toEqual([0, 0]);
    const [row] = await app.deps.sql<{ status: string; attempt_count: number }[]>`
      select status, attempt_count from deliveries where id = ${sent.deliveries[0]!.id}`;
    expect(row).toEqual({ status: 'succeeded', attempt_count: 1 });
    expect(slow.requests).toHaveLength(1);
    // Stopped workers remove their heartbeat: nobody will mistake them for crashed ones.
    const [alive] = await app.deps.sql<{ n: number }[]>`select count(*)::int as n from worker_heartbeats`;
    expect(alive!.n).toBe(0);

    // The API process drains (its keep-alive connections from the client above included) and exits 0.
    expect(await serve.kill('SIGTERM')).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
    for (const child of [serve, ...workers]) expect(child.output()).toContain('"msg":"stopped"');
  }, 30_000);
});

describe('hookline start', () => {
  it('runs API and worker in one process: one /metrics shows both sides, SIGTERM exits 0', async () => {
    const receiver = await cleanup.receiver();
    const start = spawnHookline(['start'], processEnv(app.config, { HOOKLINE_PORT: '0' }));
    try {
      const url = (await printedUrl(start, 'hookline API on')).replace(/\/trpc$/, '');
      const client = makeClient(url, app.config.adminKey);
      const { tenant, apiKey } = await client.tenants.create.mutate({ name: 'All In One' });
      await makeClient(url, apiKey).endpoints.create.mutate({ url: `${receiver.url}/one` });
      await client.events.send.mutate({ tenantId: tenant.id, type: 'job.completed', payload: { one: 1 } });
      await receiver.waitFor(1);
      const text = await eventually(async () => {
        const scraped = await scrape(`${url}/metrics`);
        return metricValue(scraped, 'hookline_deliveries_total{outcome="succeeded"}') === 1 ? scraped : undefined;
      }, 10_000);
      expect(metricValue(text, 'hookline_deliveries_in_flight')).toBe(0);
      // Its one delivery is done and nothing else was sent: no job waits.
      expect(metricValue(text, 'hookline_queue_depth{state="pending"}')).toBe(0);
    } finally {
      expect(await start.kill('SIGTERM')).toBe(0);
    }
  }, 30_000);
});
