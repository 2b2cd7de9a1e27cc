// Endpoints over real HTTP with the typed client: CRUD, pagination, the event-type filter, custom
// header rules, disabling and re-enabling, the per-tenant limit, URL rules at registration, secret
// rotation, tenant isolation, and that no secret is ever stored in plaintext.
import { once } from 'node:events';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppRouter } from '../server/router.js';
import { startTestApp, type Client, type TestApp } from './helpers/app.js';
import { codeOf, errorOf } from './helpers/errors.js';

let app: TestApp;
let tenantId: string;
let tenantKey: string;
let tenant: Client;

const seeds = ['job.completed', 'tool_execution.succeeded', 'file.upload.completed', 'generated_video_success', 'generation.failed'];
const receiver = 'https://hooks.example.com/receive';
const missingId = 'ep_00000000000000000000000000';

beforeAll(async () => {
  app = await startTestApp();
  for (const name of seeds) await app.admin.eventTypes.upsert.mutate({ name });
  const created = await app.admin.tenants.create.mutate({ name: 'Acme Video' });
  tenantId = created.tenant.id;
  tenantKey = created.apiKey;
  tenant = app.client(tenantKey);
});
afterAll(() => app.close());

async function newTenant(target: TestApp, name: string): Promise<{ id: string; client: Client }> {
  const created = await target.admin.tenants.create.mutate({ name });
  return { id: created.tenant.id, client: target.client(created.apiKey) };
}

const endpointKeys = [
  'createdAt',
  'description',
  'disabled',
  'disabledAt',
  'disabledReason',
  'eventTypes',
  'filter',
  'headers',
  'id',
  'metadata',
  'publicKey',
  'rateLimit',
  'signing',
  'tenantId',
  'updatedAt',
  'url',
].sort();

describe('CRUD', () => {
  it('creates, reads, updates and deletes; the secret is returned only at create', async () => {
    const { endpoint, secret } = await tenant.endpoints.create.mutate({
      url: receiver,
      description: 'production receiver',
      eventTypes: ['job.completed', 'file.*'],
      headers: { 'X-Customer-Token': 'tok_123' },
      metadata: { team: 'render' },
    });
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(secret.slice(6), 'base64')).toHaveLength(32);
    expect(Object.keys(endpoint).sort()).toEqual(endpointKeys);
    expect(endpoint).toMatchObject({
      tenantId,
      url: receiver,
      description: 'production receiver',
      eventTypes: ['job.completed', 'file.*'],
      headers: { 'x-customer-token': '••••' },
      metadata: { team: 'render' },
      disabled: false,
      disabledReason: null,
      disabledAt: null,
    });
    expect(endpoint.id).toMatch(/^ep_/);
    expect(new Date(endpoint.createdAt).toISOString()).toBe(endpoint.createdAt);
    expect(JSON.stringify(endpoint)).not.toContain(secret);

    const got = await tenant.endpoints.get.query({ endpointId: endpoint.id });
    expect(got).toEqual(endpoint);
    expect(await app.admin.endpoints.get.query({ tenantId, endpointId: endpoint.id })).toEqual(endpoint);

    const updated = await tenant.endpoints.update.mutate({
      endpointId: endpoint.id,
      url: 'https://hooks.example.com/v2',
      description: null,
      eventTypes: [],
      headers: {},
      metadata: { team: 'platform' },
    });
    expect(updated).toMatchObject({
      id: endpoint.id,
      url: 'https://hooks.example.com/v2',
      description: null,
      eventTypes: [],
      headers: {},
      metadata: { team: 'platform' },
      createdAt: endpoint.createdAt,
    });
    expect(Date.parse(updated.updatedAt)).toBeGreaterThanOrEqual(Date.parse(endpoint.updatedAt));
    // Fields left out stay as they are.
    const touched = await tenant.endpoints.update.mutate({ endpointId: endpoint.id, description: 'again' });
    expect(touched).toMatchObject({ url: 'https://hooks.example.com/v2', description: 'again', metadata: { team: 'platform' } });

    expect(await tenant.endpoints.delete.mutate({ endpointId: endpoint.id })).toEqual({ deleted: true });
    expect(await codeOf(tenant.endpoints.get.query({ endpointId: endpoint.id }))).toBe('NOT_FOUND');
    expect(await codeOf(tenant.endpoints.delete.mutate({ endpointId: endpoint.id }))).toBe('NOT_FOUND');
  });

  it('stores the canonical URL', async () => {
    const { endpoint } = await tenant.endpoints.create.mutate({ url: 'https://Hooks.EXAMPLE.com:443/a/../b?x=1' });
    expect(endpoint.url).toBe('https://hooks.example.com/b?x=1');
    await tenant.endpoints.delete.mutate({ endpointId: endpoint.id });
  });

  it('unknown ids → NOT_FOUND; malformed ids → BAD_REQUEST', async () => {
    expect(await codeOf(tenant.endpoints.get.query({ endpointId: missingId }))).toBe('NOT_FOUND');
    expect(await codeOf(tenant.endpoints.update.mutate({ endpointId: missingId, description: 'x' }))).toBe('NOT_FOUND');
    expect(await codeOf(tenant.endpoints.rotateSecret.mutate({ endpointId: missingId }))).toBe('NOT_FOUND');
    expect(await codeOf(tenant.endpoints.get.query({ endpointId: "1' or 1=1" }))).toBe('BAD_REQUEST');
    expect(await codeOf(tenant.endpoints.create.mutate({ url: receiver, extra: 1 } as never))).toBe('BAD_REQUEST');
  });

  it('lists with a cursor, only the tenant’s own endpoints, oldest first', async () => {
    const { client, id } = await newTenant(app, 'Pager');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await client.endpoints.create.mutate({ url: `${receiver}/${i}` })).endpoint.id);
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await client.endpoints.list.query({ limit: 2, ...(cursor && { cursor }) });
      expect(page.items.length).toBeLessThanOrEqual(2);
      for (const e of page.items) expect(e.tenantId).toBe(id);
      seen.push(...page.items.map((e) => e.id));
      cursor = page.nextCursor ?? undefined;
      pages++;
    } while (cursor);
    expect(seen).toEqual(ids);
    expect(pages).toBe(3);
    expect((await client.endpoints.list.query()).items.map((e) => e.id)).toEqual(ids);
    expect((await app.admin.endpoints.list.query({ tenantId: id, limit: 500 })).items.map((e) => e.id)).toEqual(ids);
    expect(await codeOf(client.endpoints.list.query({ limit: 0 }))).toBe('BAD_REQUEST');
  });

  it('never contacts the URL at registration', async () => {
    let connections = 0;
    const server = net.createServer((socket) => {
      connections++;
      socket.destroy();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const port = (server.address() as AddressInfo).port;
      const { endpoint } = await tenant.endpoints.create.mutate({ url: `http://127.0.0.1:${port}/hook` });
      await tenant.endpoints.update.mutate({ endpointId: endpoint.id, url: `http://127.0.0.1:${port}/other` });
      // A name that does not resolve is fine too: no DNS lookup happens either.
      const { endpoint: unresolvable } = await tenant.endpoints.create.mutate({ url: 'https://nothing-here.example.test/hook' });
      await new Promise((r) => setTimeout(r, 50));
      expect(connections).toBe(0);
      await tenant.endpoints.delete.mutate({ endpointId: endpoint.id });
      await tenant.endpoints.delete.mutate({ endpointId: unresolvable.id });
    } finally {
      server.close();
    }
  });
});

describe('event type filter', () => {
  it('accepts exact registered names and prefix wildcards; de-duplicates', async () => {
    const { endpoint } = await tenant.endpoints.create.mutate({
      url: receiver,
      eventTypes: ['file.*', 'job.completed', 'generated_video_success', 'file.*', 'nothing.registered.yet.*'],
    });
    expect(endpoint.eventTypes).toEqual(['file.*', 'job.completed', 'generated_video_success', 'nothing.registered.yet.*']);
    await tenant.endpoints.delete.mutate({ endpointId: endpoint.id });
  });

  it('absent or empty means every type', async () => {
    const a = await tenant.endpoints.create.mutate({ url: receiver });
    const b = await tenant.endpoints.create.mutate({ url: receiver, eventTypes: [] });
    expect(a.endpoint.eventTypes).toEqual([]);
    expect(b.endpoint.eventTypes).toEqual([]);
    await tenant.endpoints.delete.mutate({ endpointId: a.endpoint.id });
    await tenant.endpoints.delete.mutate({ endpointId: b.endpoint.id });
  });

  it('an unknown exact name → BAD_REQUEST naming it', async () => {
    const error = await errorOf(tenant.endpoints.create.mutate({ url: receiver, eventTypes: ['job.completed', 'job.exploded'] }));
    expect(error.data?.code).toBe('BAD_REQUEST');
    expect(error.message).toContain('job.exploded');
    expect(error.message).not.toContain('"job.completed"');
  });

  it('an archived name → BAD_REQUEST; un-archived it is accepted again', async () => {
    await app.admin.eventTypes.upsert.mutate({ name: 'old.event' });
    await app.admin.eventTypes.archive.mutate({ name: 'old.event' });
    const error = await errorOf(tenant.endpoints.create.mutate({ url: receiver, eventTypes: ['old.event'] }));
    expect(error.data?.code).toBe('BAD_REQUEST');
    expect(error.message).toContain('old.event');
    await app.admin.eventTypes.upsert.mutate({ name: 'old.event' });
    const { endpoint } = await tenant.endpoints.create.mutate({ url: receiver, eventTypes: ['old.event'] });
    await tenant.endpoints.delete.mutate({ endpointId: endpoint.id });
  });

  it('the reserved test type cannot be subscribed to by name', async () => {
    expect(await codeOf(tenant.endpoints.create.mutate({ url: receiver, eventTypes: ['hookline.test'] }))).toBe('BAD_REQUEST');
  });

  for (const entry of ['*', '.*', 'file*', '*.completed', 'file.*.x', 'File.*', 'file..*', 'job completed', '']) {
    it(`rejects the malformed entry ${JSON.stringify(entry)}`, async () => {
      expect(await codeOf(tenant.endpoints.create.mutate({ url: receiver, eventTypes: [entry] }))).toBe('BAD_REQUEST');
    });
  }

  it('is validated on update too', async () => {
    const { endpoint } = await tenant.endpoints.create.mutate({ url: receiver });
    expect(await codeOf(tenant.endpoints.update.mutate({ endpointId: endpoint.id, eventTypes: ['job.exploded'] }))).toBe(
      'BAD_REQUEST',
    );
    const updated = await tenant.endpoints.update.mutate({ endpointId: endpoint.id, eventTypes: ['generation.failed', 'tool_execution.*'] });
    expect(updated.eventTypes).toEqual(['generation.failed', 'tool_execution.*']);
    await tenant.endpoints.delete.mutate({ endpointId: endpoint.id });
  });
});

describe('custom headers', () => {
  const forbidden = [
    'Connection',
    'keep-alive',
    'Proxy-Authorization',
    'proxy-connection',
    'TE',
    'trailer',
    'Transfer-Encoding',
    'upgrade',
    'Host',
    'content-length',
    'Content-Type',
    'USER-AGENT',
    'expect',
    'webhook-id',
    'Webhook-Signature',
    'webhook-timestamp',
    'webhook-attempt',
    'webhook-anything',
    'X-Webhook-Signature',
    'x-webhook-timestamp',
    'X-WEBHOOK-ATTEMPT',
    'x-webhook-id',
  ];
  for (const name of forbidden) {
    it(`rejects ${name}`, async () => {
      const error = await errorOf(tenant.endpoints.create.mutate({ url: receiver, headers: { [name]: 'v' } }));
      expect(error.data?.code).toBe('BAD_REQUEST');
      expect(error.message.toLowerCase()).toContain(name.toLowerCase());
    });
  }

  const badValues: Array<[string, string]> = [
    ['CR LF', 'a\r\nInjected: yes'],
    ['LF', 'a\nb'],
    ['CR', 'a\rb'],
    ['NUL', 'a\u0000b'],
    ['other control characters', 'a\u0007b'],
    ['non-ASCII', 'café'],
    ['4097 characters', 'x'.repeat(4097)],
  ];
  for (const [label, value] of badValues) {
    it(`rejects a value with ${label}`, async () => {
      const error = await errorOf(tenant.endpoints.create.mutate({ url: receiver, headers: { 'X-Token': value } }));
      expect(error.data?.code).toBe('BAD_REQUEST');
      expect(error.message).toContain('x-token');
    });
  }

  for (const name of ['bad header', 'x:y', '', 'tête', 'x\r\ny', '(paren)']) {
    it(`rejects the invalid name ${JSON.stringify(name)}`, async () => {
      expect(await codeOf(tenant.endpoints.create.mutate({ url: receiver, headers: { [name]: 'v' } }))).toBe('BAD_REQUEST');
    });
  }

  it('rejects more than 20 headers and case-insensitive duplicates', async () => {
    const many = Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`x-h${i}`, 'v']));
    expect(await codeOf(tenant.endpoints.create.mutate({ url: receiver, headers: many }))).toBe('BAD_REQUEST');
    expect(await codeOf(tenant.endpoints.create.mutate({ url: receiver, headers: { 'X-A': '1', 'x-a': '2' } }))).toBe(
      'BAD_REQUEST',
    );
  });

  it('accepts ordinary headers (20 of them, 4096-character values) and stores names lowercased', async () => {
    const { endpoint } = await tenant.endpoints.create.mutate({
      url: receiver,
      headers: { 'X-Customer-Token': 'secret-ish', Authorization: 'Bearer abc', 'X-Tabbed': 'a\tb' },
    });
    expect(endpoint.headers).toEqual({ 'x-customer-token': '••••', authorization: 'Bearer ••••', 'x-tabbed': '••••' });
    const twenty = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`X-H${i}`, 'v'.repeat(4096)]));
    const { endpoint: full } = await tenant.endpoints.create.mutate({ url: receiver, headers: twenty });
    expect(Object.keys(full.headers)).toHaveLength(20);
    expect(Object.keys(full.headers).every((k) => k === k.toLowerCase())).toBe(true);
    await tenant.endpoints.delete.mutate({ endpointId: endpoint.id });
    await tenant.endpoints.delete.mutate({ endpointId: full.id });
  });

  it('are validated on update too', async () => {
    const { endpoint } = await tenant.endpoints.create.mutate({ url: receiver });
    expect(await codeOf(tenant.endpoints.update.mutate({ endpointId: endpoint.id, headers: { Host: 'evil' } }))).toBe(
      'BAD_REQUEST',
    );
    const updated = await tenant.endpoints.update.mutate({ endpointId: endpoint.id, headers: { 'X-Customer-Token': 't' } });
    expect(updated.headers).toEqual({ 'x-customer-token': '••••' });
    await tenant.endpoints.delete.mutate({ endpointId: endpoint.id });
  });
});

describe('disabling and re-enabling', () => {
  async function health(endpointId: string) {
    const [row] = await app.deps.sql<
      Array<{ failures_since_success: number; first_failure_at: string | null; disabled: boolean; disabled_reason: string | null }>
    >`select failures_since_success, first_failure_at, disabled, disabled_reason from endpoints where id = ${endpointId}`;
    return row!;
  }

  it('an endpoint may be created disabled', async () => {
    const { endpoint } = await tenant.endpoints.create.mutate({ url: receiver, disabled: true });
    expect(endpoint.disabled).toBe(true);
    expect(endpoint.disabledReason).toBeTruthy();
    expect(endpoint.disabledAt).not.toBeNull();
    await tenant.endpoints.delete.mutate({ endpointId: endpoint.id });
  });

  it('update disables and re-enables; re-enabling resets the health columns', async () => {
    const { endpoint } = await tenant.endpoints.create.mutate({ url: receiver });
    const disabled = await tenant.endpoints.update.mutate({ endpointId: endpoint.id, disabled: true });
    expect(disabled).toMatchObject({ disabled: true });
    expect(disabled.disabledAt).not.toBeNull();

    // As the delivery engine leaves an endpoint it disabled automatically.
    await app.deps.sql`
      update endpoints
         set failures_since_success = 57, first_failure_at = now() - interval '5 days',
             disabled_reason = 'failing for 5 days', disabled_at = now()
       where id = ${endpoint.id}`;
    // Disabling again keeps the recorded reason.
    const again = await tenant.endpoints.update.mutate({ endpointId: endpoint.id, disabled: true });
    expect(again.disabledReason).toBe('failing for 5 days');

    const enabled = await tenant.endpoints.update.mutate({ endpointId: endpoint.id, disabled: false });
    expect(enabled).toMatchObject({ disabled: false, disabledReason: null, disabledAt: null });
    expect(await health(endpoint.id)).toEqual({
      failures_since_success: 0,
      first_failure_at: null,
      disabled: false,
      disabled_reason: null,
    });
    await tenant.endpoints.delete.mutate({ endpointId: endpoint.id });
  });

  it('disabled: false on an endpoint that is already enabled leaves its health counting', async () => {
    const { endpoint } = await tenant.endpoints.create.mutate({ url: receiver });
    await app.deps.sql`update endpoints set failures_since_success = 3, first_failure_at = now() where id = ${endpoint.id}`;
    await tenant.endpoints.update.mutate({ endpointId: endpoint.id, disabled: false, description: 'same state' });
    const row = await health(endpoint.id);
    expect(row.failures_since_success).toBe(3);
    expect(row.first_failure_at).not.toBeNull();
    await tenant.endpoints.delete.mutate({ endpointId: endpoint.id });
  });
});

describe('secret rotation', () => {
  async function secrets(endpointId: string) {
    const [row] = await app.deps.sql<
      Array<{ secret: string; previous_secret: string | null; previous_secret_expires_at: Date | string | null }>
    >`select secret, previous_secret, previous_secret_expires_at from endpoints where id = ${endpointId}`;
    // Drizzle sets the shared driver to hand timestamps back as strings.
    const expiresAt = row!.previous_secret_expires_at;
    return { ...row!, previous_secret_expires_at: expiresAt === null ? null : new Date(expiresAt) };
  }

  it('issues a new secret and keeps the old one, sealed, for the grace period', async () => {
    const { endpoint, secret: first } = await tenant.endpoints.create.mutate({ url: receiver });
    const stored = await secrets(endpoint.id);
    expect(stored.secret).not.toContain(first);
    expect(app.deps.secretBox.open(stored.secret)).toBe(first);
    expect(stored.previous_secret).toBeNull();

    const before = Date.now();
    const { secret: second } = await tenant.endpoints.rotateSecret.mutate({ endpointId: endpoint.id });
    expect(second).toMatch(/^whsec_/);
    expect(second).not.toBe(first);
    const rotated = await secrets(endpoint.id);
    expect(app.deps.secretBox.open(rotated.secret)).toBe(second);
    expect(rotated.previous_secret).not.toBeNull();
    expect(rotated.previous_secret).not.toContain(first);
    expect(app.deps.secretBox.open(rotated.previous_secret!)).toBe(first);
    const expires = rotated.previous_secret_expires_at!.getTime();
    expect(expires).toBeGreaterThanOrEqual(before + 86_400_000 - 1000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 86_400_000 + 1000);

    const { secret: third } = await app.admin.endpoints.rotateSecret.mutate({ tenantId, endpointId: endpoint.id, graceSeconds: 60 });
    const again = await secrets(endpoint.id);
    expect(app.deps.secretBox.open(again.previous_secret!)).toBe(second);
    expect(again.previous_secret_expires_at!.getTime()).toBeLessThanOrEqual(Date.now() + 61_000);
    expect(app.deps.secretBox.open(again.secret)).toBe(third);

    const got = await tenant.endpoints.get.query({ endpointId: endpoint.id });
    expect(JSON.stringify(got)).not.toMatch(/whsec_|v1\./);
    await tenant.endpoints.delete.mutate({ endpointId: endpoint.id });
  });

  it('grace 0 drops the old secret at once', async () => {
    const { endpoint } = await tenant.endpoints.create.mutate({ url: receiver });
    await tenant.endpoints.rotateSecret.mutate({ endpointId: endpoint.id });
    const { secret } = await tenant.endpoints.rotateSecret.mutate({ endpointId: endpoint.id, graceSeconds: 0 });
    const row = await secrets(endpoint.id);
    expect(row.previous_secret).toBeNull();
    expect(row.previous_secret_expires_at).toBeNull();
    expect(app.deps.secretBox.open(row.secret)).toBe(secret);
    await tenant.endpoints.delete.mutate({ endpointId: endpoint.id });
  });

  it('grace is 0 to 7 days', async () => {
    const { endpoint } = await tenant.endpoints.create.mutate({ url: receiver });
    expect(await codeOf(tenant.endpoints.rotateSecret.mutate({ endpointId: endpoint.id, graceSeconds: -1 }))).toBe('BAD_REQUEST');
    expect(await codeOf(tenant.endpoints.rotateSecret.mutate({ endpointId: endpoint.id, graceSeconds: 7 * 86_400 + 1 }))).toBe(
      'BAD_REQUEST',
    );
    await tenant.endpoints.rotateSecret.mutate({ endpointId: endpoint.id, graceSeconds: 7 * 86_400 });
    await tenant.endpoints.delete.mutate({ endpointId: endpoint.id });
  });
});

describe('tenant isolation', () => {
  it('another tenant’s endpoint id answers NOT_FOUND everywhere, and nothing changes', async () => {
    const { endpoint } = await tenant.endpoints.create.mutate({ url: receiver, description: 'mine' });
    const { id: otherId, client: other } = await newTenant(app, 'Intruder');
    const endpointId = endpoint.id;
    const calls: Record<string, (c: Client, extra: { tenantId?: string }) => Promise<unknown>> = {
      get: (c, x) => c.endpoints.get.query({ ...x, endpointId }),
      update: (c, x) => c.endpoints.update.mutate({ ...x, endpointId, description: 'stolen', disabled: true }),
      delete: (c, x) => c.endpoints.delete.mutate({ ...x, endpointId }),
      rotateSecret: (c, x) => c.endpoints.rotateSecret.mutate({ ...x, endpointId }),
    };
    for (const [name, call] of Object.entries(calls)) {
      expect(await codeOf(call(other, {})), `${name} with the other tenant's key`).toBe('NOT_FOUND');
      expect(await codeOf(call(app.admin, { tenantId: otherId })), `${name} as admin for the other tenant`).toBe('NOT_FOUND');
      expect(await codeOf(call(other, { tenantId })), `${name} naming the owner's tenantId`).toBe('NOT_FOUND');
    }
    expect((await other.endpoints.list.query()).items).toEqual([]);
    expect(await codeOf(other.endpoints.list.query({ tenantId }))).toBe('NOT_FOUND');
    const [row] = await app.deps.sql<Array<{ previous_secret: string | null }>>`select previous_secret from endpoints where id = ${endpointId}`;
    expect(row!.previous_secret).toBeNull();
    expect(await tenant.endpoints.get.query({ endpointId })).toEqual(endpoint);
    await tenant.endpoints.delete.mutate({ endpointId });
  });

  it('the admin key must name the tenant → BAD_REQUEST otherwise', async () => {
    const endpointId = missingId;
    expect(await codeOf(app.admin.endpoints.create.mutate({ url: receiver }))).toBe('BAD_REQUEST');
    expect(await codeOf(app.admin.endpoints.list.query({}))).toBe('BAD_REQUEST');
    expect(await codeOf(app.admin.endpoints.get.query({ endpointId }))).toBe('BAD_REQUEST');
    expect(await codeOf(app.admin.endpoints.update.mutate({ endpointId, description: 'x' }))).toBe('BAD_REQUEST');
    expect(await codeOf(app.admin.endpoints.delete.mutate({ endpointId }))).toBe('BAD_REQUEST');
    expect(await codeOf(app.admin.endpoints.rotateSecret.mutate({ endpointId }))).toBe('BAD_REQUEST');
    const { endpoint } = await app.admin.endpoints.create.mutate({ tenantId, url: receiver });
    expect(endpoint.tenantId).toBe(tenantId);
    await app.admin.endpoints.delete.mutate({ tenantId, endpointId: endpoint.id });
  });

  it('no key → UNAUTHORIZED', async () => {
    expect(await codeOf(app.client().endpoints.list.query())).toBe('UNAUTHORIZED');
    expect(await codeOf(app.client().endpoints.create.mutate({ url: receiver }))).toBe('UNAUTHORIZED');
  });
});

describe('no secret in plaintext at rest', () => {
  it('a dump of every table after creating endpoints (and rotating one) contains no returned secret and no header credential', async () => {
    const { client } = await newTenant(app, 'Dumped');
    const tenantSecret = (await app.admin.tenants.create.mutate({ name: 'Dumped 2' })).signingSecret;
    const returned: string[] = [tenantSecret];
    const credentials: string[] = [];
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const token = `tok_dump_${i}_${'z'.repeat(20)}`;
      const { endpoint, secret } = await client.endpoints.create.mutate({
        url: `${receiver}/${i}`,
        headers: { 'X-I': String(i), Authorization: `Bearer ${token}` },
      });
      ids.push(endpoint.id);
      returned.push(secret);
      credentials.push(token);
    }
    returned.push((await client.endpoints.rotateSecret.mutate({ endpointId: ids[0]! })).secret);
    returned.push((await client.endpoints.rotateSecret.mutate({ endpointId: ids[1]!, graceSeconds: 3600 })).secret);

    const tables = await app.deps.sql<Array<{ table_schema: string; table_name: string }>>`
      select table_schema, table_name from information_schema.tables
       where table_type = 'BASE TABLE' and table_schema not in ('pg_catalog', 'information_schema')`;
    expect(tables.map((t) => t.table_name)).toEqual(expect.arrayContaining(['endpoints', 'tenants', 'event_types']));
    const dump: string[] = [];
    for (const { table_schema, table_name } of tables) {
      const rows = await app.deps.sql.unsafe(`select * from "${table_schema}"."${table_name}"`);
      dump.push(JSON.stringify(rows));
    }
    const everything = dump.join('\n');
    expect(everything).toContain(ids[0]);
    for (const secret of returned) {
      expect(everything).not.toContain(secret);
      expect(everything).not.toContain(secret.slice('whsec_'.length));
      // base64url spelling of the same key, in case anything re-encoded it.
      expect(everything).not.toContain(Buffer.from(secret.slice(6), 'base64').toString('base64url'));
      expect(everything).not.toContain(Buffer.from(secret.slice(6), 'base64').toString('hex'));
    }
    for (const credential of credentials) expect(everything).not.toContain(credential);
  });
});

describe('per-tenant endpoint limit', () => {
  let limited: TestApp;
  beforeAll(async () => {
    limited = await startTestApp({ env: { HOOKLINE_MAX_ENDPOINTS_PER_TENANT: '3' } });
  });
  afterAll(() => limited.close());

  it('refuses one more than the limit with a message naming it, per tenant', async () => {
    const a = await newTenant(limited, 'A');
    const b = await newTenant(limited, 'B');
    const made: string[] = [];
    for (let i = 0; i < 3; i++) made.push((await a.client.endpoints.create.mutate({ url: receiver })).endpoint.id);
    const error = await errorOf(a.client.endpoints.create.mutate({ url: receiver }));
    expect(error.data?.code).toBe('FORBIDDEN');
    expect(error.message).toContain('at most 3 endpoints');
    expect(error.message).toContain('HOOKLINE_MAX_ENDPOINTS_PER_TENANT');
    // Another tenant has its own allowance.
    await b.client.endpoints.create.mutate({ url: receiver });
    // Deleting one frees a place.
    await a.client.endpoints.delete.mutate({ endpointId: made[0]! });
    await a.client.endpoints.create.mutate({ url: receiver });
    expect(await codeOf(a.client.endpoints.create.mutate({ url: receiver }))).toBe('FORBIDDEN');
  });

  it('holds under concurrent creation', async () => {
    const c = await newTenant(limited, 'Racer');
    const results = await Promise.allSettled(
      Array.from({ length: 12 }, () => c.client.endpoints.create.mutate({ url: receiver })),
    );
    const ok = results.filter((r) => r.status === 'fulfilled');
    expect(ok).toHaveLength(3);
    for (const r of results) {
      if (r.status === 'rejected') expect((r.reason as TRPCClientError<AppRouter>).data?.code).toBe('FORBIDDEN');
    }
    expect((await c.client.endpoints.list.query()).items).toHaveLength(3);
  });
});

describe('URL rules at registration', () => {
  let strict: TestApp;
  let client: Client;
  beforeAll(async () => {
    strict = await startTestApp({
      env: { HOOKLINE_ALLOW_HTTP: 'false', HOOKLINE_ALLOWED_NETWORKS: '', HOOKLINE_HEADER_PREFIX: 'X-Acme' },
    });
    client = (await newTenant(strict, 'Strict')).client;
  });
  afterAll(() => strict.close());

  const rejected: Array<[string, string, string]> = [
    ['http when not allowed', 'http://hooks.example.com/', 'only https URLs are allowed'],
    ['a private IP', 'https://10.0.0.1/hook', 'private address 10.0.0.1 is not allowed'],
    ['loopback', 'https://127.0.0.1/hook', 'loopback address 127.0.0.1 is not allowed'],
    ['localhost', 'https://localhost/hook', 'hostname localhost is not allowed'],
    ['credentials', 'https://user:pass@hooks.example.com/', 'URLs with credentials are not allowed'],
    ['link-local metadata address', 'https://169.254.169.254/latest/meta-data', 'link-local'],
    ['a single-label name', 'https://intranet/hook', 'single-label'],
    ['not a URL', 'hooks.example.com', 'not a valid absolute URL'],
  ];
  for (const [label, url, reason] of rejected) {
    it(`rejects ${label} with the reason`, async () => {
      const error = await errorOf(client.endpoints.create.mutate({ url }));
      expect(error.data?.code).toBe('BAD_REQUEST');
      expect(error.message).toContain(reason);
    });
  }

  it('judges the URL on update too', async () => {
    const { endpoint } = await client.endpoints.create.mutate({ url: 'https://hooks.example.com/' });
    const error = await errorOf(client.endpoints.update.mutate({ endpointId: endpoint.id, url: 'https://192.168.1.10/' }));
    expect(error.data?.code).toBe('BAD_REQUEST');
    expect(error.message).toContain('private address 192.168.1.10 is not allowed');
    expect((await client.endpoints.get.query({ endpointId: endpoint.id })).url).toBe('https://hooks.example.com/');
  });

  it('reserves the signature headers of the configured prefix, under every scheme', async () => {
    for (const name of ['X-Acme-Signature', 'x-acme-timestamp', 'X-ACME-ATTEMPT', 'x-acme-id', 'webhook-signature']) {
      expect(await codeOf(client.endpoints.create.mutate({ url: 'https://hooks.example.com/', headers: { [name]: 'v' } }))).toBe(
        'BAD_REQUEST',
      );
    }
    // The default prefix is not reserved when another one is configured.
    const { endpoint } = await client.endpoints.create.mutate({
      url: 'https://hooks.example.com/',
      headers: { 'X-Webhook-Signature': 'v' },
    });
    expect(Object.keys(endpoint.headers)).toEqual(['x-webhook-signature']);
  });
});
