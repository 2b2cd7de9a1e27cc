// Delivery rows: the tenant-scoped finder, an event's deliveries, and the row-locking statements of
// endpoints.recover and the stranded-delivery sweeper. (The fan-out inserts deliveries,
// db/sql/fan-out.ts; attempts move them, server/delivery/record.ts.)
import { and, asc, eq, gt, gte, inArray, sql, type SQL } from 'drizzle-orm';
import type { SelectedFields } from 'drizzle-orm/pg-core';
import type { SelectResultFields } from 'drizzle-orm/query-builders/select.types';
import { deliveries } from '../schema.js';
import type { Selector, Writer } from './executor.js';

type DeliveryRow = typeof deliveries.$inferSelect;

/**
 * The condition "this delivery, of this tenant"; `tenantId` undefined = of any tenant (the
 * operator's view, whose functions take `tenantId: string | undefined` on purpose).
 */
export function deliveryOfTenant(tenantId: string | undefined, deliveryId: string): SQL {
  return and(tenantId !== undefined ? eq(deliveries.tenantId, tenantId) : undefined, eq(deliveries.id, deliveryId))!;
}

/** The tenant's delivery `deliveryId` (the columns in `fields`), or undefined when it is not the tenant's or does not exist. */
export async function findDelivery<Fields extends SelectedFields>(
  db: Selector,
  tenantId: string | undefined,
  deliveryId: string,
  fields: Fields,
): Promise<SelectResultFields<Fields> | undefined> {
  const [row] = await db.select(fields).from(deliveries).where(deliveryOfTenant(tenantId, deliveryId));
  return row as SelectResultFields<Fields> | undefined;
}

/** An event's deliveries, oldest first; only the tenant's when `tenantId` is given. */
export async function listEventDeliveries(db: Selector, params: { tenantId?: string; eventId: string }): Promise<DeliveryRow[]> {
  return db
    .select()
    .from(deliveries)
    .where(
      and(params.tenantId !== undefined ? eq(deliveries.tenantId, params.tenantId) : undefined, eq(deliveries.eventId, params.eventId)),
    )
    .orderBy(asc(deliveries.id));
}

/**
 * Locks (FOR UPDATE) up to `limit` failed deliveries of the tenant's endpoint, with ids from
 * `fromId` on and after `afterId`, in id order; returns their ids.
 */
export async function lockFailedDeliveriesOfEndpoint(
  tx: Selector,
  params: { tenantId: string; endpointId: string; fromId: string; afterId: string | undefined; limit: number },
): Promise<string[]> {
  const rows = await tx
    .select({ id: deliveries.id })
    .from(deliveries)
    .where(
      and(
        eq(deliveries.tenantId, params.tenantId),
        eq(deliveries.endpointId, params.endpointId),
        eq(deliveries.status, 'failed'),
        gte(deliveries.id, params.fromId),
        params.afterId !== undefined ? gt(deliveries.id, params.afterId) : undefined,
      ),
    )
    .orderBy(asc(deliveries.id))
    .limit(params.limit)
    .for('update');
  return rows.map((row) => row.id);
}

/**
 * The state of a re-queued delivery: pending, next attempt now. `last_error` is cleared — it
 * describes the delivery's current state; each attempt keeps its own error.
 */
export const requeuedState = {
  status: 'pending' as const,
  nextAttemptAt: sql`now()`,
  lastError: null,
  updatedAt: sql`now()`,
};

/**
 * Sets the tenant's deliveries among `ids` that are still failed back to pending (requeuedState).
 * Returns what their next attempt's job needs.
 */
export async function requeueFailedDeliveries(
  tx: Pick<Writer, 'update'>,
  params: { tenantId: string; ids: readonly string[] },
): Promise<Array<Pick<DeliveryRow, 'id' | 'tenantId' | 'endpointId' | 'attemptCount'>>> {
  return tx
    .update(deliveries)
    .set(requeuedState)
    .where(and(eq(deliveries.tenantId, params.tenantId), eq(deliveries.status, 'failed'), inArray(deliveries.id, [...params.ids])))
    .returning({
      id: deliveries.id,
      tenantId: deliveries.tenantId,
      endpointId: deliveries.endpointId,
      attemptCount: deliveries.attemptCount,
    });
}

/** Locks the deliveries among `ids` that are still pending and not locked by anyone else (SKIP LOCKED). */
export async function lockPendingDeliveries(tx: Selector, params: { ids: readonly string[] }): Promise<DeliveryRow[]> {
  return tx
    .select()
    .from(deliveries)
    .where(and(inArray(deliveries.id, [...params.ids]), eq(deliveries.status, 'pending')))
    .for('update', { skipLocked: true });
}

/** Fails the deliveries `ids` for good, with `reason` as their last error. */
export async function failDeliveries(tx: Pick<Writer, 'update'>, params: { ids: readonly string[]; reason: string }): Promise<void> {
  await tx
    .update(deliveries)
    .set({ status: 'failed', nextAttemptAt: null, lastError: params.reason, updatedAt: sql`now()` })
    .where(inArray(deliveries.id, [...params.ids]));
}
