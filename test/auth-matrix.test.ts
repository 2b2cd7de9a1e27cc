// The auth matrix over raw HTTP, for EVERY procedure of the router (enumerated, so a new procedure
// is covered the day it is added): no key, a wrong key, a tenant key and the admin key.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appRouter } from '../server/router.js';
import { startTestApp, type TestApp } from './helpers/app.js';

let app: TestApp;
let tenantKey: string;

beforeAll(async () => {
  app = await startTestApp();
  tenantKey = (await app.admin.tenants.create.mutate({ name: 'Matrix' })).apiKey;
});
afterAll(() => app.close());

type Access = 'public' | 'authed' | 'admin' | 'tenant-only' | 'tenant-scoped';

// Who may call what, as the contract says. A procedure missing here fails the test below.
const access: Record<string, Access> = {
  health: 'public',
  'tenants.create': 'admin',
  'tenants.list': 'admin',
  'tenants.get': 'admin',
  'tenants.update': 'admin',
  'tenants.delete': 'admin',
  'tenants.rotateApiKey': 'admin',
  'tenants.me': 'tenant-only',
  'tenants.rotateSigningSecret': 'tenant-scoped',
  'eventTypes.upsert': 'admin',
  'eventTypes.archive': 'admin',
  'eventTypes.list': 'authed',
  'endpoints.create': 'tenant-scoped',
  'endpoints.list': 'tenant-scoped',
  'endpoints.get': 'tenant-scoped',
  'endpoints.update': 'tenant-scoped',
  'endpoints.delete': 'tenant-scoped',
  'endpoints.rotateSecret': 'tenant-scoped',
  'endpoints.sendTest': 'tenant-scoped',
  'endpoints.recover': 'tenant-scoped',
  'endpoints.stats': 'tenant-scoped',
  'events.send': 'admin',
  'events.sendBatch': 'admin',
  'events.list': 'tenant-scoped',
  'events.get': 'tenant-scoped',
  'deliveries.list': 'tenant-scoped',
  'deliveries.get': 'tenant-scoped',
  'deliveries.retry': 'tenant-scoped',
  // Admin or a tenant key (test/portal-sessions.test.ts: a portal session is FORBIDDEN).
  'portal.createSession': 'tenant-scoped',
  'portal.revokeSession': 'tenant-scoped',
};

const procedures = Object.entries(appRouter._def.procedures as unknown as Record<string, { _def: { type: string } }>).map(
  ([path, procedure]) => ({ path, type: procedure._def.type }),
);

async function call(path: string, type: string, key: string | undefined): Promise<{ status: number; code: string | undefined }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (key) headers.authorization = `Bearer ${key}`;
  // An input that satisfies no schema in particular: authorization must be decided before it is read.
  const input = encodeURIComponent(JSON.stringify({}));
  const res =
    type === 'query'
      ? await fetch(`${app.url}/trpc/${path}?input=${input}`, { headers })
      : await fetch(`${app.url}/trpc/${path}`, { method: 'POST', headers, body: '{}' });
  const body = (await res.json()) as { error?: { data?: { code?: string } } };
  return { status: res.status, code: body.error?.data?.code };
}

describe('every procedure', () => {
  it('is listed in the access table (and the table lists nothing extra)', () => {
    expect(procedures.map((p) => p.path).sort()).toEqual(Object.keys(access).sort());
  });

  for (const { path, type } of procedures) {
    it(`${path}: none / wrong / tenant / admin`, async () => {
      const rule = access[path]!;
      const none = await call(path, type, undefined);
      const wrong = await call(path, type, 'hk_AAAAAAAAAA_' + 'A'.repeat(43));
      const tenant = await call(path, type, tenantKey);
      const admin = await call(path, type, app.config.adminKey);
      const never500 = [none, wrong, tenant, admin].every((r) => r.status < 500);
      expect(never500).toBe(true);

      if (rule === 'public') {
        expect([none.status, wrong.status, tenant.status, admin.status]).toEqual([200, 200, 200, 200]);
        return;
      }
      expect(none.code).toBe('UNAUTHORIZED');
      expect(wrong.code).toBe('UNAUTHORIZED');
      switch (rule) {
        case 'authed':
          expect(tenant.status).toBe(200);
          expect(admin.status).toBe(200);
          break;
        case 'admin':
          expect(tenant.code).toBe('FORBIDDEN');
          expect(['UNAUTHORIZED', 'FORBIDDEN']).not.toContain(admin.code);
          break;
        case 'tenant-only':
          expect(tenant.status).toBe(200);
          expect(admin.code).toBe('FORBIDDEN');
          break;
        case 'tenant-scoped':
          // Past authorization: the empty input is then judged (or a list answers).
          expect(['UNAUTHORIZED', 'FORBIDDEN']).not.toContain(tenant.code);
          // The admin key must name the tenant.
          expect(admin.code).toBe('BAD_REQUEST');
          break;
      }
    });
  }
});
