// Endpoint rows: the tenant-scoped finder. Scoping is this function, not a repeated
// `and(eq(endpoints.tenantId, …), eq(endpoints.id, …))`: another tenant's endpoint is not found,
// exactly like a missing one.
import { and, eq, type SQL } from 'drizzle-orm';
import type { SelectedFields } from 'drizzle-orm/pg-core';
import type { SelectResultFields } from 'drizzle-orm/query-builders/select.types';
import { endpoints } from '../schema.js';
import type { Selector } from './executor.js';

/**
 * The condition "this endpoint, of this tenant"; `tenantId` undefined = of any tenant (the
 * operator's view, whose functions take `tenantId: string | undefined` on purpose).
 */
export function endpointOfTenant(tenantId: string | undefined, endpointId: string): SQL {
  return and(tenantId !== undefined ? eq(endpoints.tenantId, tenantId) : undefined, eq(endpoints.id, endpointId))!;
}

/**
 * The tenant's endpoint `endpointId` (the columns in `fields`, selected explicitly so a secret is
 * read only where it is needed), or undefined when it is not the tenant's or does not exist.
 */
export async function findEndpoint<Fields extends SelectedFields>(
  db: Selector,
  tenantId: string | undefined,
  endpointId: string,
  fields: Fields,
): Promise<SelectResultFields<Fields> | undefined> {
  const [row] = await db.select(fields).from(endpoints).where(endpointOfTenant(tenantId, endpointId));
  return row as SelectResultFields<Fields> | undefined;
}
