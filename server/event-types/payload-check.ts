// Event-type schemas enforced at send: a payload that breaks its type's JSON Schema is refused
// (InvalidInputError, BAD_REQUEST) before the fan-out statement runs.
//
// Any number of API processes share one catalog, and an upsert in one must hold in all of them at
// once, so no process trusts a copy of a schema it holds: each send asks the database for the
// type's current schema *hash* (md5 of the stored jsonb), and the schema itself only when the
// process has not compiled that hash yet. Compiled validators are kept per process by type and
// hash, so a changed schema is recompiled once in each process, at its first send after the
// change. The lookups of the sends that meet in one process share a query (server/batcher.ts),
// as their fan-outs do; a type without a schema costs the same small lookup and nothing else.
import { createBatcher } from '../batcher.js';
import type { AppDeps } from '../deps.js';
import { InvalidInputError } from '../errors.js';
import { compilePayloadSchema, type PayloadSchemaCheck } from './payload-schema.js';

interface Compiled {
  hash: string;
  /** null: the stored schema does not compile (stored before schemas were enforced); not enforced. */
  check: PayloadSchemaCheck | null;
}

interface Lookup {
  name: string;
  /** The hash this process has compiled for the type, if any: the schema is sent only when it differs. */
  known: string | null;
}

/** The type's current schema hash, and the schema when the caller's `known` hash is stale; undefined: no schema. */
type LookupResult = { hash: string; schema: Record<string, unknown> | null } | undefined;

/** Kept per process; past this many types the cache starts over (a catalog is rarely this large). */
const maxCompiledTypes = 1_000;

export type PayloadChecker = (type: string, payload: unknown) => Promise<void>;

/** A checker for one process (one per AppDeps); throws InvalidInputError naming the schema's errors. */
export function createPayloadChecker(deps: Pick<AppDeps, 'sql' | 'logger'>): PayloadChecker {
  const compiled = new Map<string, Compiled>();

  const lookup = createBatcher<Lookup, LookupResult>(
    async (items) => {
      // One row per type: concurrent sends of one type (the usual case) ask once, and a large
      // schema not yet compiled here is read once, not once per send.
      const byType = new Map<string, Lookup>();
      for (const item of items) {
        const seen = byType.get(item.name);
        if (!seen) byType.set(item.name, { name: item.name, known: item.known });
        else if (seen.known !== item.known) seen.known = null; // they know different hashes: send the schema
      }
      const rows = await deps.sql<Array<{ name: string; hash: string; schema: Record<string, unknown> | null }>>`
        select k.name, md5(et.schema::text) as hash,
               case when md5(et.schema::text) is distinct from k.known then et.schema end as schema
          from json_to_recordset(${JSON.stringify([...byType.values()])}::json) as k(name text, known text)
          join event_types et on et.name = k.name
         where et.schema is not null and et.archived_at is null`;
      const byName = new Map(rows.map((row) => [row.name, row]));
      return items.map((item) => {
        const row = byName.get(item.name);
        return row ? { hash: row.hash, schema: row.schema } : undefined;
      });
    },
    { maxBatch: 100, maxInFlight: 2 },
  );

  const checkFor = (type: string, current: NonNullable<LookupResult>): PayloadSchemaCheck | null => {
    const cached = compiled.get(type);
    if (cached && cached.hash === current.hash) return cached.check;
    if (current.schema === null) {
      // Another send of this process compiled a newer hash meanwhile; ask again next time.
      return null;
    }
    const result = compilePayloadSchema(current.schema);
    const check = 'check' in result ? result.check : null;
    if (!check && 'error' in result) {
      deps.logger.warn({ eventType: type, reason: result.error }, 'stored event type schema does not compile; not enforced');
    }
    if (compiled.size >= maxCompiledTypes) compiled.clear();
    compiled.set(type, { hash: current.hash, check });
    return check;
  };

  return async (type, payload) => {
    const current = await lookup({ name: type, known: compiled.get(type)?.hash ?? null });
    if (!current) return; // no schema, or not in the catalog or archived (the fan-out statement refuses those)
    let check = checkFor(type, current);
    if (check === null && current.schema === null && compiled.get(type)?.hash !== current.hash) {
      // Rare race (see checkFor): fetch the schema itself.
      const fresh = await lookup({ name: type, known: null });
      if (!fresh) return;
      check = checkFor(type, fresh);
    }
    const problem = check?.(payload) ?? null;
    if (problem) throw new InvalidInputError(`payload does not match the schema of event type "${type}": ${problem}`);
  };
}

const checkers = new WeakMap<object, PayloadChecker>();

/** The process's checker for these deps (created on first use). */
export function payloadChecker(deps: Pick<AppDeps, 'sql' | 'logger'>): PayloadChecker {
  let checker = checkers.get(deps);
  if (!checker) {
    checker = createPayloadChecker(deps);
    checkers.set(deps, checker);
  }
  return checker;
}
