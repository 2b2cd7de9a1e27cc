// Tenants: create, read, update, delete, and rotate their API key and signing secret.
import { isUniqueViolation } from '../../db/errors.js';
import { rowsToRead, toPage, type Page, type PageRequest } from '../../db/paging.js';
import { OPERATOR_TENANT_ID } from '../../db/sql/operational-events.js';
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
import { ConflictError, InvalidInputError, NotFoundError } from '../errors.js';
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
  deps: Pick<AppDeps, 'db' | 'secretBox'>,
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

export async function getTenant(deps: Pick<AppDeps, 'db'>, tenantId: string): Promise<Tenant> {
  const row = await findTenant(deps.db, tenantId, tenantColumns);
  if (!row) throw new NotFoundError('tenant not found');
  return present(row);
}

export async function listTenants(
  deps: Pick<AppDeps, 'db'>,
  input: PageRequest & { externalId?: string | undefined },
): Promise<Page<Tenant>> {
  const rows = await listTenantRows(deps.db, { cursor: input.cursor, externalId: input.externalId, limit: rowsToRead(input.limit) });
  return toPage(rows, input.limit, present);
}

export async function updateTenant(
  deps: Pick<AppDeps, 'db'>,
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
export async function deleteTenant(deps: Pick<AppDeps, 'db'>, tenantId: string): Promise<void> {
  if (tenantId === OPERATOR_TENANT_ID) {
    throw new InvalidInputError("the operator's tenant holds hookline's operational events and cannot be deleted");
  }
  if (!(await deleteTenantRow(deps.db, tenantId))) throw new NotFoundError('tenant not found');
}

/** A new API key; the old one stops working at once. */
export async function rotateTenantApiKey(deps: Pick<AppDeps, 'db'>, tenantId: string): Promise<{ apiKey: string }> {
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
  deps: Pick<AppDeps, 'db' | 'secretBox'>,
  tenantId: string,
  graceSeconds: number,
): Promise<{ signingSecret: string }> {
  const signingSecret = generateSecret();
  const sealedSecret = deps.secretBox.seal(signingSecret);
  const found = await replaceTenantSigningSecret(deps.db, { tenantId, sealedSecret, graceSeconds });
  if (!found) throw new NotFoundError('tenant not found');
  return { signingSecret };
}
