// The event type catalog's rows (server/event-types/service.ts holds the rules: reserved names,
// schema checks).
import { and, asc, eq, inArray, isNull, sql } from 'drizzle-orm';
import { eventTypes } from '../schema.js';
import type { Selector, Writer } from './executor.js';

type EventTypeRow = typeof eventTypes.$inferSelect;

/** Every column of an event type (selected explicitly). */
export const eventTypeColumns = {
  name: eventTypes.name,
  description: eventTypes.description,
  schema: eventTypes.schema,
  archivedAt: eventTypes.archivedAt,
  createdAt: eventTypes.createdAt,
  updatedAt: eventTypes.updatedAt,
};

/**
 * Inserts the event type, or updates it and un-archives it. Fields left undefined keep their stored
 * value; null clears them.
 */
export async function upsertEventTypeRow(
  db: Pick<Writer, 'insert'>,
  row: Pick<EventTypeRow, 'name'> & { description?: EventTypeRow['description'] | undefined; schema?: EventTypeRow['schema'] | undefined },
): Promise<EventTypeRow> {
  const [upserted] = await db
    .insert(eventTypes)
    .values({ name: row.name, description: row.description ?? null, schema: row.schema ?? null })
    .onConflictDoUpdate({
      target: eventTypes.name,
      set: {
        ...(row.description !== undefined && { description: row.description }),
        ...(row.schema !== undefined && { schema: row.schema }),
        archivedAt: null,
        updatedAt: sql`now()`,
      },
    })
    .returning(eventTypeColumns);
  return upserted!;
}

/** Archives the event type (keeps the first archiving time); undefined when it was never registered. */
export async function archiveEventTypeRow(db: Pick<Writer, 'update'>, name: string): Promise<EventTypeRow | undefined> {
  const [row] = await db
    .update(eventTypes)
    .set({ archivedAt: sql`coalesce(${eventTypes.archivedAt}, now())`, updatedAt: sql`now()` })
    .where(eq(eventTypes.name, name))
    .returning(eventTypeColumns);
  return row;
}

/** The catalog by name; archived types only when asked. */
export async function listEventTypeRows(db: Selector, params: { includeArchived: boolean }): Promise<EventTypeRow[]> {
  return db
    .select(eventTypeColumns)
    .from(eventTypes)
    .where(params.includeArchived ? undefined : isNull(eventTypes.archivedAt))
    .orderBy(asc(eventTypes.name));
}

/** Of these names, those registered and not archived. */
export async function findActiveEventTypeNames(db: Selector, names: readonly string[]): Promise<Set<string>> {
  if (names.length === 0) return new Set();
  const rows = await db
    .select({ name: eventTypes.name })
    .from(eventTypes)
    .where(and(inArray(eventTypes.name, [...names]), isNull(eventTypes.archivedAt)));
  return new Set(rows.map((row) => row.name));
}
