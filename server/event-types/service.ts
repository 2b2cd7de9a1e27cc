// The event type catalog: the operator-wide list of names events may carry (`job.completed`, …),
// each with an optional description and JSON Schema. Global, not per tenant. Archiving hides a type
// from new endpoint filters; upserting it again brings it back. Both tell every API process of the
// change (./change-notice.ts), which drops its copy of the type's schema.
import type { eventTypes } from '../../db/schema.js';
import { archiveEventTypeRow, findActiveEventTypeNames, listEventTypeRows, upsertEventTypeRow } from '../../db/sql/event-types.js';
import type { AppDeps } from '../deps.js';
import { InvalidInputError, NotFoundError } from '../errors.js';
import { announceEventTypeChange } from './change-notice.js';
import { forgetEventType } from './payload-check.js';
import { compilePayloadSchema } from './payload-schema.js';

/** Names under this prefix are hookline's own (e.g. `hookline.test`) and cannot be registered. */
export const RESERVED_EVENT_TYPE_PREFIX = 'hookline.';
/** The type of the test event hookline sends to an endpoint on request. */
export const TEST_EVENT_TYPE = 'hookline.test';
/** The largest JSON Schema stored with an event type, serialized. */
export const MAX_EVENT_TYPE_SCHEMA_BYTES = 64 * 1024;

export interface EventType {
  name: string;
  description: string | null;
  schema: Record<string, unknown> | null;
  archived: boolean;
  archivedAt: string | null;
  createdAt: string;
  updatedAt: string;
}

type EventTypeRow = typeof eventTypes.$inferSelect;

function present(row: EventTypeRow): EventType {
  return {
    name: row.name,
    description: row.description,
    schema: row.schema,
    archived: row.archivedAt !== null,
    archivedAt: row.archivedAt?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** Why this JSON Schema cannot be stored, or null. PostgreSQL jsonb cannot hold NUL characters. */
function schemaProblem(schema: Record<string, unknown>): string | null {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) return 'schema must be a JSON object';
  let serialized: string;
  try {
    serialized = JSON.stringify(schema);
  } catch {
    return 'schema must be plain JSON';
  }
  if (Buffer.byteLength(serialized, 'utf8') > MAX_EVENT_TYPE_SCHEMA_BYTES) {
    return `schema is larger than ${MAX_EVENT_TYPE_SCHEMA_BYTES / 1024} KiB serialized`;
  }
  const hasNul = (value: unknown): boolean => {
    if (typeof value === 'string') return value.includes('\u0000');
    if (Array.isArray(value)) return value.some(hasNul);
    if (typeof value === 'object' && value !== null) {
      return Object.entries(value).some(([key, inner]) => key.includes('\u0000') || hasNul(inner));
    }
    return false;
  };
  if (hasNul(schema)) return 'schema must not contain NUL characters';
  // Enforced at send (./payload-check.ts), so it must compile now.
  const compiled = compilePayloadSchema(schema);
  if ('error' in compiled) return `schema is not valid JSON Schema: ${compiled.error}`;
  return null;
}

/**
 * Creates the event type, or updates it and un-archives it. Fields left out keep their stored value;
 * `null` clears them.
 */
export async function upsertEventType(
  deps: Pick<AppDeps, 'db'>,
  input: {
    name: string;
    description?: string | null | undefined;
    schema?: Record<string, unknown> | null | undefined;
  },
): Promise<EventType> {
  if (input.name.startsWith(RESERVED_EVENT_TYPE_PREFIX)) {
    throw new InvalidInputError(`event type names starting with "${RESERVED_EVENT_TYPE_PREFIX}" are reserved for hookline`);
  }
  if (input.schema) {
    const problem = schemaProblem(input.schema);
    if (problem) throw new InvalidInputError(problem);
  }
  const row = await deps.db.transaction(async (tx) => {
    const upserted = await upsertEventTypeRow(tx, input);
    // Every other API process forgets its copy of this type's schema when this commits; this one
    // forgets it below, before answering.
    await announceEventTypeChange(tx, input.name);
    return upserted;
  });
  forgetEventType(deps, input.name);
  return present(row);
}

/** Archives the event type (idempotent); NotFoundError when it was never registered. */
export async function archiveEventType(deps: Pick<AppDeps, 'db' | 'sql' | 'logger'>, name: string): Promise<EventType> {
  const row = await deps.db.transaction(async (tx) => {
    const archived = await archiveEventTypeRow(tx, name);
    if (!archived) throw new NotFoundError(`event type "${name}" not found`);
    // An archived type's schema is no longer judged at send (the fan-out refuses the type).
    await announceEventTypeChange(tx, name);
    return archived;
  });
  forgetEventType(deps, name);
  return present(row);
}

/** The catalog, by name; archived types only when asked. */
export async function listEventTypes(deps: Pick<AppDeps, 'db'>, input: { includeArchived: boolean }): Promise<{ items: EventType[] }> {
  const rows = await listEventTypeRows(deps.db, input);
  return { items: rows.map(present) };
}

/** Of these names, those not registered or archived (in the order given). */
export async function findUnavailableEventTypes(deps: Pick<AppDeps, 'db'>, names: readonly string[]): Promise<string[]> {
  if (names.length === 0) return [];
  const active = await findActiveEventTypeNames(deps.db, names);
  return names.filter((name) => !active.has(name));
}
