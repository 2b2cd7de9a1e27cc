// Concurrent rotations of a signing secret lose none that was handed out: the tenant's
// (tenants.rotateSigningSecret) and an endpoint's (endpoints.rotateSecret), through the router
// in-process (createCaller; the calls still meet concurrently in real PostgreSQL). Two rotations at once must leave both returned secrets valid (one current, the
// other in its grace period); a burst leaves the last two handed out.
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { endpoints, tenants } from '../db/schema.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { newTenantCaller, type Caller } from './helpers/caller.js';

let app: TestApp;
let tenantId: string;
let client: Caller;

beforeAll(async () => {
  app = await startTestApp();
  ({ tenantId, client } = await newTenantCaller(app, 'Rotating'));
});
afterAll(() => app.close());

/** The secrets that sign right now: the current one and, within its grace period, the previous. */
async function validTenantSecrets(): Promise<string[]> {
  const [row] = await app.deps.db
    .select({
      current: tenants.signingSecret,
      previous: tenants.previousSigningSecret,
      expiresAt: tenants.previousSigningSecretExpiresAt,
    })
    .from(tenants)
    .where(eq(tenants.id, tenantId));
  return openValid(row!);
}

async function validEndpointSecrets(endpointId: string): Promise<string[]> {
  const [row] = await app.deps.db
    .select({ current: endpoints.secret, previous: endpoints.previousSecret, expiresAt: endpoints.previousSecretExpiresAt })
    .from(endpoints)
    .where(and(eq(endpoints.tenantId, tenantId), eq(endpoints.id, endpointId)));
  return openValid(row!);
}

function openValid(row: { current: string; previous: string | null; expiresAt: Date | null }): string[] {
  const valid = [app.deps.secretBox.open(row.current)];
  if (row.previous && row.expiresAt && row.expiresAt.getTime() > Date.now()) valid.push(app.deps.secretBox.open(row.previous));
  return valid;
}

describe('tenants.rotateSigningSecret', () => {
  it('two at once, twenty times: both secrets handed out stay valid', async () => {
    for (let round = 0; round < 20; round++) {
      const returned = await Promise.all([
        client.tenants.rotateSigningSecret({ graceSeconds: 3600 }),
        client.tenants.rotateSigningSecret({ graceSeconds: 3600 }),
      ]);
      const valid = await validTenantSecrets();
      expect(valid.sort(), `round ${round}`).toEqual(returned.map((r) => r.signingSecret).sort());
    }
  });

  it('ten at once: the secrets left valid are the last two handed out', async () => {
    const returned = (await Promise.all(Array.from({ length: 10 }, () => client.tenants.rotateSigningSecret({ graceSeconds: 3600 })))).map(
      (r) => r.signingSecret,
    );
    const valid = await validTenantSecrets();
    expect(valid).toHaveLength(2);
    for (const secret of valid) expect(returned).toContain(secret);
  });
});

describe('endpoints.rotateSecret', () => {
  it('two at once, twenty times: both secrets handed out stay valid', async () => {
    const { endpoint } = await client.endpoints.create({ url: 'http://127.0.0.1:9/hook' });
    for (let round = 0; round < 20; round++) {
      const returned = await Promise.all([
        client.endpoints.rotateSecret({ endpointId: endpoint.id, graceSeconds: 3600 }),
        client.endpoints.rotateSecret({ endpointId: endpoint.id, graceSeconds: 3600 }),
      ]);
      const valid = await validEndpointSecrets(endpoint.id);
      expect(valid.sort(), `round ${round}`).toEqual(returned.map((r) => r.secret).sort());
    }
  });
});
