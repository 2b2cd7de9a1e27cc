// The fixtures the database and end-to-end tests share, written once: a tenant with an endpoint, a
// delivery waited on until its attempt is recorded, a /metrics scrape, and one tracker that closes
// what a test started (apps, receivers, workers, child processes) after it. The tenant fixtures
// here return typed HTTP clients; ./caller.ts has the same for tests that call the router in-process.
import { eq } from 'drizzle-orm';
import { expect } from 'vitest';
import { deliveries } from '../../db/schema.js';
import { startWorker, type Worker, type WorkerOptions } from '../../server/worker/worker.js';
import { startTestApp, type Client, type TestApp, type TestAppOptions } from './app.js';
import { adminCaller, type Caller } from './caller.js';
import { spawnHookline, type HooklineProcess } from './processes.js';
import { eventually, startReceiver, type Receiver } from './receiver.js';

// ---------------------------------------------------------------------------------------------
// A tenant with an endpoint

/** Where tenants are created: an in-process test app, or the API of a `hookline serve` child. */
export interface ApiClients {
  admin: Client;
  client(apiKey: string): Client;
}

export type CreatedEndpoint = Awaited<ReturnType<Client['endpoints']['create']['mutate']>>;
export type EndpointInput = Parameters<Client['endpoints']['create']['mutate']>[0];

export interface TenantWithEndpoint extends NewTenant {
  endpoint: CreatedEndpoint['endpoint'];
  /** The endpoint's signing secret (returned only at create). */
  secret: string;
}

export interface NewTenant {
  tenantId: string;
  apiKey: string;
  /** The tenant's own typed client. */
  client: Client;
}

/** A new tenant, created with the admin key, and its client. */
export async function newTenant(api: ApiClients, name = 'Fixture Co'): Promise<NewTenant> {
  const { tenant, apiKey } = await api.admin.tenants.create.mutate({ name });
  return { tenantId: tenant.id, apiKey, client: api.client(apiKey) };
}

/** A new tenant (created with the admin key) and one endpoint of its own at `url`. */
export async function tenantWithEndpoint(
  api: ApiClients,
  url: string,
  options: Omit<EndpointInput, 'url' | 'tenantId'> & { tenantName?: string } = {},
): Promise<TenantWithEndpoint> {
  const { tenantName, ...endpointInput } = options;
  const tenant = await newTenant(api, tenantName);
  const { endpoint, secret } = await tenant.client.endpoints.create.mutate({ url, ...endpointInput });
  return { ...tenant, endpoint, secret };
}

// ---------------------------------------------------------------------------------------------
// A settled delivery

export type DeliveryRow = Pick<typeof deliveries.$inferSelect, 'status' | 'attemptCount' | 'lastError'>;

/** The delivery's row now (read from the database, so any tenant's and one-off deliveries alike). */
export async function deliveryRow(app: Pick<TestApp, 'deps'>, deliveryId: string): Promise<DeliveryRow | undefined> {
  const [row] = await app.deps.db
    .select({ status: deliveries.status, attemptCount: deliveries.attemptCount, lastError: deliveries.lastError })
    .from(deliveries)
    .where(eq(deliveries.id, deliveryId));
  return row;
}

/**
 * Waits until the delivery is no longer pending — its attempt is recorded in the same transaction
 * that settles it — and, with `attemptCount`, until it has made exactly that many attempts (a
 * delivery sent again by retry or recover settles a second time).
 */
export async function settledDelivery(
  app: Pick<TestApp, 'deps'>,
  deliveryId: string,
  options: { attemptCount?: number; timeoutMs?: number } = {},
): Promise<DeliveryRow> {
  const { attemptCount, timeoutMs } = options;
  return eventually(async () => {
    const row = await deliveryRow(app, deliveryId);
    if (!row || row.status === 'pending') return undefined;
    return attemptCount === undefined || row.attemptCount === attemptCount ? row : undefined;
  }, timeoutMs);
}

/** Waits until none of the deliveries is pending. */
export async function settledDeliveries(app: Pick<TestApp, 'deps'>, deliveryIds: string[]): Promise<DeliveryRow[]> {
  const rows: DeliveryRow[] = [];
  for (const id of deliveryIds) rows.push(await settledDelivery(app, id));
  return rows;
}

export type SendInput = Parameters<Caller['events']['send']>[0];
export type SentEvent = Awaited<ReturnType<Caller['events']['send']>>;

/**
 * Sends an event as the admin key does (in-process: the test is about the delivery, not the call)
 * that fans out to exactly one delivery, and waits until it settles.
 */
export async function sendSettled(
  app: Pick<TestApp, 'deps' | 'config'>,
  input: SendInput,
): Promise<{ sent: SentEvent; deliveryId: string; delivery: DeliveryRow }> {
  const sent = await adminCaller(app).events.send(input);
  expect(sent.deliveries, 'the event fans out to one delivery').toHaveLength(1);
  const deliveryId = sent.deliveries[0]!.id;
  return { sent, deliveryId, delivery: await settledDelivery(app, deliveryId) };
}

// ---------------------------------------------------------------------------------------------
// A /metrics scrape

/** GET a Prometheus endpoint (expects 200) and return its text. */
export async function scrape(url: string): Promise<string> {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  return response.text();
}

/** The value of one sample, e.g. metricValue(text, 'hookline_deliveries_total{outcome="retry"}'); undefined if absent. */
export function metricValue(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** How much a sample moved between two scrapes (it must be in both). */
export function metricDelta(before: string, after: string, series: string): number {
  const from = metricValue(before, series);
  const to = metricValue(after, series);
  expect(from, `${series} before`).toBeTypeOf('number');
  expect(to, `${series} after`).toBeTypeOf('number');
  return to! - from!;
}

// ---------------------------------------------------------------------------------------------
// One cleanup tracker

export interface CleanupTracker {
  /** Run `cleanup` after the test (last registered, first run). */
  defer(cleanup: () => unknown): void;
  /** A test app, closed after the test. */
  app(options?: TestAppOptions): Promise<TestApp>;
  /** A loopback receiver, closed after the test. */
  receiver(...args: Parameters<typeof startReceiver>): Promise<Receiver>;
  /** A delivery worker in this process on the app's dependencies, stopped after the test. */
  worker(app: Pick<TestApp, 'deps'>, options?: WorkerOptions): Promise<Worker>;
  /** A `hookline` child process, killed (SIGKILL) after the test unless it has exited. */
  hookline(...args: Parameters<typeof spawnHookline>): HooklineProcess;
  /** Runs every deferred cleanup, newest first; register with `afterEach`. */
  runAll(): Promise<void>;
}

/**
 * What a test started, undone after it: `const cleanup = cleanupTracker(); afterEach(() => cleanup.runAll());`
 * then `await cleanup.receiver()` in a test. Cleanups run newest first, so a worker stops before
 * the app whose database it uses is dropped; every one runs even if an earlier one throws.
 */
export function cleanupTracker(): CleanupTracker {
  const cleanups: Array<() => unknown> = [];
  const defer = (cleanup: () => unknown) => void cleanups.push(cleanup);
  return {
    defer,
    async app(options) {
      const app = await startTestApp(options);
      defer(() => app.close());
      return app;
    },
    async receiver(...args) {
      const receiver = await startReceiver(...args);
      defer(() => receiver.close());
      return receiver;
    },
    async worker(app, options) {
      const worker = await startWorker(app.deps, options);
      defer(() => worker.stop());
      return worker;
    },
    hookline(...args) {
      const child = spawnHookline(...args);
      defer(() => child.kill('SIGKILL'));
      return child;
    },
    async runAll() {
      const errors: unknown[] = [];
      for (const cleanup of cleanups.splice(0).reverse()) {
        try {
          await cleanup();
        } catch (error) {
          errors.push(error);
        }
      }
      if (errors.length === 1) throw errors[0];
      if (errors.length > 1) throw new AggregateError(errors, `${errors.length} cleanups failed`);
    },
  };
}
