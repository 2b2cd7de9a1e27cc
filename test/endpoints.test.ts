// Endpoints: CRUD, pagination, the event-type filter, custom header rules, disabling and
// re-enabling, the per-tenant limit, URL rules at registration, secret rotation, tenant isolation,
// and that no secret is ever stored in plaintext. The router is called in-process (createCaller,
// with the caller's real key); CRUD and a call without a key also go over real HTTP with the
// typed client, where the wire format and the Authorization header are what is tested.
import { once } from 'node:events';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { TRPCError } from '@trpc/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type Client, type TestApp } from './helpers/app.js';
import { adminCaller, callerFor, newTenantCaller, type Caller } from './helpers/caller.js';
import { codeOf, failureOf } from './helpers/errors.js';

let app: TestApp;
let admin: Caller;
let tenantId: string;
let tenantKey: string;
let tenant: Caller;
/** The same tenant over HTTP. */
let tenantOverHttp: Client;

const seeds = ['job.completed', 'tool_execution.succeeded', 'file.upload.completed', 'generated_video_success', 'generation.failed'];
const receiver = 'https://hooks.example.com/receive';
const missingId = 'ep_00000000000000000000000000';

beforeAll(async () => {
  app = await startTestApp();
  admin = adminCaller(app);
  for (const name of seeds) await admin.eventTypes.upsert({ name });
  const created = await admin.tenants.create({ name: 'Acme Video' });
  tenantId = created.tenant.id;
  tenantKey = created.apiKey;
  tenant = callerFor(app, tenantKey);
  tenantOverHttp = app.client(tenantKey);
});
afterAll(() => app.close());

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
  'ordering',
  'publicKey',
  'rateLimit',
  'signing',
  'tenantId',
  'updatedAt',
  'url',
].sort();

describe('CRUD', () => {
  it('creates, reads, updates and deletes over HTTP; the secret is returned only at create', async () => {
    const { endpoint, secret } = await tenantOverHttp.endpoints.create.mutate({
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

    const got = await tenantOverHttp.endpoints.get.query({ endpointId: endpoint.id });
    expect(got).toEqual(endpoint);
    expect(await app.admin.endpoints.get.query({ tenantId, endpointId: endpoint.id })).toEqual(endpoint);

    const updated = await tenantOverHttp.endpoints.update.mutate({
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
    const touched = await tenantOverHttp.endpoints.update.mutate({ endpointId: endpoint.id, description: 'again' });
    expect(touched).toMatchObject({ url: 'https://hooks.example.com/v2', description: 'again', metadata: { team: 'platform' } });

    expect(await tenantOverHttp.endpoints.delete.mutate({ endpointId: endpoint.id })).toEqual({ deleted: true });
    expect(await codeOf(tenantOverHttp.endpoints.get.query({ endpointId: endpoint.id }))).toBe('NOT_FOUND');
    expect(await codeOf(tenantOverHttp.endpoints.delete.mutate({ endpointId: endpoint.id }))).toBe('NOT_FOUND');
  });

  it('stores the canonical URL', async () => {
    const { endpoint } = await tenant.endpoints.create({ url: 'https://Hooks.EXAMPLE.com:443/a/../b?x=1' });
    expect(endpoint.url).toBe('https://hooks.example.com/b?x=1');
    await tenant.endpoints.delete({ endpointId: endpoint.id });
  });

  it('unknown ids → NOT_FOUND; malformed ids → BAD_REQUEST', async () => {
    expect(await codeOf(tenant.endpoints.get({ endpointId: missingId }))).toBe('NOT_FOUND');
    expect(await codeOf(tenant.endpoints.update({ endpointId: missingId, description: 'x' }))).toBe('NOT_FOUND');
    expect(await codeOf(tenant.endpoints.rotateSecret({ endpointId: missingId }))).toBe('NOT_FOUND');
    expect(await codeOf(tenant.endpoints.get({ endpointId: "1' or 1=1" }))).toBe('BAD_REQUEST');
    expect(await codeOf(tenant.endpoints.create({ url: receiver, extra: 1 } as never))).toBe('BAD_REQUEST');
  });

  it('lists with a cursor, only the tenant’s own endpoints, oldest first', async () => {
    const { client, tenantId: id } = await newTenantCaller(app, 'Pager');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await client.endpoints.create({ url: `${receiver}/${i}` })).endpoint.id);
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await client.endpoints.list({ limit: 2, ...(cursor && { cursor }) });
      expect(page.items.length).toBeLessThanOrEqual(2);
      for (const e of page.items) expect(e.tenantId).toBe(id);
      seen.push(...page.items.map((e) => e.id));
      cursor = page.nextCursor ?? undefined;
      pages++;
    } while (cursor);
    expect(seen).toEqual(ids);
    expect(pages).toBe(3);
    expect((await client.endpoints.list()).items.map((e) => e.id)).toEqual(ids);
    expect((await admin.endpoints.list({ tenantId: id, limit: 500 })).items.map((e) => e.id)).toEqual(ids);
    expect(await codeOf(client.endpoints.list({ limit: 0 }))).toBe('BAD_REQUEST');
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
      const { endpoint } = await tenant.endpoints.create({ url: `http://127.0.0.1:${port}/hook` });
      await tenant.endpoints.update({ endpointId: endpoint.id, url: `http://127.0.0.1:${port}/other` });
      // A name that does not resolve is fine too: no DNS lookup happens either.
      const { endpoint: unresolvable } = await tenant.endpoints.create({ url: 'https://nothing-here.example.test/hook' });
      await new Promise((r) => setTimeout(r, 50));
      expect(connections).toBe(0);
      await tenant.endpoints.delete({ endpointId: endpoint.id });
      await tenant.endpoints.delete({ endpointId: unresolvable.id });
    } finally {
      server.close();
    }
  });
});

describe('event type filter', () => {
  it('accepts exact registered names and prefix wildcards; de-duplicates', async () => {
    const { endpoint } = await tenant.endpoints.create({
      url: receiver,
      eventTypes: ['file.*', 'job.completed', 'generated_video_success', 'file.*', 'nothing.registered.yet.*'],
    });
    expect(endpoint.eventTypes).toEqual(['file.*', 'job.completed', 'generated_video_success', 'nothing.registered.yet.*']);
    await tenant.endpoints.delete({ endpointId: endpoint.id });
  });

  it('absent or empty means every type', async () => {
    const a = await tenant.endpoints.create({ url: receiver });
    const b = await tenant.endpoints.create({ url: receiver, eventTypes: [] });
    expect(a.endpoint.eventTypes).toEqual([]);
    expect(b.endpoint.eventTypes).toEqual([]);
    await tenant.endpoints.delete({ endpointId: a.endpoint.id });
    await tenant.endpoints.delete({ endpointId: b.endpoint.id });
  });

  it('an unknown exact name → BAD_REQUEST naming it', async () => {
    const error = await failureOf(tenant.endpoints.create({ url: receiver, eventTypes: ['job.completed', 'job.exploded'] }));
    expect(error.code).toBe('BAD_REQUEST');
    expect(error.message).toContain('job.exploded');
    expect(error.message).not.toContain('"job.completed"');
  });

  it('an archived name → BAD_REQUEST; un-archived it is accepted again', async () => {
    await admin.eventTypes.upsert({ name: 'old.event' });
    await admin.eventTypes.archive({ name: 'old.event' });
    const error = await failureOf(tenant.endpoints.create({ url: receiver, eventTypes: ['old.event'] }));
    expect(error.code).toBe('BAD_REQUEST');
    expect(error.message).toContain('old.event');
    await admin.eventTypes.upsert({ name: 'old.event' });
    const { endpoint } = await tenant.endpoints.create({ url: receiver, eventTypes: ['old.event'] });
    await tenant.endpoints.delete({ endpointId: endpoint.id });
  });

  it('the reserved test type cannot be subscribed to by name', async () => {
    expect(await codeOf(tenant.endpoints.create({ url: receiver, eventTypes: ['hookline.test'] }))).toBe('BAD_REQUEST');
  });

  for (const entry of ['*', '.*', 'file*', '*.completed', 'file.*.x', 'File.*', 'file..*', 'job completed', '']) {
    it(`rejects the malformed entry ${JSON.stringify(entry)}`, async () => {
      expect(await codeOf(tenant.endpoints.create({ url: receiver, eventTypes: [entry] }))).toBe('BAD_REQUEST');
    });
  }

  it('is validated on update too', async () => {
    const { endpoint } = await tenant.endpoints.create({ url: receiver });
    expect(await codeOf(tenant.endpoints.update({ endpointId: endpoint.id, eventTypes: ['job.exploded'] }))).toBe('BAD_REQUEST');
    const updated = await tenant.endpoints.update({ endpointId: endpoint.id, eventTypes: ['generation.failed', 'tool_execution.*'] });
    expect(updated.eventTypes).toEqual(['generation.failed', 'tool_execution.*']);
    await tenant.endpoints.delete({ endpointId: endpoint.id });
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
      const error = await failureOf(tenant.endpoints.create({ url: receiver, headers: { [name]: 'v' } }));
      expect(error.code).toBe('BAD_REQUEST');
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
      const error = await failureOf(tenant.endpoints.create({ url: receiver, headers: { 'X-Token': value } }));
      expect(error.code).toBe('BAD_REQUEST');
      expect(error.message).toContain('x-token');
    });
  }

  for (const name of ['bad header', 'x:y', '', 'tête', 'x\r\ny', '(paren)']) {
    it(`rejects the invalid name ${JSON.stringify(name)}`, async () => {
      expect(await codeOf(tenant.endpoints.create({ url: receiver, headers: { [name]: 'v' } }))).toBe('BAD_REQUEST');
    });
  }

  it('rejects more than 20 headers and case-insensitive duplicates', async () => {
    const many = Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`x-h${i}`, 'v']));
    expect(await codeOf(tenant.endpoints.create({ url: receiver, headers: many }))).toBe('BAD_REQUEST');
    expect(await codeOf(tenant.endpoints.create({ url: receiver, headers: { 'X-A': '1', 'x-a': '2' } }))).toBe('BAD_REQUEST');
  });

  it('accepts ordinary headers (20 of them, 4096-character values) and stores names lowercased', async () => {
    const { endpoint } = await tenant.endpoints.create({
      url: receiver,
      headers: { 'X-Customer-Token': 'secret-ish', Authorization: 'Bearer abc', 'X-Tabbed': 'a\tb' },
    });
    expect(endpoint.headers).toEqual({ 'x-customer-token': '••••', authorization: 'Bearer ••••', 'x-tabbed': '••••' });
    const twenty = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`X-H${i}`, 'v'.repeat(4096)]));
    const { endpoint: full } = await tenant.endpoints.create({ url: receiver, headers: twenty });
    expect(Object.keys(full.headers)).toHaveLength(20);
    expect(Object.keys(full.headers).every((k) => k === k.toLowerCase())).toBe(true);
    await tenant.endpoints.delete({ endpointId: endpoint.id });
    await tenant.endpoints.delete({ endpointId: full.id });
  });

  it('are validated on update too', async () => {
    const { endpoint } = await tenant.endpoints.create({ url: receiver });
    expect(await codeOf(tenant.endpoints.update({ endpointId: endpoint.id, headers: { Host: 'evil' } }))).toBe('BAD_REQUEST');
    const updated = await tenant.endpoints.update({ endpointId: endpoint.id, headers: { 'X-Customer-Token': 't' } });
    expect(updated.headers).toEqual({ 'x-customer-token': '••••' });
    await tenant.endpoints.delete({ endpointId: endpoint.id });
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
    const { endpoint } = await tenant.endpoints.create({ url: receiver, disabled: true });
    expect(endpoint).toMatchObject({ disabled: true, disabledReason: 'disabled through the API', disabledAt: endpoint.createdAt });
    await tenant.endpoints.delete({ endpointId: endpoint.id });
  });

  it('update disables and re-enables; re-enabling resets the health columns', async () => {
    const { endpoint } = await tenant.endpoints.create({ url: receiver });
    const disabled = await tenant.endpoints.update({ endpointId: endpoint.id, disabled: true });
    // Disabled by this update: its reason, and its time is the update's.
    expect(disabled).toMatchObject({ disabled: true, disabledReason: 'disabled through the API', disabledAt: disabled.updatedAt });

    // As the delivery engine leaves an endpoint it disabled automatically.
    await app.deps.sql`
      update endpoints
         set failures_since_success = 57, first_failure_at = now() - interval '5 days',
             disabled_reason = 'failing for 5 days', disabled_at = now()
       where id = ${endpoint.id}`;
    // Disabling again keeps the recorded reason.
    const again = await tenant.endpoints.update({ endpointId: endpoint.id, disabled: true });
    expect(again.disabledReason).toBe('failing for 5 days');

    const enabled = await tenant.endpoints.update({ endpointId: endpoint.id, disabled: false });
    expect(enabled).toMatchObject({ disabled: false, disabledReason: null, disabledAt: null });
    expect(await health(endpoint.id)).toEqual({
      failures_since_success: 0,
      first_failure_at: null,
      disabled: false,
      disabled_reason: null,
    });
    await tenant.endpoints.delete({ endpointId: endpoint.id });
  });

  it('disabled: false on an endpoint that is already enabled leaves its health counting', async () => {
    const { endpoint } = await tenant.endpoints.create({ url: receiver });
    const firstFailureAt = '2026-01-02T03:04:05.000Z';
    await app.deps.sql`update endpoints set failures_since_success = 3, first_failure_at = ${firstFailureAt} where id = ${endpoint.id}`;
    await tenant.endpoints.update({ endpointId: endpoint.id, disabled: false, description: 'same state' });
    const row = await health(endpoint.id);
    expect(row.failures_since_success).toBe(3);
    expect(new Date(row.first_failure_at!).toISOString()).toBe(firstFailureAt);
    await tenant.endpoints.delete({ endpointId: endpoint.id });
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
    const { endpoint, secret: first } = await tenant.endpoints.create({ url: receiver });
    const stored = await secrets(endpoint.id);
    expect(stored.secret).not.toContain(first);
    expect(app.deps.secretBox.open(stored.secret)).toBe(first);
    expect(stored.previous_secret).toBeNull();

    const before = Date.now();
    const { secret: second } = await tenant.endpoints.rotateSecret({ endpointId: endpoint.id });
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

    const { secret: third } = await admin.endpoints.rotateSecret({ tenantId, endpointId: endpoint.id, graceSeconds: 60 });
    const again = await secrets(endpoint.id);
    expect(app.deps.secretBox.open(again.previous_secret!)).toBe(second);
    expect(again.previous_secret_expires_at!.getTime()).toBeLessThanOrEqual(Date.now() + 61_000);
    expect(app.deps.secretBox.open(again.secret)).toBe(third);

    const got = await tenant.endpoints.get({ endpointId: endpoint.id });
    expect(JSON.stringify(got)).not.toMatch(/whsec_|v1\./);
    await tenant.endpoints.delete({ endpointId: endpoint.id });
  });

  it('grace 0 drops the old secret at once', async () => {
    const { endpoint } = await tenant.endpoints.create({ url: receiver });
    await tenant.endpoints.rotateSecret({ endpointId: endpoint.id });
    const { secret } = await tenant.endpoints.rotateSecret({ endpointId: endpoint.id, graceSeconds: 0 });
    const row = await secrets(endpoint.id);
    expect(row.previous_secret).toBeNull();
    expect(row.previous_secret_expires_at).toBeNull();
    expect(app.deps.secretBox.open(row.secret)).toBe(secret);
    await tenant.endpoints.delete({ endpointId: endpoint.id });
  });

  it('grace is 0 to 7 days', async () => {
    const { endpoint } = await tenant.endpoints.create({ url: receiver });
    expect(await codeOf(tenant.endpoints.rotateSecret({ endpointId: endpoint.id, graceSeconds: -1 }))).toBe('BAD_REQUEST');
    expect(await codeOf(tenant.endpoints.rotateSecret({ endpointId: endpoint.id, graceSeconds: 7 * 86_400 + 1 }))).toBe('BAD_REQUEST');
    await tenant.endpoints.rotateSecret({ endpointId: endpoint.id, graceSeconds: 7 * 86_400 });
    await tenant.endpoints.delete({ endpointId: endpoint.id });
  });
});

describe('tenant isolation', () => {
  it('another tenant’s endpoint id answers NOT_FOUND everywhere, and nothing changes', async () => {
    const { endpoint } = await tenant.endpoints.create({ url: receiver, description: 'mine' });
    const { tenantId: otherId, client: other } = await newTenantCaller(app, 'Intruder');
    const endpointId = endpoint.id;
    const calls: Record<string, (c: Caller, extra: { tenantId?: string }) => Promise<unknown>> = {
      get: (c, x) => c.endpoints.get({ ...x, endpointId }),
      update: (c, x) => c.endpoints.update({ ...x, endpointId, description: 'stolen', disabled: true }),
      delete: (c, x) => c.endpoints.delete({ ...x, endpointId }),
      rotateSecret: (c, x) => c.endpoints.rotateSecret({ ...x, endpointId }),
    };
    for (const [name, call] of Object.entries(calls)) {
      expect(await codeOf(call(other, {})), `${name} with the other tenant's key`).toBe('NOT_FOUND');
      expect(await codeOf(call(admin, { tenantId: otherId })), `${name} as admin for the other tenant`).toBe('NOT_FOUND');
      expect(await codeOf(call(other, { tenantId })), `${name} naming the owner's tenantId`).toBe('NOT_FOUND');
    }
    expect((await other.endpoints.list()).items).toEqual([]);
    expect(await codeOf(other.endpoints.list({ tenantId }))).toBe('NOT_FOUND');
    const [row] = await app.deps.sql<
      Array<{ previous_secret: string | null }>
    >`select previous_secret from endpoints where id = ${endpointId}`;
    expect(row!.previous_secret).toBeNull();
    expect(await tenant.endpoints.get({ endpointId })).toEqual(endpoint);
    await tenant.endpoints.delete({ endpointId });
  });

  it('the admin key must name the tenant → BAD_REQUEST otherwise', async () => {
    const endpointId = missingId;
    expect(await codeOf(admin.endpoints.create({ url: receiver }))).toBe('BAD_REQUEST');
    expect(await codeOf(admin.endpoints.list({}))).toBe('BAD_REQUEST');
    expect(await codeOf(admin.endpoints.get({ endpointId }))).toBe('BAD_REQUEST');
    expect(await codeOf(admin.endpoints.update({ endpointId, description: 'x' }))).toBe('BAD_REQUEST');
    expect(await codeOf(admin.endpoints.delete({ endpointId }))).toBe('BAD_REQUEST');
    expect(await codeOf(admin.endpoints.rotateSecret({ endpointId }))).toBe('BAD_REQUEST');
    const { endpoint } = await admin.endpoints.create({ tenantId, url: receiver });
    expect(endpoint.tenantId).toBe(tenantId);
    await admin.endpoints.delete({ tenantId, endpointId: endpoint.id });
  });

  it('no key → UNAUTHORIZED', async () => {
    expect(await codeOf(app.client().endpoints.list.query())).toBe('UNAUTHORIZED');
    expect(await codeOf(app.client().endpoints.create.mutate({ url: receiver }))).toBe('UNAUTHORIZED');
  });
});

describe('no secret in plaintext at rest', () => {
  it('a dump of every table after creating endpoints (and rotating one) contains no returned secret and no header credential', async () => {
    const { client } = await newTenantCaller(app, 'Dumped');
    const tenantSecret = (await admin.tenants.create({ name: 'Dumped 2' })).signingSecret;
    const returned: string[] = [tenantSecret];
    const credentials: string[] = [];
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const token = `tok_dump_${i}_${'z'.repeat(20)}`;
      const { endpoint, secret } = await client.endpoints.create({
        url: `${receiver}/${i}`,
        headers: { 'X-I': String(i), Authorization: `Bearer ${token}` },
      });
      ids.push(endpoint.id);
      returned.push(secret);
      credentials.push(token);
    }
    returned.push((await client.endpoints.rotateSecret({ endpointId: ids[0]! })).secret);
    returned.push((await client.endpoints.rotateSecret({ endpointId: ids[1]!, graceSeconds: 3600 })).secret);

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
    const a = await newTenantCaller(limited, 'A');
    const b = await newTenantCaller(limited, 'B');
    const made: string[] = [];
    for (let i = 0; i < 3; i++) made.push((await a.client.endpoints.create({ url: receiver })).endpoint.id);
    const error = await failureOf(a.client.endpoints.create({ url: receiver }));
    expect(error.code).toBe('FORBIDDEN');
    expect(error.message).toContain('at most 3 endpoints');
    expect(error.message).toContain('HOOKLINE_MAX_ENDPOINTS_PER_TENANT');
    // Another tenant has its own allowance.
    await b.client.endpoints.create({ url: receiver });
    // Deleting one frees a place.
    await a.client.endpoints.delete({ endpointId: made[0]! });
    await a.client.endpoints.create({ url: receiver });
    expect(await codeOf(a.client.endpoints.create({ url: receiver }))).toBe('FORBIDDEN');
  });

  it('holds under concurrent creation', async () => {
    const c = await newTenantCaller(limited, 'Racer');
    const results = await Promise.allSettled(Array.from({ length: 12 }, () => c.client.endpoints.create({ url: receiver })));
    const ok = results.filter((r) => r.status === 'fulfilled');
    expect(ok).toHaveLength(3);
    for (const r of results) {
      if (r.status === 'rejected') expect((r.reason as TRPCError).code).toBe('FORBIDDEN');
    }
    expect((await c.client.endpoints.list()).items).toHaveLength(3);
  });
});

describe('URL rules at registration', () => {
  let strict: TestApp;
  let client: Caller;
  beforeAll(async () => {
    strict = await startTestApp({
      env: { HOOKLINE_ALLOW_HTTP: 'false', HOOKLINE_ALLOWED_NETWORKS: '', HOOKLINE_HEADER_PREFIX: 'X-Acme' },
    });
    client = (await newTenantCaller(strict, 'Strict')).client;
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
      const error = await failureOf(client.endpoints.create({ url }));
      expect(error.code).toBe('BAD_REQUEST');
      expect(error.message).toContain(reason);
    });
  }

  it('judges the URL on update too', async () => {
    const { endpoint } = await client.endpoints.create({ url: 'https://hooks.example.com/' });
    const error = await failureOf(client.endpoints.update({ endpointId: endpoint.id, url: 'https://192.168.1.10/' }));
    expect(error.code).toBe('BAD_REQUEST');
    expect(error.message).toContain('private address 192.168.1.10 is not allowed');
    expect((await client.endpoints.get({ endpointId: endpoint.id })).url).toBe('https://hooks.example.com/');
  });

  it('reserves the signature headers of the configured prefix, under every scheme', async () => {
    for (const name of ['X-Acme-Signature', 'x-acme-timestamp', 'X-ACME-ATTEMPT', 'x-acme-id', 'webhook-signature']) {
      expect(await codeOf(client.endpoints.create({ url: 'https://hooks.example.com/', headers: { [name]: 'v' } }))).toBe('BAD_REQUEST');
    }
    // The default prefix is not reserved when another one is configured.
    const { endpoint } = await client.endpoints.create({
      url: 'https://hooks.example.com/',
      headers: { 'X-Webhook-Signature': 'v' },
    });
    expect(Object.keys(endpoint.headers)).toEqual(['x-webhook-signature']);
  });
});
