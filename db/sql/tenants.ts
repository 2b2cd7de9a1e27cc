// Tenant rows: the finder and the statements of the tenants service (server/tenants/service.ts).
import { and, asc, eq, sql } from 'drizzle-orm';
import { afterCursor } from '../paging.js';
import type { SelectedFields } from 'drizzle-orm/pg-core';
import type { SelectResultFields } from 'drizzle-orm/query-builders/select.types';
import { tenants } from '../schema.js';
import type { Selector, Writer } from './executor.js';

/** The tenant `tenantId` (the columns in `fields`), or undefined when it does not exist. */
export async function findTenant<Fields extends SelectedFields>(
  db: Selector,
  tenantId: string,
  fields: Fields,
): Promise<SelectResultFields<Fields> | undefined> {
  const [row] = await db.select(fields).from(tenants).where(eq(tenants.id, tenantId));
  return row as SelectResultFields<Fields> | undefined;
}

type TenantRow = typeof tenants.$inferSelect;

/** What the API shows of a tenant (selected explicitly: never its key hash or secrets). */
export const tenantColumns = {
  id: tenants.id,
  name: tenants.name,
  externalId: tenants.externalId,
  metadata: tenants.metadata,
  createdAt: tenants.createdAt,
  updatedAt: tenants.updatedAt,
};

export type PublicTenantRow = Pick<TenantRow, keyof typeof tenantColumns>;

/** Inserts a tenant (its key hash and sealed secret given); throws the unique violation of a taken externalId. */
export async function insertTenant(
  db: Pick<Writer, 'insert'>,
  row: Pick<TenantRow, 'id' | 'name' | 'externalId' | 'metadata' | 'apiKeyPrefix' | 'apiKeyHash' | 'signingSecret'>,
): Promise<PublicTenantRow> {
  const [inserted] = await db.insert(tenants).values(row).returning(tenantColumns);
  return inserted!;
}

/** Tenants by id, after `cursor`, at most `limit`; only the one with `externalId` when given. */
export async function listTenantRows(
  db: Selector,
  params: { cursor?: string | undefined; limit: number; externalId?: string | undefined },
): Promise<PublicTenantRow[]> {
  return db
    .select(tenantColumns)
    .from(tenants)
    .where(and(afterCursor(tenants.id, params.cursor), params.externalId ? eq(tenants.externalId, params.externalId) : undefined))
    .orderBy(asc(tenants.id))
    .limit(params.limit);
}

/** Changes the given fields; undefined when the tenant does not exist. */
export async function updateTenantRow(
  db: Pick<Writer, 'update'>,
  tenantId: string,
  patch: { name?: string | undefined; externalId?: string | null | undefined; metadata?: Record<string, string> | undefined },
): Promise<PublicTenantRow | undefined> {
  const [row] = await db
    .update(tenants)
    .set({
      ...(patch.name !== undefined && { name: patch.name }),
      ...(patch.externalId !== undefined && { externalId: patch.externalId }),
      ...(patch.metadata !== undefined && { metadata: patch.metadata }),
      updatedAt: new Date(),
    })
    .where(eq(tenants.id, tenantId))
    .returning(tenantColumns);
  return row;
}

/** Deletes the tenant (everything it owns goes by cascade); whether it existed. */
export async function deleteTenantRow(db: Pick<Writer, 'delete'>, tenantId: string): Promise<boolean> {
  const deleted = await db.delete(tenants).where(eq(tenants.id, tenantId)).returning({ id: tenants.id });
  return deleted.length > 0;
}

/** Replaces the tenant's API key (prefix and hash); whether it existed. */
export async function replaceTenantApiKey(
  db: Pick<Writer, 'update'>,
  params: { tenantId: string } & Pick<TenantRow, 'apiKeyPrefix' | 'apiKeyHash'>,
): Promise<boolean> {
  const updated = await db
    .update(tenants)
    .set({ apiKeyPrefix: params.apiKeyPrefix, apiKeyHash: params.apiKeyHash, updatedAt: new Date() })
    .where(eq(tenants.id, params.tenantId))
    .returning({ id: tenants.id });
  return updated.length > 0;
}

/**
 * Replaces the tenant's signing secret (sealed). With `graceSeconds` > 0 the current one stays valid
 * that long, read as the UPDATE finds the row (one statement: concurrent rotations queue on the row
 * lock and each keeps the secret handed out just before it). Whether the tenant existed.
 */
export async function replaceTenantSigningSecret(
  db: Pick<Writer, 'update'>,
  params: { tenantId: string; sealedSecret: string; graceSeconds: number },
): Promise<boolean> {
  const keepPrevious = params.graceSeconds > 0;
  const updated = await db
    .update(tenants)
    .set({
      signingSecret: params.sealedSecret,
      previousSigningSecret: keepPrevious ? sql`${tenants.signingSecret}` : null,
      previousSigningSecretExpiresAt: keepPrevious ? sql`now() + make_interval(secs => ${params.graceSeconds})` : null,
      updatedAt: sql`now()`,
    })
    .where(eq(tenants.id, params.tenantId))
    .returning({ id: tenants.id });
  return updated.length > 0;
}

/** The tenant whose API key has this lookup prefix, with the key's hash to compare (server/context.ts). */
export async function findTenantByApiKeyPrefix(db: Selector, prefix: string): Promise<Pick<TenantRow, 'id' | 'apiKeyHash'> | undefined> {
  const [row] = await db.select({ id: tenants.id, apiKeyHash: tenants.apiKeyHash }).from(tenants).where(eq(tenants.apiKeyPrefix, prefix));
  return row;
}
