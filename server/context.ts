// Per-request context: who is calling (admin, a tenant, or nobody) and the process dependencies.
import { eq } from 'drizzle-orm';
import { isConnectionError } from '../db/errors.js';
import { tenants } from '../db/schema.js';
import type { AppDeps } from './deps.js';
import { databaseUnavailable } from './trpc.js';
import { apiKeyPrefix, keyMatchesHash, keysEqual } from './security/api-keys.js';

export type Caller = { kind: 'admin' } | { kind: 'tenant'; tenantId: string } | { kind: 'anonymous' };

export interface Context {
  deps: AppDeps;
  caller: Caller;
}

export async function resolveCaller(deps: AppDeps, authorization: string | undefined): Promise<Caller> {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  const key = match?.[1];
  if (!key) return { kind: 'anonymous' };
  if (keysEqual(key, deps.config.adminKey)) return { kind: 'admin' };
  const prefix = apiKeyPrefix(key);
  if (!prefix) return { kind: 'anonymous' };
  const [row] = await deps.db
    .select({ id: tenants.id, apiKeyHash: tenants.apiKeyHash })
    .from(tenants)
    .where(eq(tenants.apiKeyPrefix, prefix));
  if (row && keyMatchesHash(key, row.apiKeyHash)) return { kind: 'tenant', tenantId: row.id };
  return { kind: 'anonymous' };
}

export async function createContext(deps: AppDeps, authorization: string | undefined): Promise<Context> {
  try {
    return { deps, caller: await resolveCaller(deps, authorization) };
  } catch (error) {
    // A tenant key is checked against the database before any procedure runs: while the database
    // is unreachable that is SERVICE_UNAVAILABLE too, not an internal error.
    if (!isConnectionError(error)) throw error;
    deps.logger.warn({ err: error }, 'database unavailable');
    throw databaseUnavailable(error);
  }
}
