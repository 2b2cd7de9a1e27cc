// Event-type schemas enforced at send: a payload that breaks its type's JSON Schema is refused
// (InvalidInputError, BAD_REQUEST) before the fan-out statement runs.
//
// Any number of API processes share one catalog, and a send must not pay a query to learn that
// its type's schema is unchanged (ingest is the hot path). So each process keeps, per type, the
// compiled schema or "no schema" until told otherwise: eventTypes.upsert and archive notify every
// process at commit (./change-notice.ts), and the process forgets that type (the process that made
// the change forgets it before answering, so its own next send sees the change). A type not held is
// read once (the sends that meet on it share the read, and the reads of different types share a
// query through server/batcher.ts) and compiled once.
//
// Notices sent while a process's listener was disconnected are lost, so on every (re)connect the
// process forgets everything; before its first LISTEN succeeds it holds nothing and reads each time.
// The price: another process judges its sends by the schema it held until the notice reaches it,
// normally within a millisecond of the commit, longer while its listener is disconnected.
import { createBatcher } from '../batcher.js';
import type { AppDeps } from '../deps.js';
import { InvalidInputError } from '../errors.js';
import { listenForEventTypeChanges } from './change-notice.js';
import { compilePayloadSchema, type PayloadSchemaCheck } from './payload-schema.js';

/**
 * The type's check; null when none is enforced: no schema, a type not in the catalog or archived
 * (the fan-out statement refuses those), or a stored schema that does not compile (stored before
 * schemas were enforced).
 */
type Enforced = PayloadSchemaCheck | null;

/** Kept per process; past this many types the cache starts over (a catalog is rarely this large). */
const MAX_HELD_TYPES = 1_000;

export interface PayloadChecker {
  (type: string, payload: unknown): Promise<void>;
  /** Forgets the type at once: this process changed it (the notice would come a little later). */
  forget(name: string): void;
}

/** A checker for one process (one per AppDeps); throws InvalidInputError naming the schema's errors. */
export function createPayloadChecker(deps: Pick<AppDeps, 'sql' | 'logger'>): PayloadChecker {
  /**
   * By type: what is enforced, or the read of it under way (so concurrent sends share it). An entry
   * is removed when its type's notice arrives, even mid-read: that read may predate the change.
   */
  const held = new Map<string, Promise<Enforced>>();
  /** True once the listener has connected: only then is a notice sure to come for a change. */
  let listening = false;

  listenForEventTypeChanges(
    deps.sql,
    {
      changed: (name) => held.delete(name),
      listening: () => {
        held.clear();
        listening = true;
      },
    },
    deps.logger,
  );

  const readSchemas = createBatcher<string, Record<string, unknown> | null>(
    async (names) => {
      const rows = await deps.sql<Array<{ name: string; schema: Record<string, unknown> }>>`
        select name, schema from event_types
         where name = any(${[...new Set(names)]}::text[]) and schema is not null and archived_at is null`;
      const byName = new Map(rows.map((row) => [row.name, row.schema]));
      return names.map((name) => byName.get(name) ?? null);
    },
    { maxBatch: 100, maxInFlight: 2 },
  );

  const readEnforced = async (type: string): Promise<Enforced> => {
    const schema = await readSchemas(type);
    if (schema === null) return null;
    const result = compilePayloadSchema(schema);
    if ('error' in result) {
      deps.logger.warn({ eventType: type, reason: result.error }, 'stored event type schema does not compile; not enforced');
      return null;
    }
    return result.check;
  };

  const enforcedFor = (type: string): Promise<Enforced> => {
    const entry = held.get(type);
    if (entry) return entry;
    const read = readEnforced(type);
    if (listening) {
      if (held.size >= MAX_HELD_TYPES) held.clear();
      held.set(type, read);
      // A failed read (database unavailable) is not kept: the next send tries again.
      read.catch(() => {
        if (held.get(type) === read) held.delete(type);
      });
    }
    return read;
  };

  const checkPayload = async (type: string, payload: unknown): Promise<void> => {
    const check = await enforcedFor(type);
    const problem = check?.(payload) ?? null;
    if (problem) throw new InvalidInputError(`payload does not match the schema of event type "${type}": ${problem}`);
  };
  return Object.assign(checkPayload, { forget: (name: string) => void held.delete(name) });
}

const checkers = new WeakMap<object, PayloadChecker>();

/** The process's checker for these deps (created on first use, when it starts listening). */
export function payloadChecker(deps: Pick<AppDeps, 'sql' | 'logger'>): PayloadChecker {
  let checker = checkers.get(deps);
  if (!checker) {
    checker = createPayloadChecker(deps);
    checkers.set(deps, checker);
  }
  return checker;
}

/**
 * After this process committed a change to the type: its own next send must see it, and the
 * notice to itself arrives only after the caller may have sent again.
 */
export function forgetEventType(deps: object, name: string): void {
  checkers.get(deps)?.forget(name);
}
