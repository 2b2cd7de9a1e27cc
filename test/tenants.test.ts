// Tenants: the auth matrix, key rotation and bad input over real HTTP with the typed client (keys
// in the Authorization header, status codes); CRUD through the router in-process (createCaller).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type Client, type TestApp } from './helpers/app.js';
import { adminCaller, callerFor, type Caller } from './helpers/caller.js';
import { codeOf, errorOf } from './helpers/errors.js';

let app: TestApp;
let admin: Caller;
let tenantKey: string;
let tenantId: string;

beforeAll(async () => {
  app = await startTestApp();
  admin = adminCaller(app);
  const created = await app.admin.tenants.create.mutate({ name: 'Acme Video' });
  tenantKey = created.apiKey;
  tenantId = created.tenant.id;
});
afterAll(() => app.close());

type Call = (c: Client) => Promise<unknown>;

describe('auth matrix', () => {
  const adminOnly: Record<string, Call> = {
    'tenants.create': (c) => c.tenants.create.mutate({ name: 'x' }),
    'tenants.list': (c) => c.tenants.list.query(),
    'tenants.get': (c) => c.tenants.get.query({ tenantId }),
    'tenants.update': (c) => c.tenants.update.mutate({ tenantId, name: 'Acme Video' }),
    'tenants.rotateApiKey': (c) => c.tenants.rotateApiKey.mutate({ tenantId: 'tnt_00000000000000000000000000' }),
    'tenants.delete': (c) => c.tenants.delete.mutate({ tenantId: 'tnt_00000000000000000000000000' }),
  };

  for (const [name, call] of Object.entries(adminOnly)) {
    it(`${name}: no key → UNAUTHORIZED, wrong key → UNAUTHORIZED, tenant key → FORBIDDEN`, async () => {
      expect(await codeOf(call(app.client()))).toBe('UNAUTHORIZED');
      expect(await codeOf(call(app.client('hk_wrongwrong_' + 'x'.repeat(43))))).toBe('UNAUTHORIZED');
      expect(await codeOf(call(app.client('not-a-key')))).toBe('UNAUTHORIZED');
      expect(await codeOf(call(app.client(tenantKey)))).toBe('FORBIDDEN');
    });
  }

  it('admin key may call every admin procedure', async () => {
    const made = await app.admin.tenants.create.mutate({ name: 'temp' });
    expect((await app.admin.tenants.get.query({ tenantId: made.tenant.id })).name).toBe('temp');
    expect((await app.admin.tenants.list.query()).items.map((t) => t.id)).toContain(made.tenant.id);
    await app.admin.tenants.rotateApiKey.mutate({ tenantId: made.tenant.id });
    await app.admin.tenants.delete.mutate({ tenantId: made.tenant.id });
  });

  it('health answers anyone', async () => {
    for (const client of [app.client(), app.client('garbage'), app.client(tenantKey), app.admin]) {
      const health = await client.health.query();
      expect(health.ok).toBe(true);
      expect(health.version).toMatch(/^\d+\.\d+\.\d+/);
    }
  });

  it('tenants.me: tenant key → itself; admin key → FORBIDDEN; none → UNAUTHORIZED', async () => {
    expect((await app.client(tenantKey).tenants.me.query()).id).toBe(tenantId);
    expect(await codeOf(app.admin.tenants.me.query())).toBe('FORBIDDEN');
    expect(await codeOf(app.client().tenants.me.query())).toBe('UNAUTHORIZED');
  });

  it('tenant-scoped procedures: admin must name the tenant, a tenant cannot name another', async () => {
    const other = await app.admin.tenants.create.mutate({ name: 'Other' });
    expect(await codeOf(app.admin.tenants.rotateSigningSecret.mutate({}))).toBe('BAD_REQUEST');
    expect(await codeOf(app.admin.tenants.rotateSigningSecret.mutate({ tenantId: 'tnt_00000000000000000000000000' }))).toBe('NOT_FOUND');
    expect(await codeOf(app.client(tenantKey).tenants.rotateSigningSecret.mutate({ tenantId: other.tenant.id }))).toBe('NOT_FOUND');
    const own = await app.client(tenantKey).tenants.rotateSigningSecret.mutate({ tenantId });
    expect(own.signingSecret).toMatch(/^whsec_/);
    const viaAdmin = await app.admin.tenants.rotateSigningSecret.mutate({ tenantId, graceSeconds: 0 });
    expect(viaAdmin.signingSecret).not.toBe(own.signingSecret);
    expect(await codeOf(app.client().tenants.rotateSigningSecret.mutate({}))).toBe('UNAUTHORIZED');
  });
});

describe('tenant CRUD', () => {
  it('creates, reads, lists with a cursor, updates and deletes', async () => {
    const created = await admin.tenants.create({
      name: 'Crud Co',
      externalId: 'crud-1',
      metadata: { plan: 'pro' },
    });
    expect(created.tenant).toMatchObject({ name: 'Crud Co', externalId: 'crud-1', metadata: { plan: 'pro' } });
    expect(created.apiKey).toMatch(/^hk_/);
    expect(created.signingSecret).toMatch(/^whsec_/);
    expect(new Date(created.tenant.createdAt).toISOString()).toBe(created.tenant.createdAt);
    expect(created.tenant).not.toHaveProperty('apiKeyHash');

    const got = await admin.tenants.get({ tenantId: created.tenant.id });
    expect(got).toEqual(created.tenant);

    const updated = await admin.tenants.update({ tenantId: created.tenant.id, name: 'Crud Inc', metadata: {} });
    expect(updated).toMatchObject({ name: 'Crud Inc', metadata: {}, externalId: 'crud-1' });

    for (let i = 0; i < 4; i++) await admin.tenants.create({ name: `page-${i}` });
    const seen = new Set<string>();
    let cursor: string | undefined;
    do {
      const page = await admin.tenants.list({ limit: 2, ...(cursor && { cursor }) });
      expect(page.items.length).toBeLessThanOrEqual(2);
      for (const t of page.items) {
        expect(seen.has(t.id)).toBe(false);
        seen.add(t.id);
      }
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    const all = await admin.tenants.list({ limit: 500 });
    expect(seen.size).toBe(all.items.length);

    const byExternal = await admin.tenants.list({ externalId: 'crud-1' });
    expect(byExternal.items.map((t) => t.id)).toEqual([created.tenant.id]);

    expect(await codeOf(admin.tenants.create({ name: 'dup', externalId: 'crud-1' }))).toBe('CONFLICT');

    await admin.tenants.delete({ tenantId: created.tenant.id });
    expect(await codeOf(admin.tenants.get({ tenantId: created.tenant.id }))).toBe('NOT_FOUND');
    expect(await codeOf(admin.tenants.delete({ tenantId: created.tenant.id }))).toBe('NOT_FOUND');
    expect(await codeOf(callerFor(app, created.apiKey).tenants.me())).toBe('UNAUTHORIZED');
  });

  it('unknown ids answer NOT_FOUND', async () => {
    const missing = 'tnt_00000000000000000000000000';
    expect(await codeOf(admin.tenants.get({ tenantId: missing }))).toBe('NOT_FOUND');
    expect(await codeOf(admin.tenants.update({ tenantId: missing, name: 'x' }))).toBe('NOT_FOUND');
    expect(await codeOf(admin.tenants.rotateApiKey({ tenantId: missing }))).toBe('NOT_FOUND');
  });
});

describe('API key rotation', () => {
  it('invalidates the old key at once', async () => {
    const { tenant, apiKey } = await app.admin.tenants.create.mutate({ name: 'Rotator' });
    expect((await app.client(apiKey).tenants.me.query()).id).toBe(tenant.id);
    const { apiKey: fresh } = await app.admin.tenants.rotateApiKey.mutate({ tenantId: tenant.id });
    expect(fresh).not.toBe(apiKey);
    expect(await codeOf(app.client(apiKey).tenants.me.query())).toBe('UNAUTHORIZED');
    expect((await app.client(fresh).tenants.me.query()).id).toBe(tenant.id);
  });

  it('stores only a hash of the key and an encrypted signing secret', async () => {
    const { tenant, apiKey, signingSecret } = await app.admin.tenants.create.mutate({ name: 'Hashed' });
    const rows = await app.deps.sql`select * from tenants where id = ${tenant.id}`;
    const dump = JSON.stringify(rows);
    expect(dump).not.toContain(apiKey);
    expect(dump).not.toContain(apiKey.slice(14));
    expect(dump).not.toContain(signingSecret);
    expect(dump).not.toContain(signingSecret.slice(6));
  });
});

describe('bad input → typed 4xx with zod issues', () => {
  // Each case, and the input path its zod issues name ('' for the input as a whole).
  const cases: Array<[string, () => Promise<unknown>, string]> = [
    ['missing name', () => app.admin.tenants.create.mutate({} as never), 'name'],
    ['wrong type', () => app.admin.tenants.create.mutate({ name: 42 } as never), 'name'],
    ['empty name', () => app.admin.tenants.create.mutate({ name: '   ' }), 'name'],
    ['oversized name', () => app.admin.tenants.create.mutate({ name: 'x'.repeat(201) }), 'name'],
    ['unknown field', () => app.admin.tenants.create.mutate({ name: 'ok', plan: 'gold' } as never), ''],
    ['NUL in name', () => app.admin.tenants.create.mutate({ name: 'a\u0000b' }), 'name'],
    ['metadata not strings', () => app.admin.tenants.create.mutate({ name: 'ok', metadata: { a: 1 } } as never), 'metadata.a'],
    ['malformed tenant id', () => app.admin.tenants.get.query({ tenantId: "1' or 1=1" }), 'tenantId'],
    ['limit out of range', () => app.admin.tenants.list.query({ limit: 100_000 }), 'limit'],
  ];
  for (const [label, call, path] of cases) {
    it(label, async () => {
      const error = await errorOf(call());
      expect(error.data?.code).toBe('BAD_REQUEST');
      expect(error.data?.httpStatus).toBe(400);
      expect(Array.isArray(error.data?.zodIssues)).toBe(true);
      expect(new Set(error.data?.zodIssues?.map((issue) => issue.path.join('.')))).toEqual(new Set([path]));
    });
  }

  it('malformed JSON over raw HTTP is a 400, not a 500', async () => {
    const res = await fetch(`${app.url}/trpc/tenants.create`, {
      method: 'POST',
      headers: { authorization: `Bearer ${app.config.adminKey}`, 'content-type': 'application/json' },
      body: '{"name":',
    });
    expect(res.status).toBe(400);
  });

  it('curl-style plain JSON works without a transformer', async () => {
    const res = await fetch(`${app.url}/trpc/tenants.create`, {
      method: 'POST',
      headers: { authorization: `Bearer ${app.config.adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'From curl' }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { result: { data: { tenant: { name: string; createdAt: string } } } };
    expect(body.result.data.tenant.name).toBe('From curl');
    expect(typeof body.result.data.tenant.createdAt).toBe('string');
  });

  it('/healthz and /readyz answer', async () => {
    expect((await fetch(`${app.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${app.url}/readyz`);
    expect(ready.status).toBe(200);
  });
});
