// The read side of events and deliveries: events.list/get (the polling fallback for receivers that
// missed webhooks) and deliveries.list/get (what happened to each delivery, attempt by attempt).
// Every function takes `tenantId` and every query filters on it: another tenant's event or delivery
// is indistinguishable from a missing one.
//
// Order and cursors: lists are oldest first, ascending by id. Ids are time-ordered (shared/ids.ts),
// so `cursor` = the last id of the previous page is a keyset position: rows inserted meanwhile
// never shift a page, and a walk never repeats an item. New events land after the cursor, so a
// poller that keeps its last id sees them on a later page ("everything after X").
import { and, asc, eq, gt, gte, lt } from 'drizzle-orm';
import { attempts, deliveries, endpoints, events } from '../../db/schema.js';
import { idFloor } from '../../shared/ids.js';
import type { AppDeps } from '../deps.js';
import { NotFoundError } from '../errors.js';
import { presentAttempt, presentDelivery, presentEvent, type Attempt, type Delivery, type Event } from './present.js';

/**
 * events.list shows an event only once its id is this old. An id is taken inside the fan-out
 * transaction and becomes visible only at commit, so a slow transaction could commit an id *below*
 * one already listed, and a poller whose cursor had moved past it would skip it. Holding back the
 * last second (far longer than the fan-out transaction; it also absorbs clock skew between API
 * processes) keeps "never skips" true. events.get sees an event at once.
 */
export const EVENT_LIST_SETTLE_MS = 1_000;

export type DeliveryStatus = Delivery['status'];

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

function page<Row extends { id: string }, T>(rows: Row[], limit: number, present: (row: Row) => T): Page<T> {
  const items = rows.slice(0, limit);
  return { items: items.map(present), nextCursor: rows.length > limit ? items[items.length - 1]!.id : null };
}

/**
 * The tenant's events, oldest first. `since` (ISO-8601) keeps events created at or after that
 * instant; `type` an exact type name; `cursor` continues after that event id.
 */
export async function listEvents(
  deps: AppDeps,
  tenantId: string,
  input: { since?: string | undefined; type?: string | undefined; cursor?: string | undefined; limit: number },
): Promise<Page<Event>> {
  const settled = idFloor('event', new Date(Date.now() - EVENT_LIST_SETTLE_MS));
  const rows = await deps.db
    .select()
    .from(events)
    .where(
      and(
        eq(events.tenantId, tenantId),
        lt(events.id, settled),
        input.since !== undefined ? gte(events.id, idFloor('event', new Date(input.since))) : undefined,
        input.cursor !== undefined ? gt(events.id, input.cursor) : undefined,
        input.type !== undefined ? eq(events.type, input.type) : undefined,
      ),
    )
    .orderBy(asc(events.id))
    .limit(input.limit + 1);
  return page(rows, input.limit, presentEvent);
}

/** One event with the status of each of its deliveries (oldest first). */
export async function getEvent(deps: AppDeps, tenantId: string, eventId: string): Promise<Event & { deliveries: Delivery[] }> {
  const [row] = await deps.db
    .select()
    .from(events)
    .where(and(eq(events.tenantId, tenantId), eq(events.id, eventId)));
  if (!row) throw new NotFoundError('event not found');
  const rows = await deps.db
    .select()
    .from(deliveries)
    .where(and(eq(deliveries.tenantId, tenantId), eq(deliveries.eventId, eventId)))
    .orderBy(asc(deliveries.id));
  return { ...presentEvent(row), deliveries: rows.map(presentDelivery) };
}

/**
 * The tenant's deliveries, oldest first, optionally of one event, to one endpoint, in one status.
 * Naming an event or endpoint that is not the tenant's answers NOT_FOUND (not an empty page), as
 * every other procedure does for a foreign id.
 */
export async function listDeliveries(
  deps: AppDeps,
  tenantId: string,
  input: {
    eventId?: string | undefined;
    endpointId?: string | undefined;
    status?: DeliveryStatus | undefined;
    cursor?: string | undefined;
    limit: number;
  },
): Promise<Page<Delivery>> {
  if (input.eventId !== undefined) {
    const [found] = await deps.db
      .select({ id: events.id })
      .from(events)
      .where(and(eq(events.tenantId, tenantId), eq(events.id, input.eventId)));
    if (!found) throw new NotFoundError('event not found');
  }
  if (input.endpointId !== undefined) {
    const [found] = await deps.db
      .select({ id: endpoints.id })
      .from(endpoints)
      .where(and(eq(endpoints.tenantId, tenantId), eq(endpoints.id, input.endpointId)));
    if (!found) throw new NotFoundError('endpoint not found');
  }
  const rows = await deps.db
    .select()
    .from(deliveries)
    .where(
      and(
        eq(deliveries.tenantId, tenantId),
        input.eventId !== undefined ? eq(deliveries.eventId, input.eventId) : undefined,
        input.endpointId !== undefined ? eq(deliveries.endpointId, input.endpointId) : undefined,
        input.status !== undefined ? eq(deliveries.status, input.status) : undefined,
        input.cursor !== undefined ? gt(deliveries.id, input.cursor) : undefined,
      ),
    )
    .orderBy(asc(deliveries.id))
    .limit(input.limit + 1);
  return page(rows, input.limit, presentDelivery);
}

/** One delivery with its attempts, by attempt number. */
export async function getDelivery(
  deps: AppDeps,
  tenantId: string,
  deliveryId: string,
): Promise<Delivery & { attempts: Attempt[] }> {
  const [row] = await deps.db
    .select()
    .from(deliveries)
    .where(and(eq(deliveries.tenantId, tenantId), eq(deliveries.id, deliveryId)));
  if (!row) throw new NotFoundError('delivery not found');
  const rows = await deps.db
    .select()
    .from(attempts)
    .where(and(eq(attempts.tenantId, tenantId), eq(attempts.deliveryId, deliveryId)))
    .orderBy(asc(attempts.number));
  return { ...presentDelivery(row), attempts: rows.map(presentAttempt) };
}
