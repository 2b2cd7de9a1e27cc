// Tenant portal sessions: a third kind of bearer key, confined to one tenant. Checked over raw HTTP
// on EVERY procedure of the router (enumerated, so a new procedure is judged the day it is added).
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appRouter } from '../server/router.js';
import { startTestApp, type TestApp } from './helpers/app.js';

let app: TestApp;
let tenantA: { id: string; apiKey: string };
let tenantB: { id: string; apiKey: string };
let endpointOfB: string;
let session: string;
let readOnlySession: string;

// What a portal session may do. A procedure missing here fails the first test.
//   public    — anyone;
//   own       — answers, about the session's own tenant only;
//   scoped    — tenant-scoped: acts on the session's tenant, naming another one is NOT_FOUND;
//   forbidden — admin procedures and portal.*: FORBIDDEN.
type SessionAccess = 'public' | 'own' | 'scoped' | 'forbidden';
const sessionAccess: Record<string, SessionAccess> = {
  health: 'public',
  'tenants.create': 'forbidden',
  'tenants.list': 'forbidden',
  'tenants.get': 'forbidden',
  'tenants.update': 'forbidden',
  'tenants.delete': 'forbidden',
  'tenants.rotateApiKey': 'forbidden',
  'tenants.me': 'own',
  'tenants.rotateSigningSecret': 'scoped',
  'eventTypes.upsert': 'forbidden',
  'eventTypes.archive': 'forbidden',
  'eventTypes.list': 'own',
  'endpoints.create': 'scoped',
  'endpoints.list': 'scoped',
  'endpoints.get': 'scoped',
  'endpoints.update': 'scoped',
  'endpoints.delete': 'scoped',
  'endpoints.rotateSecret': 'scoped',
  'endpoints.sendTest': 'scoped',
  'endpoints.recover': 'scoped',
  'endpoints.stats': 'scoped',
  'events.send': 'forbidden',
  'events.sendBatch': 'forbidden',
  'events.list': 'scoped',
  'events.get': 'scoped',
  'deliveries.list': 'scoped',
  'deliveries.get': 'scoped',
  'deliveries.retry': 'scoped',
  'portal.createSession': 'forbidden',
  'portal.revokeSession': 'forbidden',
};

const procedures = Object.entries(appRouter._def.procedures as unknown as Record<string, { _def: { type: string } }>).map(
  ([path, procedure]) => ({ path, type: procedure._def.type }),
);

interface Answer {
  status: number;
  code: string | undefined;
  message: string | undefined;
  data: any;
}

async function call(path: string, type: string, key: string | undefined, input: unknown): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (key) headers.authorization = `Bearer ${key}`;
  const res =
    type === 'query'
      ? await fetch(`${app.url}/trpc/${path}?input=${encodeURIComponent(JSON.stringify(input))}`, { headers })
      : await fetch(`${app.url}/trpc/${path}`, { method: 'POST', headers, body: JSON.stringify(input) });
  const body = (await res.json()) as { error?: { message?: string; data?: { code?: string } }; result?: { data?: unknown } };
  return { status: res.status, code: body.error?.data?.code, message: body.error?.message, data: body.result?.data };
}

beforeAll(async () => {
  app = await startTestApp();
  const a = await app.admin.tenants.create.mutate({ name: 'Portal A' });
  const b = await app.admin.tenants.create.mutate({ name: 'Portal B' });
  tenantA = { id: a.tenant.id, apiKey: a.apiKey };
  tenantB = { id: b.tenant.id, apiKey: b.apiKey };
  await app.client(tenantA.apiKey).endpoints.create.mutate({ url: 'http://127.0.0.1:9/a' });
  endpointOfB = (await app.client(tenantB.apiKey).endpoints.create.mutate({ url: 'http://127.0.0.1:9/b' })).endpoint.id;
  session = (await app.admin.portal.createSession.mutate({ tenantId: tenantA.id })).token;
  readOnlySession = (await app.client(tenantA.apiKey).portal.createSession.mutate({ readOnly: true })).token;
});
afterAll(() => app.close());

describe('a portal session on every procedure', () => {
  it('is judged for every procedure (and the table lists nothing extra)', () => {
    expect(procedures.map((p) => p.path).sort()).toEqual(Object.keys(sessionAccess).sort());
  });

  for (const { path, type } of procedures) {
    it(`${path}: never another tenant's; FORBIDDEN where it has no business`, async () => {
      const rule = sessionAccess[path]!;
      // Naming the other tenant alone, then with B's endpoint where an endpoint is asked for.
      const otherTenant = await call(path, type, session, { tenantId: tenantB.id });
      const other = await call(path, type, session, { tenantId: tenantB.id, endpointId: endpointOfB });
      const plain = await call(path, type, session, {});
      expect(otherTenant.status).toBeLessThan(500);
      expect(other.status).toBeLessThan(500);
      expect(plain.status).toBeLessThan(500);
      switch (rule) {
        case 'public':
          expect(plain.status).toBe(200);
          break;
        case 'own':
          expect(plain.status).toBe(200);
          if (path === 'tenants.me') expect(plain.data.id).toBe(tenantA.id);
          break;
        case 'scoped':
          expect(otherTenant.code).toBe('NOT_FOUND');
          expect(other.code).toBe('NOT_FOUND');
          expect(['UNAUTHORIZED', 'FORBIDDEN']).not.toContain(plain.code);
          break;
        case 'forbidden':
          expect(otherTenant.code).toBe('FORBIDDEN');
          expect(other.code).toBe('FORBIDDEN');
          expect(plain.code).toBe('FORBIDDEN');
          break;
      }
    });
  }

  it("sees only its own tenant's endpoints, and B's endpoint is NOT_FOUND even by id", async () => {
    const list = await call('endpoints.list', 'query', session, {});
    expect(list.data.items.map((e: { url: string }) => e.url)).toEqual(['http://127.0.0.1:9/a']);
    expect((await call('endpoints.get', 'query', session, { endpointId: endpointOfB })).code).toBe('NOT_FOUND');
    expect((await call('endpoints.delete', 'mutation', session, { endpointId: endpointOfB })).code).toBe('NOT_FOUND');
    // The operator's view across tenants is the admin key's alone.
    expect((await call('deliveries.list', 'query', session, { allTenants: true })).code).toBe('FORBIDDEN');
    expect((await call('events.list', 'query', session, { allTenants: true })).code).toBe('FORBIDDEN');
    // B's endpoint is untouched.
    expect((await app.client(tenantB.apiKey).endpoints.get.query({ endpointId: endpointOfB })).id).toBe(endpointOfB);
  });
});

describe('a read-only session', () => {
  for (const { path, type } of procedures) {
    if (sessionAccess[path] === 'public') continue;
    it(`${path}: ${type === 'mutation' ? 'FORBIDDEN (a mutation)' : 'reads as a session does'}`, async () => {
      const answer = await call(path, type, readOnlySession, {});
      if (type === 'mutation') {
        expect(answer.code).toBe('FORBIDDEN');
        expect(answer.message).toMatch(/read-only/);
      } else if (sessionAccess[path] === 'forbidden') {
        expect(answer.code).toBe('FORBIDDEN');
      } else {
        expect(['UNAUTHORIZED', 'FORBIDDEN']).not.toContain(answer.code);
      }
    });
  }

  it('changed nothing', async () => {
    const endpoints = await app.client(tenantA.apiKey).endpoints.list.query();
    expect(endpoints.items).toHaveLength(1);
  });
});

describe('session lifecycle', () => {
  it('answers the URL with the token in the fragment, and its expiry', async () => {
    const before = Date.now();
    const created = await app.admin.portal.createSession.mutate({ tenantId: tenantA.id, expiresInSeconds: 120 });
    expect(created.url).toBe(`${app.config.publicUrl}/portal#token=${created.token}`);
    expect(created.token).toMatch(/^hps_/);
    expect(created.sessionId).toMatch(/^ps_/);
    const expiresAt = Date.parse(created.expiresAt);
    expect(expiresAt).toBeGreaterThanOrEqual(before + 119_000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 121_000);
    // Stored hashed: the token itself is nowhere in the table.
    const rows = await app.deps.sql`select * from portal_sessions where id = ${created.sessionId}`;
    expect(JSON.stringify(rows)).not.toContain(created.token);
  });

  it('refuses bad options: no tenant with the admin key, a lifetime out of 60…604800, a bad colour', async () => {
    const admin = (input: unknown) => call('portal.createSession', 'mutation', app.config.adminKey, input);
    expect((await admin({})).code).toBe('BAD_REQUEST');
    expect((await admin({ tenantId: tenantA.id, expiresInSeconds: 59 })).code).toBe('BAD_REQUEST');
    expect((await admin({ tenantId: tenantA.id, expiresInSeconds: 604_801 })).code).toBe('BAD_REQUEST');
    expect((await admin({ tenantId: tenantA.id, theme: { accentColor: 'red; x' } })).code).toBe('BAD_REQUEST');
    // A tenant key opens sessions for itself only.
    const forB = await call('portal.createSession', 'mutation', tenantA.apiKey, { tenantId: tenantB.id });
    expect(forB.code).toBe('NOT_FOUND');
  });

  it('after expiry answers UNAUTHORIZED, saying to ask for a new link', async () => {
    const created = await app.admin.portal.createSession.mutate({ tenantId: tenantA.id });
    expect((await call('tenants.me', 'query', created.token, {})).status).toBe(200);
    await app.deps.db.execute(sql`update portal_sessions set expires_at = now() - interval '1 second' where id = ${created.sessionId}`);
    const answer = await call('tenants.me', 'query', created.token, {});
    expect(answer.code).toBe('UNAUTHORIZED');
    expect(answer.message).toMatch(/new link/);
  });

  it('after revocation answers UNAUTHORIZED at once; only the admin or its own tenant may revoke it', async () => {
    const created = await app.client(tenantA.apiKey).portal.createSession.mutate({});
    expect((await call('endpoints.list', 'query', created.token, {})).status).toBe(200);
    const byB = await call('portal.revokeSession', 'mutation', tenantB.apiKey, { sessionId: created.sessionId });
    expect(byB.code).toBe('NOT_FOUND');
    expect((await call('endpoints.list', 'query', created.token, {})).status).toBe(200);
    await app.client(tenantA.apiKey).portal.revokeSession.mutate({ sessionId: created.sessionId });
    expect((await call('endpoints.list', 'query', created.token, {})).code).toBe('UNAUTHORIZED');

    const another = await app.admin.portal.createSession.mutate({ tenantId: tenantA.id });
    await app.admin.portal.revokeSession.mutate({ sessionId: another.sessionId });
    expect((await call('tenants.me', 'query', another.token, {})).code).toBe('UNAUTHORIZED');
  });

  it('ends with its tenant', async () => {
    const c = await app.admin.tenants.create.mutate({ name: 'Portal C' });
    const created = await app.admin.portal.createSession.mutate({ tenantId: c.tenant.id });
    await app.admin.tenants.delete.mutate({ tenantId: c.tenant.id });
    expect((await call('tenants.me', 'query', created.token, {})).code).toBe('UNAUTHORIZED');
  });

  it('is opened and ended over REST too', async () => {
    const headers = { authorization: `Bearer ${tenantA.apiKey}`, 'content-type': 'application/json' };
    const opened = await fetch(`${app.url}/api/v1/portal/sessions`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ readOnly: true, theme: { productName: 'Acme Hooks', accentColor: '#aa3300' } }),
    });
    expect(opened.status).toBe(200);
    const created = (await opened.json()) as { sessionId: string; token: string; url: string };
    expect(created.url).toContain('/portal#token=hps_');
    // What the page reads first: its tenant, read-only, and the session's theme over the defaults.
    const page = await fetch(`${app.url}/portal/session`, { headers: { authorization: `Bearer ${created.token}` } });
    expect(await page.json()).toMatchObject({
      tenant: { id: tenantA.id, name: 'Portal A' },
      readOnly: true,
      theme: { productName: 'Acme Hooks', accentColor: '#aa3300' },
      signings: ['hmac', 'ed25519'],
    });
    const ended = await fetch(`${app.url}/api/v1/portal/sessions/${created.sessionId}`, { method: 'DELETE', headers });
    expect(ended.status).toBe(200);
    expect(await ended.json()).toEqual({ revoked: true });
    expect((await call('tenants.me', 'query', created.token, {})).code).toBe('UNAUTHORIZED');
    const afterwards = await fetch(`${app.url}/portal/session`, { headers: { authorization: `Bearer ${created.token}` } });
    expect(afterwards.status).toBe(401);
    expect(await afterwards.json()).toMatchObject({ error: expect.stringMatching(/new link/), theme: { productName: 'Webhooks' } });
  });
});
