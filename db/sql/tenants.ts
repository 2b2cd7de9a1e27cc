// Tenant rows: the finder.
import { eq } from 'drizzle-orm';
import type { SelectedFields } from 'drizzle-orm/pg-core';
import type { SelectResultFields } from 'drizzle-orm/query-builders/select.types';
import { tenants } from '../schema.js';
import type { Selector } from './executor.js';

/** The tenant `tenantId` (the columns in `fields`), or undefined when it does not exist. */
export async function findTenant<Fields extends SelectedFields>(
  db: Selector,
  tenantId: string,
  fields: Fields,
): Promise<SelectResultFields<Fields> | undefined> {
  const [row] = await db.select(fields).from(tenants).where(eq(tenants.id, tenantId));
  return row as SelectResultFields<Fields> | undefined;
}
