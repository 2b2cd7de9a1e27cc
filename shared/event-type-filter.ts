// Endpoint event-type filters: which event types an endpoint receives. Pure code, shared by the API
// (which validates filters at registration) and anyone who wants to predict a delivery.
//
// A filter is a list of entries; an empty list means every type. An entry is either an exact event
// type name (`job.completed`) or a prefix wildcard `prefix.*`, which matches every type starting
// with `prefix.` (`file.*` matches `file.upload.completed`, not `file` itself).
//
// The delivery engine mirrors `matchesEventTypeFilter` in SQL (`eventTypeFilterMatchesSql` in
// db/sql/fan-out.ts), and the two must agree: test/event-type-filter-sql.test.ts runs both on the
// same cases.

/** The longest filter entry (the longest event type name). */
export const MAX_FILTER_ENTRY_LENGTH = 100;

const WILDCARD_SUFFIX = '.*';
// The same alphabet as event type names (shared/schemas.ts `eventTypeName`).
const NAME_PATTERN = /^[a-z0-9_.-]+$/;

export type EventTypeFilterEntry = { kind: 'exact'; name: string } | { kind: 'prefix'; prefix: string };

/** Whether an event of `type` goes to an endpoint with these filter entries. */
export function matchesEventTypeFilter(filters: readonly string[], type: string): boolean {
  if (filters.length === 0) return true;
  return filters.some((filter) => (filter.endsWith(WILDCARD_SUFFIX) ? type.startsWith(filter.slice(0, -1)) : filter === type));
}

/**
 * Reads one filter entry, or returns why it is not one. For `prefix.*` the prefix (before `.*`) must
 * be non-empty, use the event type name alphabet and not end with a dot; `*` appears nowhere else.
 */
export function parseEventTypeFilterEntry(entry: string): EventTypeFilterEntry | { error: string } {
  if (entry.length === 0) return { error: 'an event type filter entry must not be empty' };
  if (entry.length > MAX_FILTER_ENTRY_LENGTH) {
    return { error: `event type filter entries are at most ${MAX_FILTER_ENTRY_LENGTH} characters` };
  }
  if (entry.endsWith(WILDCARD_SUFFIX)) {
    const prefix = entry.slice(0, -WILDCARD_SUFFIX.length);
    if (prefix === '' || prefix.endsWith('.') || !NAME_PATTERN.test(prefix)) {
      return {
        error:
          `"${entry}" is not a valid wildcard: use a name prefix followed by ".*" (e.g. "video.*"); ` +
          'leave eventTypes empty to receive every type',
      };
    }
    return { kind: 'prefix', prefix: `${prefix}.` };
  }
  if (!NAME_PATTERN.test(entry)) {
    return {
      error: `"${entry}" is neither an event type name (lowercase letters, digits, "_", "-", ".") ` + 'nor a wildcard such as "video.*"',
    };
  }
  return { kind: 'exact', name: entry };
}
