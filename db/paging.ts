// Keyset pages, written once for every list (tenants, endpoints, events, deliveries). A list is
// ordered by its time-ordered id (shared/ids.ts); the cursor is the last id of the previous page,
// passed back as it is (no encoding: an id is already opaque and URL-safe); a page reads one row
// more than it shows, and that row's presence is what says another page follows.
import { gt, lt, type SQL } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import type { Page } from '../shared/api/common.js';

export type { Page };

/** What a list is asked for: where to continue (`cursor`, the previous page's `nextCursor`) and how many. */
export interface PageRequest {
  cursor?: string | undefined;
  limit: number;
}

/** The rows a page reads: one more than it shows, so it knows whether another page follows. */
export function rowsToRead(limit: number): number {
  return limit + 1;
}

/** The condition continuing a list after the cursor (before it, in a newest-first list); none on the first page. */
export function afterCursor(id: AnyPgColumn, cursor: string | undefined, order: 'asc' | 'desc' = 'asc'): SQL | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  return order === 'desc' ? lt(id, cursor) : gt(id, cursor);
}

/**
 * The page of `rows` read with `rowsToRead(limit)`: the first `limit`, presented, and the cursor of
 * the next page (the last shown id) when there were more; null on the last page.
 */
export function toPage<Row extends { id: string }, Item>(rows: Row[], limit: number, present: (row: Row) => Item): Page<Item> {
  const shown = rows.slice(0, limit);
  return { items: shown.map(present), nextCursor: rows.length > limit ? shown[shown.length - 1]!.id : null };
}
