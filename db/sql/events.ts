// Event rows: the tenant-scoped finder, and the idempotency-key lookups of events.send.
import { and, eq, type SQL } from 'drizzle-orm';
import type { SelectedFields } from 'drizzle-orm/pg-core';
import type { SelectResultFields } from 'drizzle-orm/query-builders/select.types';
import { events } from '../schema.js';
import type { Selector, Writer } from './executor.js';

type EventRow = typeof events.$inferSelect;

/**
 * The condition "this event, of this tenant"; `tenantId` undefined = of any tenant (the operator's
 * view, whose functions take `tenantId: string | undefined` on purpose).
 */
export function eventOfTenant(tenantId: string | undefined, eventId: string): SQL {
  return and(tenantId !== undefined ? eq(events.tenantId, tenantId) : undefined, eq(events.id, eventId))!;
}

/** The tenant's event `eventId` (the columns in `fields`), or undefined when it is not the tenant's or does not exist. */
export async function findEvent<Fields extends SelectedFields>(
  db: Selector,
  tenantId: string | undefined,
  eventId: string,
  fields: Fields,
): Promise<SelectResultFields<Fields> | undefined> {
  const [row] = await db.select(fields).from(events).where(eventOfTenant(tenantId, eventId));
  return row as SelectResultFields<Fields> | undefined;
}

/** The tenant's event whose idempotency key is `key`, whatever its age. */
export async function findEventByIdempotencyKey(db: Selector, tenantId: string, key: string): Promise<EventRow | undefined> {
  const [row] = await db
    .select()
    .from(events)
    .where(and(eq(events.tenantId, tenantId), eq(events.idempotencyKey, key)));
  return row;
}

/** Frees an event's idempotency key (expired: it may be used again; the event keeps its history). */
export async function clearIdempotencyKey(db: Pick<Writer, 'update'>, eventId: string): Promise<void> {
  await db.update(events).set({ idempotencyKey: null }).where(eq(events.id, eventId));
}
