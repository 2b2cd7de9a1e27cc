// Event-type schemas enforced: upsert refuses a schema that is not valid JSON Schema; events.send
// refuses a payload that breaks its type's schema (BAD_REQUEST naming the errors, nothing written);
// sendBatch fails such an item alone; a changed schema holds in another API process as soon as the
// change's notice reaches it, and one whose notice it missed once its listener has reconnected;
// types without a schema accept any JSON, as before.
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connectDatabase, type Database } from '../db/client.js';
import type { AppDeps } from '../server/deps.js';
import { EVENT_TYPE_CHANGE_CHANNEL } from '../server/event-types/change-notice.js';
import { createApiServer } from '../server/http/server.js';
import { createLogger } from '../server/logger.js';
import { createSecretBox } from '../server/security/secret-box.js';
import { makeClient, startTestApp, type Client, type TestApp } from './helpers/app.js';
import { codeOf, errorOf } from './helpers/errors.js';

let app: TestApp;
let tenantId: string;
let endpointId: string;

const orderSchema = {
  type: 'object',
  properties: {
    orderId: { type: 'string', minLength: 1 },
    amount: { type: 'integer', minimum: 0 },
  },
  required: ['orderId', 'amount'],
  additionalProperties: false,
};

beforeAll(async () => {
  app = await startTestApp();
  await app.admin.eventTypes.upsert.mutate({ name: 'order.paid', schema: orderSchema });
  await app.admin.eventTypes.upsert.mutate({ name: 'job.completed' });
  const created = await app.admin.tenants.create.mutate({ name: 'Schemas' });
  tenantId = created.tenant.id;
  // No worker: the endpoint is never contacted; its delivery rows show what the fan-out wrote.
  ({
    endpoint: { id: endpointId },
  } = await app.client(created.apiKey).endpoints.create.mutate({ url: 'http://127.0.0.1:9/hook' }));
});
afterAll(() => app.close());

async function eventCount(type: string): Promise<number> {
  const [row] = await app.database.sql<
    { n: number }[]
  >`select count(*)::int as n from events where tenant_id = ${tenantId} and type = ${type}`;
  return row!.n;
}

describe('eventTypes.upsert', () => {
  const invalid: Array<[string, Record<string, unknown>, RegExp]> = [
    ['an unknown type name', { type: 'strnig' }, /schema is not valid JSON Schema: .*type/],
    ['a non-numeric minimum', { type: 'integer', minimum: 'zero' }, /minimum must be number/],
    ['required that is not an array', { type: 'object', required: 'id' }, /required must be array/],
    ['a reference that cannot be resolved', { $ref: '#/definitions/missing' }, /can't resolve reference/],
    ['an unsupported draft', { $schema: 'http://json-schema.org/draft-04/schema#', type: 'object' }, /draft-04.*not supported/],
  ];
  for (const [label, schema, message] of invalid) {
    it(`rejects ${label}, naming the error`, async () => {
      const error = await errorOf(app.admin.eventTypes.upsert.mutate({ name: 'schema.invalid', schema }));
      expect(error.data?.code).toBe('BAD_REQUEST');
      expect(error.message).toMatch(message);
    });
  }

  it('accepts draft-07 (default), 2019-09 and 2020-12 schemas and vendor keywords', async () => {
    for (const schema of [
      { $schema: 'http://json-schema.org/draft-07/schema#', type: 'object', 'x-owner': 'billing' },
      { $schema: 'https://json-schema.org/draft/2019-09/schema', type: 'object', unevaluatedProperties: false },
      {
        $schema: 'https://json-schema.org/draft/2020-12/schema',
        type: 'object',
        properties: { tags: { prefixItems: [{ type: 'string' }] } },
      },
      { type: 'object', properties: { at: { type: 'string', format: 'date-time' } }, examples: [{}] },
    ]) {
      expect((await app.admin.eventTypes.upsert.mutate({ name: 'schema.valid', schema })).schema).toEqual(schema);
    }
  });
});

describe('events.send', () => {
  it('accepts a payload that matches the schema', async () => {
    const { event, deliveries } = await app.admin.events.send.mutate({
      tenantId,
      type: 'order.paid',
      payload: { orderId: 'o1', amount: 5 },
    });
    expect(event.type).toBe('order.paid');
    expect(deliveries.map((d) => d.endpointId)).toEqual([endpointId]);
  });

  it('refuses a payload that breaks it: BAD_REQUEST naming every error, and nothing is written', async () => {
    const before = await eventCount('order.paid');
    const error = await errorOf(app.admin.events.send.mutate({ tenantId, type: 'order.paid', payload: { amount: 1.5, extra: true } }));
    expect(error.data?.code).toBe('BAD_REQUEST');
    expect(error.message).toContain('payload does not match the schema of event type "order.paid"');
    expect(error.message).toContain("payload must have required property 'orderId'");
    expect(error.message).toContain('payload/amount must be integer');
    expect(error.message).toContain('payload must NOT have additional properties "extra"');
    expect(await eventCount('order.paid')).toBe(before);
  });

  it('refuses it for a one-off url delivery too', async () => {
    expect(
      await codeOf(
        app.admin.events.send.mutate({ tenantId, type: 'order.paid', payload: { orderId: '', amount: 1 }, url: 'http://127.0.0.1:9/x' }),
      ),
    ).toBe('BAD_REQUEST');
  });

  it('leaves types without a schema unchanged: any JSON object', async () => {
    const { event } = await app.admin.events.send.mutate({ tenantId, type: 'job.completed', payload: { anything: [1, { goes: null }] } });
    expect(event.payload).toEqual({ anything: [1, { goes: null }] });
  });

  it('an unknown type is still the catalog error, not a schema one', async () => {
    const error = await errorOf(app.admin.events.send.mutate({ tenantId, type: 'order.unknown', payload: {} }));
    expect(error.data?.code).toBe('BAD_REQUEST');
    expect(error.message).toContain('not registered');
  });

  it('an archived type with a schema is refused as archived, not judged by its schema', async () => {
    await app.admin.eventTypes.upsert.mutate({ name: 'schema.archived', schema: { type: 'object', required: ['x'] } });
    await app.admin.eventTypes.archive.mutate({ name: 'schema.archived' });
    const error = await errorOf(app.admin.events.send.mutate({ tenantId, type: 'schema.archived', payload: {} }));
    expect(error.message).toContain('archived');
  });

  it('a schema stored before schemas were enforced that does not compile is not enforced (and sends still work)', async () => {
    // Written past upsert's check, as a release before this one could have stored it.
    await app.database.sql`insert into event_types (name, schema) values ('schema.legacy', ${JSON.stringify({ type: 'strnig' })}::jsonb)`;
    const { event } = await app.admin.events.send.mutate({ tenantId, type: 'schema.legacy', payload: { any: 'thing' } });
    expect(event.type).toBe('schema.legacy');
  });

  it('a changed schema holds from the next send; clearing it accepts anything again', async () => {
    await app.admin.eventTypes.upsert.mutate({ name: 'schema.changing', schema: { type: 'object', required: ['a'] } });
    await app.admin.events.send.mutate({ tenantId, type: 'schema.changing', payload: { a: 1 } });
    await app.admin.eventTypes.upsert.mutate({ name: 'schema.changing', schema: { type: 'object', required: ['b'] } });
    expect(await codeOf(app.admin.events.send.mutate({ tenantId, type: 'schema.changing', payload: { a: 1 } }))).toBe('BAD_REQUEST');
    await app.admin.events.send.mutate({ tenantId, type: 'schema.changing', payload: { b: 1 } });
    await app.admin.eventTypes.upsert.mutate({ name: 'schema.changing', schema: null });
    await app.admin.events.send.mutate({ tenantId, type: 'schema.changing', payload: { c: 1 } });
  });
});

describe('events.sendBatch', () => {
  it('fails a payload that breaks its schema alone, the errors flattened into its message', async () => {
    const { results } = await app.admin.events.sendBatch.mutate({
      events: [
        { tenantId, type: 'order.paid', payload: { orderId: 'b1', amount: 1 } },
        { tenantId, type: 'order.paid', payload: { orderId: 'b2', amount: -1 } },
        { tenantId, type: 'job.completed', payload: { free: 'form' } },
      ],
    });
    expect(results.map((r) => r.ok)).toEqual([true, false, true]);
    const failed = results[1]!;
    if (failed.ok) throw new Error('unreachable');
    expect(failed.error.code).toBe('BAD_REQUEST');
    expect(failed.error.message).toContain('payload/amount must be >= 0');
  });

  it('many items of one type at once (their lookups share one query): each judged on its own', async () => {
    await app.admin.eventTypes.upsert.mutate({
      name: 'schema.many',
      schema: { type: 'object', properties: { i: { type: 'integer', multipleOf: 3 } } },
    });
    const { results } = await app.admin.events.sendBatch.mutate({
      events: Array.from({ length: 60 }, (_, i) => ({ tenantId, type: 'schema.many', payload: { i } })),
    });
    expect(results.map((r) => r.ok)).toEqual(Array.from({ length: 60 }, (_, i) => i % 3 === 0));
  });
});

describe('several API processes', () => {
  let other: { server: Server; database: Database; client: Client };

  beforeAll(async () => {
    // A second API process over the same database, with its own validator cache.
    const database = connectDatabase(app.config.databaseUrl, { max: 3 });
    const deps: AppDeps = {
      config: app.config,
      db: database.db,
      sql: database.sql,
      sendSql: database.sql,
      secretBox: createSecretBox(app.config.encryptionKey),
      logger: createLogger('silent'),
    };
    const server = createApiServer(deps);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    other = { server, database, client: makeClient(url, app.config.adminKey) };
  });
  afterAll(async () => {
    other.server.closeAllConnections();
    await new Promise<void>((resolve) => other.server.close(() => resolve()));
    await other.database.close();
  });

  const sendOther = (type: string, payload: Record<string, unknown>) =>
    other.client.events.send.mutate({ tenantId, type, payload }).then(
      () => 'OK',
      (error: { data?: { code?: string } }) => error.data?.code,
    );

  /**
   * Resolves once the other process's listener connection listens (again): a listener of the
   * test's own on the same pool shares that connection and is told of each (re)connect after the
   * payload checker, which listened first.
   */
  async function watchListener(): Promise<{ reconnected: Promise<void>; unlisten(): Promise<void> }> {
    let connects = 0;
    let onReconnect = () => {};
    const reconnected = new Promise<void>((resolve) => (onReconnect = resolve));
    const { unlisten } = await other.database.sql.listen(
      EVENT_TYPE_CHANGE_CHANNEL,
      () => {},
      () => {
        if (++connects === 2) onReconnect();
      },
    );
    return { reconnected, unlisten: async () => void (await unlisten()) };
  }

  it('a schema changed through one process holds in the other once its notice arrives', async () => {
    await app.admin.eventTypes.upsert.mutate({ name: 'shared.type', schema: { type: 'object', required: ['v1'] } });
    // The other process compiles version 1 …
    await other.client.events.send.mutate({ tenantId, type: 'shared.type', payload: { v1: true } });
    expect(await codeOf(other.client.events.send.mutate({ tenantId, type: 'shared.type', payload: { v2: true } }))).toBe('BAD_REQUEST');
    // … and is told of the change made through the first (within a millisecond or so; a send
    // that races the notice is judged by version 1).
    await app.admin.eventTypes.upsert.mutate({ name: 'shared.type', schema: { type: 'object', required: ['v2'] } });
    await expect.poll(() => sendOther('shared.type', { v1: true }), { timeout: 5_000, interval: 20 }).toBe('BAD_REQUEST');
    await other.client.events.send.mutate({ tenantId, type: 'shared.type', payload: { v2: true } });
    const error = await errorOf(other.client.events.send.mutate({ tenantId, type: 'shared.type', payload: { v1: true } }));
    expect(error.message).toContain("required property 'v2'");
    // Archiving is told too: the other process no longer judges the type by its schema.
    await app.admin.eventTypes.archive.mutate({ name: 'shared.type' });
    await expect
      .poll(
        async () => (await errorOf(other.client.events.send.mutate({ tenantId, type: 'shared.type', payload: { v1: true } }))).message,
        { timeout: 5_000, interval: 20 },
      )
      .toContain('archived');
  });

  it('keeps what it holds without asking the database; after losing its listener connection it forgets it all', async () => {
    const v1 = { type: 'object', required: ['v1'] };
    const v2 = { type: 'object', required: ['v2'] };
    await app.admin.eventTypes.upsert.mutate({ name: 'shared.lost', schema: v1 });
    await other.client.events.send.mutate({ tenantId, type: 'shared.lost', payload: { v1: true } }); // starts its listener
    const listener = await watchListener();
    try {
      await other.client.events.send.mutate({ tenantId, type: 'shared.lost', payload: { v1: true } }); // held from here on
      // A change no notice announces (as if its notice had been lost): the other process goes on
      // judging by version 1, since no send asks the database.
      await app.database.sql`update event_types set schema = ${JSON.stringify(v2)}::jsonb where name = 'shared.lost'`;
      expect(await sendOther('shared.lost', { v1: true })).toBe('OK');
      // The listening backends are killed (the other process's and the first's); the driver
      // reconnects and listens again, and the other process then forgets what it held.
      const [killed] = await app.database.sql<{ n: number }[]>`
        select count(*) filter (where pg_terminate_backend(pid))::int as n from pg_stat_activity
         where datname = current_database() and query like 'listen %'`;
      expect(killed!.n).toBeGreaterThanOrEqual(1);
      await listener.reconnected;
      expect(await sendOther('shared.lost', { v1: true })).toBe('BAD_REQUEST');
      expect(await sendOther('shared.lost', { v2: true })).toBe('OK');
      // It is told of changes again.
      await app.admin.eventTypes.upsert.mutate({ name: 'shared.lost', schema: { type: 'object', required: ['v3'] } });
      await expect.poll(() => sendOther('shared.lost', { v2: true }), { timeout: 5_000, interval: 20 }).toBe('BAD_REQUEST');
      expect(await sendOther('shared.lost', { v3: true })).toBe('OK');
    } finally {
      await listener.unlisten();
    }
  });

  it('a change announced while its listener cannot reconnect (PostgreSQL refusing connections) holds once it is back', async () => {
    await app.admin.eventTypes.upsert.mutate({ name: 'shared.outage', schema: { type: 'object', required: ['before'] } });
    await other.client.events.send.mutate({ tenantId, type: 'shared.outage', payload: { before: true } });
    const listener = await watchListener();
    const server = postgres(inject('databaseServerUrl'), { max: 1, onnotice: () => {} });
    // A connection opened before the outage, to make the change while no new one is let in.
    const changer = postgres(app.config.databaseUrl, { max: 1, onnotice: () => {} });
    const database = app.testDatabase.name;
    try {
      await other.client.events.send.mutate({ tenantId, type: 'shared.outage', payload: { before: true } }); // held
      await changer`select 1`;
      await server.unsafe(`alter database "${database}" allow_connections false`);
      const [killed] = await server<{ n: number }[]>`
        select count(*) filter (where pg_terminate_backend(pid))::int as n from pg_stat_activity
         where datname = ${database} and query like 'listen %'`;
      expect(killed!.n).toBeGreaterThanOrEqual(1);
      // The change and its notice, as eventTypes.upsert makes them; no listener is there to hear it.
      await changer.begin(async (tx) => {
        await tx`update event_types set schema = ${JSON.stringify({ type: 'object', required: ['after'] })}::text::jsonb where name = 'shared.outage'`;
        await tx`select pg_notify(${EVENT_TYPE_CHANGE_CHANNEL}, 'shared.outage')`;
      });
      await new Promise((resolve) => setTimeout(resolve, 1_000)); // several refused reconnects
      await server.unsafe(`alter database "${database}" allow_connections true`);
      await listener.reconnected;
      expect(await sendOther('shared.outage', { before: true })).toBe('BAD_REQUEST');
      expect(await sendOther('shared.outage', { after: true })).toBe('OK');
    } finally {
      await server.unsafe(`alter database "${database}" allow_connections true`);
      await listener.unlisten();
      await changer.end({ timeout: 5 });
      await server.end({ timeout: 5 });
    }
  });
});
