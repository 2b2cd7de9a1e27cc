// JSON Schema of an event type, compiled with Ajv: judged at eventTypes.upsert (a schema Ajv cannot
// compile is refused) and used at send (a payload that breaks it is refused). Pure: no database.
//
// Dialect: the schema's `$schema` picks it — draft-07 (also draft-06, and the default when
// `$schema` is absent), 2019-09 or 2020-12. Other drafts (draft-04) are refused at upsert: Ajv 8
// would need another class, and draft-04's `exclusiveMaximum: true` means something else.
// Vendor keywords (`x-…`, `example`) are allowed (strict: false), as catalogs copied from other
// platforms carry them; `format` is an annotation, not checked (JSON Schema 2019-09 onwards says
// so by default, and checking it needs ajv-formats).
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv2020 } from 'ajv/dist/2020.js';

/** At most this many of Ajv's errors are named in one message, so a message stays readable. */
const MAX_ERRORS_NAMED = 10;

const DRAFT07_URIS = new Set([
  'http://json-schema.org/draft-07/schema#',
  'http://json-schema.org/draft-07/schema',
  'http://json-schema.org/draft-06/schema#',
  'http://json-schema.org/draft-06/schema',
]);
const DRAFT2019_URIS = new Set(['https://json-schema.org/draft/2019-09/schema', 'https://json-schema.org/draft/2019-09/schema#']);
const DRAFT2020_URIS = new Set(['https://json-schema.org/draft/2020-12/schema', 'https://json-schema.org/draft/2020-12/schema#']);

/** Checks payloads against one compiled schema: null when the payload matches, else why not. */
export type PayloadSchemaCheck = (payload: unknown) => string | null;

/**
 * Compiles a schema, or says why it is not valid JSON Schema. A fresh Ajv per schema: a schema's
 * `$id` is registered in its Ajv instance, so recompiling a changed schema with the same `$id` in
 * a shared one would fail, and old versions would never be released.
 */
export function compilePayloadSchema(schema: Record<string, unknown>): { check: PayloadSchemaCheck } | { error: string } {
  const declared = schema.$schema;
  const options = { allErrors: true, strict: false, logger: false } as const;
  let ajv: Ajv | Ajv2019 | Ajv2020;
  if (declared === undefined || (typeof declared === 'string' && DRAFT07_URIS.has(declared))) ajv = new Ajv(options);
  else if (typeof declared === 'string' && DRAFT2019_URIS.has(declared)) ajv = new Ajv2019(options);
  else if (typeof declared === 'string' && DRAFT2020_URIS.has(declared)) ajv = new Ajv2020(options);
  else {
    return {
      error: `$schema ${JSON.stringify(declared)} is not supported (use draft-07, 2019-09 or 2020-12, or leave it out for draft-07)`,
    };
  }
  let validate: ValidateFunction;
  try {
    validate = ajv.compile(schema);
  } catch (error) {
    // Ajv's message lists the meta-schema errors ("schema is invalid: data/type must be …") or
    // names the reference it cannot resolve.
    return { error: (error as Error).message.replace(/\bdata\b/g, 'schema') };
  }
  return {
    check: (payload) => (validate(payload) ? null : describeErrors(validate.errors ?? [])),
  };
}

/** Ajv's errors as one line, the payload named `payload` (`payload/amount must be integer`). */
export function describeErrors(errors: readonly ErrorObject[]): string {
  const named = errors.slice(0, MAX_ERRORS_NAMED).map((error) => {
    const where = `payload${error.instancePath}`;
    const detail =
      error.keyword === 'additionalProperties'
        ? `${error.message} "${String((error.params as { additionalProperty?: unknown }).additionalProperty)}"`
        : (error.message ?? 'is invalid');
    return `${where} ${detail}`;
  });
  const more = errors.length - named.length;
  return named.join('; ') + (more > 0 ? `; and ${more} more error${more === 1 ? '' : 's'}` : '');
}
