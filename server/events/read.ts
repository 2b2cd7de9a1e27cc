// The read side of events and deliveries: events.list/get (the polling fallback for receivers that
// missed webhooks) and deliveries.list/get (what happened to each delivery, attempt by attempt).
// Every function takes `tenantId` and every query filters on it: another tenant's event or delivery
// is indistinguishable from a missing one.
//
// Order and cursors: lists are oldest first, ascending by id. Ids are time-ordered (shared/ids.ts),
// so `cursor` = the last id of the previous page is a keyset position: rows inserted meanwhile
// never shift a page, and a walk never repeats an item. New events land after the cursor, so a
// poller that keeps its last id sees them on a later page ("everything after X").
//
// Bounded work: every read runs under HOOKLINE_READ_TIMEOUT (server/limits/read-timeout.ts), and no
// filter scans a tenant's whole history. A type filter is a range of events_tenant_type_idx. A
// status filter cannot have an index (see db/schema.ts: it would end HOT updates of deliveries), so
// a page filtered by status examines at most STATUS_SCAN_ROWS deliveries; when they hold fewer
// matches than `limit`, the page is short (even empty) and `nextCursor` continues after the last
// delivery examined. A walk ends when `nextCursor` is null, as always.
import { and, asc, desc, eq, exists, getTableColumns, gte, inArray, lt, or, sql, type SQL } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import { afterCursor, rowsToRead, toPage, type Page, type PageRequest } from '../../db/paging.js';
import { deliveries, endpoints, events } from '../../db/schema.js';
import { listDeliveryAttempts } from '../../db/sql/attempts.js';
import { deliveryOfTenant, listEventDeliveries } from '../../db/sql/deliveries.js';
import { findEndpoint } from '../../db/sql/endpoints.js';
import { findEvent } from '../../db/sql/events.js';
import { idFloor } from '../../shared/ids.js';
import type { ApiPool, Shared } from '../deps.js';
import { NotFoundError } from '../errors.js';
import { readWithTimeout, type Reader } from '../limits/read-timeout.js';
import { presentAttempt, presentDelivery, presentEvent, type Attempt, type Delivery, type Event } from './present.js';

/**
 * events.list shows an event only once its id is this old. An id is taken inside the fan-out
 * transaction and becomes visible only at commit, so a slow transaction could commit an id *below*
 * one already listed, and a poller whose cursor had moved past it would skip it. Holding back the
 * last second (far longer than the fan-out transaction; it also absorbs clock skew between API
 * processes) keeps "never skips" true. events.get sees an event at once.
 */
export const EVENT_LIST_SETTLE_MS = 1_000;

/**
 * The most deliveries one deliveries.list page filtered by status (and not by event) examines.
 * Measured on a tenant with 200,000 deliveries: 10,000 rows walked in deliveries_tenant_id_idx take
 * 11–22 ms; the unbounded filter took a 57 ms scan of the whole table, growing with it.
 */
export const STATUS_SCAN_ROWS = 10_000;

export type DeliveryStatus = Delivery['status'];

export type ListOrder = 'asc' | 'desc';

/** Time range and direction of a list: `since` inclusive, `until` exclusive, ISO-8601. */
export interface ListWindow extends PageRequest {
  since?: string | undefined;
  until?: string | undefined;
  order?: ListOrder | undefined;
}

/**
 * The keyset conditions of a list over time-ordered ids: `since`/`until` become id bounds (so the
 * same index range that pages also serves the time range) and `cursor` continues after (asc) or
 * before (desc) that id.
 */
function idWindow(column: AnyPgColumn, kind: 'event' | 'delivery', input: ListWindow): SQL | undefined {
  return and(
    input.since !== undefined ? gte(column, idFloor(kind, new Date(input.since))) : undefined,
    input.until !== undefined ? lt(column, idFloor(kind, new Date(input.until))) : undefined,
    afterCursor(column, input.cursor, input.order),
  );
}

const byId = (column: AnyPgColumn, order: ListOrder | undefined) => (order === 'desc' ? desc(column) : asc(column));

/**
 * A tenant's events (every tenant's when `tenantId` is undefined: the operator's view), oldest
 * first or newest first (`order: 'desc'`). `since`/`until` bound the creation time; `type` an exact
 * type name; `cursor` continues after that event id in the list's order.
 */
export async function listEvents(
  deps: ApiPool & Pick<Shared, 'config'>,
  tenantId: string | undefined,
  input: ListWindow & { type?: string | undefined },
): Promise<Page<Event>> {
  const settled = idFloor('event', new Date(Date.now() - EVENT_LIST_SETTLE_MS));
  const rows = await readWithTimeout(deps, (db) =>
    db
      .select()
      .from(events)
      .where(
        and(
          tenantId !== undefined ? eq(events.tenantId, tenantId) : undefined,
          lt(events.id, settled),
          idWindow(events.id, 'event', input),
          input.type !== undefined ? eq(events.type, input.type) : undefined,
        ),
      )
      .orderBy(byId(events.id, input.order))
      .limit(rowsToRead(input.limit)),
  );
  return toPage(rows, input.limit, presentEvent);
}

/** One event with the status of each of its deliveries (oldest first). */
export async function getEvent(
  deps: ApiPool & Pick<Shared, 'config'>,
  tenantId: string,
  eventId: string,
): Promise<Event & { deliveries: TypedDelivery[] }> {
  return readWithTimeout(deps, async (db) => {
    const row = await findEvent(db, tenantId, eventId, getTableColumns(events));
    if (!row) throw new NotFoundError('event not found');
    const rows = await listEventDeliveries(db, { tenantId, eventId });
    return { ...presentEvent(row), deliveries: rows.map((d) => ({ ...presentDelivery(d), type: row.type })) };
  });
}

/** A delivery as lists and get show it: with its event's type. */
export type TypedDelivery = Delivery & { type: string };

/** The event type of each delivery, read in one query. */
async function withTypes(db: Reader, rows: Delivery[]): Promise<TypedDelivery[]> {
  if (rows.length === 0) return [];
  const eventIds = [...new Set(rows.map((d) => d.eventId))];
  const types = await db.select({ id: events.id, type: events.type }).from(events).where(inArray(events.id, eventIds));
  const typeOf = new Map(types.map((t) => [t.id, t.type]));
  return rows.map((d) => ({ ...d, type: typeOf.get(d.eventId) ?? '' }));
}

/**
 * A tenant's deliveries (every tenant's when `tenantId` is undefined), oldest or newest first,
 * optionally of one event, to one endpoint, of one event type, in one status, within a time range.
 * Naming an event or endpoint that is not the tenant's answers NOT_FOUND (not an empty page), as
 * every other procedure does for a foreign id. Filtered by status (and not by event), a page
 * examines at most STATUS_SCAN_ROWS deliveries, in either order (see the header of this file).
 */
export async function listDeliveries(
  deps: ApiPool & Pick<Shared, 'config'>,
  tenantId: string | undefined,
  input: ListWindow & {
    eventId?: string | undefined;
    endpointId?: string | undefined;
    eventType?: string | undefined;
    status?: DeliveryStatus | undefined;
  },
): Promise<Page<TypedDelivery>> {
  return readWithTimeout(deps, async (db) => {
    if (input.eventId !== undefined) {
      const found = await findEvent(db, tenantId, input.eventId, { id: events.id });
      if (!found) throw new NotFoundError('event not found');
    }
    if (input.endpointId !== undefined) {
      const found = await findEndpoint(db, tenantId, input.endpointId, { id: endpoints.id });
      if (!found) throw new NotFoundError('endpoint not found');
    }
    const scope = and(
      tenantId !== undefined ? eq(deliveries.tenantId, tenantId) : undefined,
      input.eventId !== undefined ? eq(deliveries.eventId, input.eventId) : undefined,
      input.endpointId !== undefined ? eq(deliveries.endpointId, input.endpointId) : undefined,
      // The event's row, by primary key, for each delivery walked.
      input.eventType !== undefined
        ? exists(
            db
              .select({ one: sql`1` })
              .from(events)
              .where(and(eq(events.id, deliveries.eventId), eq(events.type, input.eventType))),
          )
        : undefined,
      idWindow(deliveries.id, 'delivery', input),
    );
    const order = byId(deliveries.id, input.order);
    const typed = async (p: Page<Delivery>): Promise<Page<TypedDelivery>> => ({
      items: await withTypes(db, p.items),
      nextCursor: p.nextCursor,
    });

    // An event's deliveries are few (one per endpoint): filter them as they are.
    if (input.status === undefined || input.eventId !== undefined) {
      const rows = await db
        .select()
        .from(deliveries)
        .where(and(scope, input.status !== undefined ? eq(deliveries.status, input.status) : undefined))
        .orderBy(order)
        .limit(rowsToRead(input.limit));
      return typed(toPage(rows, input.limit, presentDelivery));
    }

    // One statement: the next `scanRows` deliveries in the list's order (a range of
    // deliveries_tenant_id_idx, deliveries_endpoint_id_idx or, across tenants, the primary key),
    // numbered; the page takes those in the status, plus the last one examined, whose number says
    // whether history ended within the window (fewer than scanRows) and whose id is where the next
    // page starts when the window held no full page.
    const scanRows = STATUS_SCAN_ROWS;
    const scanned = db.$with('scanned').as(
      db
        .select({ ...getTableColumns(deliveries), examined: sql<number>`row_number() over (order by ${order})::int`.as('examined') })
        .from(deliveries)
        .where(scope)
        .orderBy(order)
        .limit(scanRows),
    );
    const rows = await db
      .with(scanned)
      .select()
      .from(scanned)
      .where(or(eq(scanned.status, input.status), eq(scanned.examined, sql`(select max(${scanned.examined}) from ${scanned})`)))
      .orderBy(asc(scanned.examined))
      .limit(rowsToRead(input.limit));
    const matching = rows.filter((d) => d.status === input.status);
    const last = rows[rows.length - 1];
    if (matching.length > input.limit || !last || last.examined < scanRows) return typed(toPage(matching, input.limit, presentDelivery));
    return typed({ items: matching.map(presentDelivery), nextCursor: last.id });
  });
}

/** One delivery with its attempts, by attempt number, and its event's type and payload. */
export async function getDelivery(
  deps: ApiPool & Pick<Shared, 'config'>,
  tenantId: string,
  deliveryId: string,
): Promise<TypedDelivery & { payload: Record<string, unknown>; attempts: Attempt[] }> {
  return readWithTimeout(deps, async (db) => {
    const [row] = await db
      .select({ delivery: deliveries, type: events.type, payload: events.payload })
      .from(deliveries)
      .innerJoin(events, eq(events.id, deliveries.eventId))
      .where(deliveryOfTenant(tenantId, deliveryId));
    if (!row) throw new NotFoundError('delivery not found');
    const rows = await listDeliveryAttempts(db, { tenantId, deliveryId });
    return {
      ...presentDelivery(row.delivery),
      type: row.type,
      payload: JSON.parse(row.payload) as Record<string, unknown>,
      attempts: rows.map(presentAttempt),
    };
  });
}
