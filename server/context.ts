// Per-request context: who is calling (admin, a tenant, a tenant's portal session, or nobody) and the process dependencies.
// A presented key that is no key of ours is a failed authentication: logged and, past a per-address
// allowance, answered late (server/security/auth-failures.ts).
import { isConnectionError } from '../db/errors.js';
import { findTenantByApiKeyPrefix } from '../db/sql/tenants.js';
import type { AppDeps } from './deps.js';
import { databaseUnavailable } from './trpc.js';
import { lookUpPortalSession } from './portal/sessions.js';
import { apiKeyPrefix, keyMatchesDigest, keyMatchesHash, sha256 } from './security/api-keys.js';
import type { AuthFailure, AuthFailureThrottle } from './security/auth-failures.js';

export type Caller =
  | { kind: 'admin' }
  | { kind: 'tenant'; tenantId: string }
  // A tenant portal session (server/portal/sessions.ts): confined to its tenant, never admin.
  | { kind: 'session'; tenantId: string; sessionId: string; readOnly: boolean }
  // `sessionEnded`: a genuine portal token past its expiry or revoked (the portal then asks for a new link).
  | { kind: 'anonymous'; sessionEnded?: true };

export interface Context {
  deps: AppDeps;
  caller: Caller;
}

// The admin key's digest, computed once per key instead of on every request.
let adminDigest: { key: string; digest: Buffer } | undefined;
function adminKeyDigest(adminKey: string): Buffer {
  if (adminDigest?.key !== adminKey) adminDigest = { key: adminKey, digest: sha256(adminKey) };
  return adminDigest.digest;
}

/** Who the Authorization header names; `failure` says why a presented key was not accepted. */
export async function resolveCaller(
  deps: Pick<AppDeps, 'db' | 'config'>,
  authorization: string | undefined,
): Promise<{ caller: Caller; failure?: AuthFailure }> {
  const anonymous = { kind: 'anonymous' } as const;
  if (authorization === undefined || authorization.trim() === '') return { caller: anonymous };
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  const key = match?.[1];
  if (!key) return { caller: anonymous, failure: { reason: 'not a bearer key' } };
  if (keyMatchesDigest(key, adminKeyDigest(deps.config.adminKey))) return { caller: { kind: 'admin' } };
  const session = await lookUpPortalSession(deps, key);
  if (session.status === 'active') {
    const { tenantId, sessionId, readOnly } = session.session;
    return { caller: { kind: 'session', tenantId, sessionId, readOnly } };
  }
  // An ended session is not a failed authentication (the token was genuine): no throttling.
  if (session.status === 'ended') return { caller: { kind: 'anonymous', sessionEnded: true } };
  if (session.status === 'unknown') return { caller: anonymous, failure: { reason: 'unknown key' } };
  const prefix = apiKeyPrefix(key);
  if (!prefix) return { caller: anonymous, failure: { reason: 'malformed key' } };
  const row = await findTenantByApiKeyPrefix(deps.db, prefix);
  if (!row) return { caller: anonymous, failure: { reason: 'unknown key' } };
  if (!keyMatchesHash(key, row.apiKeyHash)) return { caller: anonymous, failure: { reason: 'wrong key', tenantId: row.id } };
  return { caller: { kind: 'tenant', tenantId: row.id } };
}

export async function createContext(
  deps: AppDeps,
  request: { authorization: string | undefined; source?: string | undefined; path?: string | undefined },
  authFailures?: AuthFailureThrottle,
): Promise<Context> {
  let resolved: Awaited<ReturnType<typeof resolveCaller>>;
  try {
    resolved = await resolveCaller(deps, request.authorization);
  } catch (error) {
    // A tenant key is checked against the database before any procedure runs: while the database
    // is unreachable that is SERVICE_UNAVAILABLE too, not an internal error.
    if (!isConnectionError(error)) throw error;
    deps.logger.warn({ err: error }, 'database unavailable');
    throw databaseUnavailable(error);
  }
  if (resolved.failure) await authFailures?.failed(request.source, resolved.failure, request.path);
  return { deps, caller: resolved.caller };
}
