// Bounded work per caller, over real HTTP against real PostgreSQL: a cap on calls per batched
// request; a statement_timeout on reads (and not on a cascading delete); list filters that examine
// a bounded number of rows however long the tenant's history (measured with EXPLAIN ANALYZE of
// the very statement the API ran); per-tenant limits that hold across API processes, with
// Retry-After; failed authentications logged without the key and answered late past an allowance.
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDatabase, type Database } from '../db/client.js';
import type { AppDeps } from '../server/deps.js';
import { listDeliveries, listEvents, STATUS_SCAN_ROWS } from '../server/events/read.js';
import { createApiServer } from '../server/http/server.js';
import { newId } from '../shared/ids.js';
import { makeClient, startTestApp, type Client, type TestApp } from './helpers/app.js';
import { codeOf } from './helpers/errors.js';
import { newTenant as newTenantOf } from './helpers/fixtures.js';

const logLines: string[] = [];
let app: TestApp;

beforeAll(async () => {
  app = await startTestApp({
    env: {
      HOOKLINE_LOG_LEVEL: 'warn',
      HOOKLINE_MAX_BATCH_CALLS: '5',
      HOOKLINE_READ_TIMEOUT: '1s',
      HOOKLINE_SEND_TEST_LIMIT: '3/1d',
      HOOKLINE_RETRY_LIMIT: '2/1d',
      HOOKLINE_RECOVER_LIMIT: '1/1d',
      HOOKLINE_AUTH_FAILURES_PER_MINUTE: '3',
      HOOKLINE_AUTH_FAILURE_DELAY: '1500ms',
    },
    logDestination: { write: (line) => void logLines.push(line) },
  });
  await app.admin.eventTypes.upsert.mutate({ name: 'job.completed' });
});
afterAll(() => app.close());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const newTenant = (name: string) => newTenantOf(app, name);

describe('batched calls', () => {
  it('up to HOOKLINE_MAX_BATCH_CALLS in one request; more is a 400 JSON error at once', async () => {
    const batch = (n: number) => `${app.url}/trpc/${Array(n).fill('health').join(',')}?batch=1&input=${encodeURIComponent('{}')}`;
    const five = await fetch(batch(5));
    expect(five.status).toBe(200);
    expect(await five.json()).toHaveLength(5);

    const six = await fetch(batch(6));
    expect(six.status).toBe(400);
    expect(JSON.stringify(await six.json())).toContain('BAD_REQUEST');

    const started = Date.now();
    const hundreds = await fetch(`${app.url}/trpc/${Array(300).fill('tenants.create').join(',')}?batch=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${app.config.adminKey}` },
      body: JSON.stringify(Object.fromEntries(Array.from({ length: 300 }, (_, i) => [i, { name: `t${i}` }]))),
    });
    expect(hundreds.status).toBe(400);
    expect(Date.now() - started).toBeLessThan(2000);
    expect((await app.admin.tenants.list.query({ limit: 100 })).items.some((t) => t.name === 't0')).toBe(false);
  });
});

describe('statement_timeout on reads', () => {
  it('a read that waits longer than HOOKLINE_READ_TIMEOUT answers TIMEOUT; a cascading delete is not cut short', async () => {
    const { tenantId, client } = await newTenant('Slow reads');
    const locker = postgres(app.testDatabase.url, { max: 1, onnotice: () => {} });
    try {
      // An exclusive lock makes any read of `events` wait, as an expensive scan would run.
      const read = await whileLocked(locker, 'events', 4000, () => codeOf(client.events.list.query({})));
      expect(read).toMatchObject({ outcome: 'TIMEOUT', answeredWhileLocked: true });
      expect(read.ms).toBeGreaterThanOrEqual(900);

      // Deleting a tenant cascades through its events: it waits out the lock, however long.
      await app.admin.events.send.mutate({ tenantId, type: 'job.completed', payload: {} });
      const removal = await whileLocked(locker, 'events', 2000, async () => {
        await app.admin.tenants.delete.mutate({ tenantId });
        return 'deleted';
      });
      expect(removal).toMatchObject({ outcome: 'deleted', answeredWhileLocked: false });
    } finally {
      await locker.end({ timeout: 5 });
    }
  });
});

/** Runs `call` while `table` is locked exclusively, for `holdMs` at most; whether it was answered meanwhile. */
async function whileLocked<T>(
  locker: postgres.Sql,
  table: string,
  holdMs: number,
  call: () => Promise<T>,
): Promise<{ outcome: T; ms: number; answeredWhileLocked: boolean }> {
  let taken!: () => void;
  const lockTaken = new Promise<void>((resolve) => (taken = resolve));
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const holding = locker.begin(async (tx) => {
    await tx.unsafe(`lock table ${table} in access exclusive mode`);
    taken();
    await released;
  });
  await lockTaken;
  const started = Date.now();
  let finishedAt = 0;
  const pending = call().finally(() => (finishedAt = Date.now()));
  const stillWaiting = Symbol('still waiting');
  const first = await Promise.race([pending, sleep(holdMs).then(() => stillWaiting)]);
  release();
  await holding;
  const outcome = await pending;
  return { outcome, ms: finishedAt - started, answeredWhileLocked: first !== stillWaiting };
}

describe('list filters on a long history', () => {
  let tenantId: string;
  let client: Client;
  const deliveryIds: string[] = [];
  const failedAt = [12_000, 24_000, 24_999];
  let traced: { deps: AppDeps; database: Database; statements: { query: string; params: unknown[] }[] };

  beforeAll(async () => {
    ({ tenantId, client } = await newTenant('Long history'));
    const { endpoint } = await client.endpoints.create.mutate({ url: 'http://127.0.0.1:9/hook' });
    // 25,000 events a day old, one delivery each: three rare `job.failed` events first, then
    // `job.completed`; three failed deliveries late in the history, the rest succeeded.
    const base = Date.now() - 86_400_000;
    for (let start = 0; start < 25_000; start += 5_000) {
      const eventIds: string[] = [];
      const ids: string[] = [];
      const types: string[] = [];
      const statuses: string[] = [];
      for (let i = start; i < start + 5_000; i++) {
        eventIds.push(newId('event', base + i * 2));
        ids.push(newId('delivery', base + i * 2));
        types.push(i < 3 ? 'job.failed' : 'job.completed');
        statuses.push(failedAt.includes(i) ? 'failed' : 'succeeded');
      }
      deliveryIds.push(...ids);
      await app.deps.sql`
        insert into events (id, tenant_id, type, payload)
        select e, ${tenantId}, t, '{}' from unnest(${eventIds}::text[], ${types}::text[]) as x(e, t)`;
      await app.deps.sql`
        insert into deliveries (id, tenant_id, event_id, endpoint_id, status, attempt_count)
        select d, ${tenantId}, e, ${endpoint.id}, s::delivery_status, 1
        from unnest(${ids}::text[], ${eventIds}::text[], ${statuses}::text[]) as x(d, e, s)`;
    }
    await app.deps.sql`analyze events`;
    await app.deps.sql`analyze deliveries`;

    // The same services over a pool that records every statement it sends.
    const statements: { query: string; params: unknown[] }[] = [];
    const database = connectDatabase(app.config.databaseUrl, {
      max: 1,
      debug: ((_connection: number, query: string, params: unknown[]) => void statements.push({ query, params })) as () => void,
    });
    traced = { deps: { ...app.deps, db: database.db, sql: database.sql }, database, statements };
  }, 120_000);
  afterAll(() => traced.database.close());

  /** Rows of `table` the statement the API ran for `call` examined (EXPLAIN ANALYZE of it). */
  async function rowsExamined(table: string, call: () => Promise<unknown>): Promise<number> {
    traced.statements.length = 0;
    await call();
    const statement = traced.statements.find((s) => /^\s*(with|select)/i.test(s.query) && s.query.includes(`from "${table}"`));
    expect(statement, 'the list statement').toBeDefined();
    const [row] = await app.deps.sql.unsafe(`explain (analyze, format json) ${statement!.query}`, statement!.params as never[]);
    const plan = (row!['QUERY PLAN'] as [{ Plan: PlanNode }])[0].Plan;
    return examined(plan, table);
  }

  it('events.list by type reads the matching events only, not the tenant history', async () => {
    const page = await client.events.list.query({ type: 'job.failed', limit: 10 });
    expect(page.items.map((e) => e.type)).toEqual(['job.failed', 'job.failed', 'job.failed']);
    expect(page.nextCursor).toBeNull();
    const rows = await rowsExamined('events', () => listEvents(traced.deps, tenantId, { type: 'job.failed', limit: 10 }));
    expect(rows).toBeLessThan(100);
  });

  it('deliveries.list by status examines at most STATUS_SCAN_ROWS per page; the walk finds every match', async () => {
    const pages: { items: string[]; nextCursor: string | null }[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.deliveries.list.query({ status: 'failed', limit: 10, ...(cursor && { cursor }) });
      pages.push({ items: page.items.map((d) => d.id), nextCursor: page.nextCursor });
      cursor = page.nextCursor ?? undefined;
    } while (cursor && pages.length < 10);
    // The first 10,000 deliveries hold no failed one: a page that says so, and where to go on.
    expect(pages[0]).toEqual({ items: [], nextCursor: deliveryIds[STATUS_SCAN_ROWS - 1] });
    expect(pages.flatMap((p) => p.items)).toEqual(failedAt.map((i) => deliveryIds[i]));
    expect(pages.at(-1)!.nextCursor).toBeNull();
    expect(pages).toHaveLength(3);

    const rows = await rowsExamined('deliveries', () => listDeliveries(traced.deps, tenantId, { status: 'failed', limit: 10 }));
    expect(rows).toBeLessThanOrEqual(STATUS_SCAN_ROWS);
  });
});

interface PlanNode {
  'Relation Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Rows Removed by Filter'?: number;
  Plans?: PlanNode[];
}

/** Rows of `table` the plan read: those it returned plus those its filters threw away. */
function examined(node: PlanNode, table: string): number {
  const own =
    node['Relation Name'] === table
      ? ((node['Actual Rows'] ?? 0) + (node['Rows Removed by Filter'] ?? 0)) * (node['Actual Loops'] ?? 1)
      : 0;
  return own + (node.Plans ?? []).reduce((sum, child) => sum + examined(child, table), 0);
}

describe('per-tenant limits across API processes', () => {
  let second: Server;
  let secondDatabase: Database;
  let secondUrl: string;

  beforeAll(async () => {
    // A second API process: its own server and pool over the same database.
    secondDatabase = connectDatabase(app.config.databaseUrl, { max: 2 });
    second = createApiServer({ ...app.deps, db: secondDatabase.db, sql: secondDatabase.sql });
    second.listen(0, '127.0.0.1');
    await once(second, 'listening');
    secondUrl = `http://127.0.0.1:${(second.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    second.closeAllConnections();
    await new Promise((resolve) => second.close(resolve));
    await secondDatabase.close();
  });

  it('endpoints.sendTest: the limit counts calls to every process; over it TOO_MANY_REQUESTS with Retry-After', async () => {
    const { apiKey, client } = await newTenant('Tester');
    const { endpoint } = await client.endpoints.create.mutate({ url: 'http://127.0.0.1:9/hook' });
    const viaSecond = makeClient(secondUrl, apiKey);
    await client.endpoints.sendTest.mutate({ endpointId: endpoint.id });
    await viaSecond.endpoints.sendTest.mutate({ endpointId: endpoint.id });
    await client.endpoints.sendTest.mutate({ endpointId: endpoint.id });
    expect(await codeOf(viaSecond.endpoints.sendTest.mutate({ endpointId: endpoint.id }))).toBe('TOO_MANY_REQUESTS');

    const res = await fetch(`${app.url}/trpc/endpoints.sendTest`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
      body: JSON.stringify({ endpointId: endpoint.id }),
    });
    expect(res.status).toBe(429);
    const retryAfter = Number(res.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(86_400);
    const body = (await res.json()) as { error: { message: string; data: { code: string } } };
    expect(body.error.data.code).toBe('TOO_MANY_REQUESTS');
    expect(body.error.message).toContain('HOOKLINE_SEND_TEST_LIMIT');

    // Another tenant has its own allowance.
    const other = await newTenant('Other tester');
    const { endpoint: theirs } = await other.client.endpoints.create.mutate({ url: 'http://127.0.0.1:9/hook' });
    await other.client.endpoints.sendTest.mutate({ endpointId: theirs.id });
  });

  it('deliveries.retry and endpoints.recover are limited the same way', async () => {
    const { apiKey, client } = await newTenant('Retrier');
    const viaSecond = makeClient(secondUrl, apiKey);
    const missing = 'dlv_00000000000000000000000000';
    expect(await codeOf(client.deliveries.retry.mutate({ deliveryId: missing }))).toBe('NOT_FOUND');
    expect(await codeOf(viaSecond.deliveries.retry.mutate({ deliveryId: missing }))).toBe('NOT_FOUND');
    expect(await codeOf(client.deliveries.retry.mutate({ deliveryId: missing }))).toBe('TOO_MANY_REQUESTS');

    const { endpoint } = await client.endpoints.create.mutate({ url: 'http://127.0.0.1:9/hook' });
    const since = new Date(Date.now() - 3600_000).toISOString();
    expect(await viaSecond.endpoints.recover.mutate({ endpointId: endpoint.id, since })).toEqual({ requeued: 0 });
    expect(await codeOf(client.endpoints.recover.mutate({ endpointId: endpoint.id, since }))).toBe('TOO_MANY_REQUESTS');
  });
});

describe('failed authentication', () => {
  it('is logged without the key, and past the allowance answered late; valid keys are never delayed', async () => {
    const { tenantId, apiKey } = await newTenant('Guessed');
    const unknownKey = `hk_ZZZZZZZZZZ_${'Z'.repeat(43)}`;
    const wrongSecret = `${apiKey.slice(0, -4)}${apiKey.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
    const timed = async (key: string) => {
      const started = Date.now();
      const code = await codeOf(makeClient(app.url, key).tenants.me.query());
      return { code, ms: Date.now() - started };
    };
    logLines.length = 0;

    // Within the allowance (3 a minute): answered at once.
    for (const key of [unknownKey, wrongSecret, 'not-a-key']) {
      const { code, ms } = await timed(key);
      expect(code).toBe('UNAUTHORIZED');
      expect(ms).toBeLessThan(1000);
    }
    // Past it: answered late, still UNAUTHORIZED, while the valid key of the same address is not held back.
    const late = timed(unknownKey);
    const validStarted = Date.now();
    expect((await makeClient(app.url, apiKey).tenants.me.query()).id).toBe(tenantId);
    const validMs = Date.now() - validStarted;
    expect(await late).toMatchObject({ code: 'UNAUTHORIZED' });
    expect((await late).ms).toBeGreaterThanOrEqual(1450);
    expect(validMs).toBeLessThan(1000);

    const logged = logLines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const failures = logged.filter((l) => l.msg === 'authentication failed');
    expect(failures.map((l) => l.reason)).toEqual(['unknown key', 'wrong key', 'malformed key']);
    expect(failures.every((l) => l.source === '127.0.0.1')).toBe(true);
    expect(failures[1]).toMatchObject({ tenantId });
    expect(logged.filter((l) => String(l.msg).startsWith('authentication failures over the limit'))).toHaveLength(1);
    const text = logLines.join('\n');
    for (const key of [unknownKey, wrongSecret, apiKey]) expect(text).not.toContain(key);
  });
});
