// Router tests without HTTP: the app router called in-process (tRPC's createCaller) with the context
// a request with this key would get — the same key check, middleware, scoping and error mapping, and
// no server, serialisation or socket in between. Tests about HTTP itself (status codes, REST,
// headers, keys over the wire) keep the typed client of app.ts.
import { createContext } from '../../server/context.js';
import { createCaller } from '../../server/router.js';
import type { TestApp } from './app.js';

export type Caller = ReturnType<typeof createCaller>;

/** The router as the holder of `apiKey` (the admin key, a tenant key, a portal token) calls it; no key: anonymous. */
export function callerFor(app: Pick<TestApp, 'deps'>, apiKey?: string): Caller {
  return createCaller(() => createContext(app.deps, { authorization: apiKey === undefined ? undefined : `Bearer ${apiKey}` }));
}

/** The router as the admin key calls it. */
export function adminCaller(app: Pick<TestApp, 'deps' | 'config'>): Caller {
  return callerFor(app, app.config.adminKey);
}

/** A new tenant, created with the admin key, and its caller. */
export async function newTenantCaller(app: Pick<TestApp, 'deps' | 'config'>, name = 'Fixture Co') {
  const { tenant, apiKey } = await adminCaller(app).tenants.create({ name });
  return { tenantId: tenant.id, apiKey, client: callerFor(app, apiKey) };
}

/** A new tenant (created with the admin key), one endpoint of its own at `url`, and its caller. */
export async function tenantWithEndpointCaller(
  app: Pick<TestApp, 'deps' | 'config'>,
  url: string,
  options: Omit<Parameters<Caller['endpoints']['create']>[0], 'url' | 'tenantId'> & { tenantName?: string } = {},
) {
  const { tenantName, ...endpointInput } = options;
  const tenant = await newTenantCaller(app, tenantName);
  const { endpoint, secret } = await tenant.client.endpoints.create({ url, ...endpointInput });
  return { ...tenant, endpoint, secret };
}
