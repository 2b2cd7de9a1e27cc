// Shapes every resource's API output shares: timestamps on the wire, pages of a list, a deletion.
// The router's `.output(...)` schemas are built from these, so the API's types come from zod here
// and not from the database layer (see shared/api/index.ts).
import { z } from 'zod';

/** Timestamps travel as ISO-8601 strings (no transformer): `2026-01-31T12:00:00.000Z`. */
export const timestamp = z.iso.datetime();

/**
 * Any JSON object (an event payload, a JSON Schema), passed on as it is: a loose object checks it
 * is an object ~6× faster than z.record(), which copies every key (this runs on every events.send).
 */
export const jsonObject = z.looseObject({});

/** String-to-string metadata, as stored. */
export const metadataOutput = z.record(z.string(), z.string());

/** A page of a keyset-paginated list: pass `nextCursor` back as `cursor`; null on the last page. */
export function pageOf<Item extends z.ZodType>(item: Item) {
  return z.object({ items: z.array(item), nextCursor: z.string().nullable() });
}

/** A whole (unpaginated) list. */
export function listOf<Item extends z.ZodType>(item: Item) {
  return z.object({ items: z.array(item) });
}

export const deletedSchema = z.object({ deleted: z.literal(true) }).meta({ id: 'Deleted' });

export type Deleted = z.output<typeof deletedSchema>;
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}
