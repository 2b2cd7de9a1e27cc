// Tenants: create, read, update, delete, and rotate their API key and signing secret.
import { isUniqueViolation } from '../../db/errors.js';
import {
  deleteTenantRow,
  findTenant,
  insertTenant,
  listTenantRows,
  replaceTenantApiKey,
  replaceTenantSigningSecret,
  tenantColumns,
  updateTenantRow,
  type PublicTenantRow,
} from '../../db/sql/tenants.js';
import { newId } from '../../shared/ids.js';
import { generateSecret } from '../../shared/signing.js';
import type { AppDeps } from '../deps.js';
import { ConflictError, NotFoundError } from '../errors.js';
import { issueApiKey } from '../security/api-keys.js';

export interface Tenant {
  id: string;
  name: string;
  externalId: string | null;
  metadata: Record<string, string>;
  createdAt: string;
  updatedAt: string;
}

function present(row: PublicTenantRow): Tenant {
  return { ...row, createdAt: row.createdAt.toISOString(), updatedAt: row.updatedAt.toISOString() };
}

export async function createTenant(
  deps: AppDeps,
  input: { name: string; externalId?: string | undefined; metadata?: Record<string, string> | undefined },
): Promise<{ tenant: Tenant; apiKey: string; signingSecret: string }> {
  const apiKey = issueApiKey();
  const signingSecret = generateSecret();
  try {
    const row = await insertTenant(deps.db, {
      id: newId('tenant'),
      name: input.name,
      externalId: input.externalId ?? null,
      metadata: input.metadata ?? {},
      apiKeyPrefix: apiKey.prefix,
      apiKeyHash: apiKey.hash,
      signingSecret: deps.secretBox.seal(signingSecret),
    });
    return { tenant: present(row), apiKey: apiKey.key, signingSecret };
  } catch (error) {
    if (isUniqueViolation(error)) throw new ConflictError(`a tenant with externalId "${input.externalId}" already exists`);
    throw error;
  }
}

export async function getTenant(deps: AppDeps, tenantId: string): Promise<Tenant> {
  const row = await findTenant(deps.db, tenantId, tenantColumns);
  if (!row) throw new NotFoundError('tenant not found');
  return present(row);
}

export async function listTenants(
  deps: AppDeps,
  input: { cursor?: string | undefined; limit: number; externalId?: string | undefined },
): Promise<{ items: Tenant[]; nextCursor: string | null }> {
  const rows = await listTenantRows(deps.db, { ...input, limit: input.limit + 1 });
  const page = rows.slice(0, input.limit);
  return { items: page.map(present), nextCursor: rows.length > input.limit ? page[page.length - 1]!.id : null };
}

export async function updateTenant(
  deps: AppDeps,
  tenantId: string,
  patch: { name?: string | undefined; externalId?: string | null | undefined; metadata?: Record<string, string> | undefined },
): Promise<Tenant> {
  try {
    const row = await updateTenantRow(deps.db, tenantId, patch);
    if (!row) throw new NotFoundError('tenant not found');
    return present(row);
  } catch (error) {
    if (isUniqueViolation(error)) throw new ConflictError(`a tenant with externalId "${patch.externalId}" already exists`);
    throw error;
  }
}

/** Deletes the tenant and, by cascade, everything it owns (endpoints, events, deliveries, attempts). */
export async function deleteTenant(deps: AppDeps, tenantId: string): Promise<void> {
  if (!(await deleteTenantRow(deps.db, tenantId))) throw new NotFoundError('tenant not found');
}

/** A new API key; the old one stops working at once. */
export async function rotateTenantApiKey(deps: AppDeps, tenantId: string): Promise<{ apiKey: string }> {
  const apiKey = issueApiKey();
  const found = await replaceTenantApiKey(deps.db, { tenantId, apiKeyPrefix: apiKey.prefix, apiKeyHash: apiKey.hash });
  if (!found) throw new NotFoundError('tenant not found');
  return { apiKey: apiKey.key };
}

/**
 * A new signing secret for one-off deliveries; the current one stays valid for `graceSeconds` (0
 * drops it at once). One statement: the previous secret is the row's current one as the UPDATE
 * finds it, so concurrent rotations queue on the row lock and each keeps the secret handed out
 * just before it (a read, then a write, lost one: both kept the same old secret).
 */
export async function rotateTenantSigningSecret(
  deps: AppDeps,
  tenantId: string,
  graceSeconds: number,
): Promise<{ signingSecret: string }> {
  const signingSecret = generateSecret();
  const sealedSecret = deps.secretBox.seal(signingSecret);
  const found = await replaceTenantSigningSecret(deps.db, { tenantId, sealedSecret, graceSeconds });
  if (!found) throw new NotFoundError('tenant not found');
  return { signingSecret };
}
