// The REST adapter's pure parts: the Idempotency-Key header folded into send inputs, and the guard
// that keeps trpc-to-openapi from switching the shared input schemas to zod coercion in place.
import {
  forEachOpenApiProcedure,
  getInputOutputParsers,
  instanceofZodTypeCoercible,
  instanceofZodTypeObject,
  unwrapZodType,
} from 'trpc-to-openapi';
import { describe, expect, it } from 'vitest';
import { foldIdempotencyKey } from '../../server/http/rest.js';
import { appRouter } from '../../server/router.js';

describe('foldIdempotencyKey', () => {
  it('gives POST /events the header as its idempotencyKey', () => {
    expect(foldIdempotencyKey('/events', { type: 'a' }, 'k1')).toEqual({ type: 'a', idempotencyKey: 'k1' });
    expect(foldIdempotencyKey('/Events/', { type: 'a', idempotencyKey: 'k1' }, 'k1')).toEqual({ type: 'a', idempotencyKey: 'k1' });
  });

  it('refuses a header and a body field naming different keys', () => {
    expect(() => foldIdempotencyKey('/events', { idempotencyKey: 'k2' }, 'k1')).toThrow(/different keys/);
  });

  it('gives each batch item without its own key `{header}:{index}`', () => {
    const body = { events: [{ type: 'a' }, { type: 'b', idempotencyKey: 'own' }, { type: 'c' }] };
    expect(foldIdempotencyKey('/events/batch', body, 'run-7')).toEqual({
      events: [
        { type: 'a', idempotencyKey: 'run-7:0' },
        { type: 'b', idempotencyKey: 'own' },
        { type: 'c', idempotencyKey: 'run-7:2' },
      ],
    });
  });

  it('leaves other routes, bodies that are not objects, and calls without the header alone', () => {
    expect(foldIdempotencyKey('/tenants', { name: 'x' }, 'k')).toEqual({ name: 'x' });
    expect(foldIdempotencyKey('/events', [1], 'k')).toEqual([1]);
    expect(foldIdempotencyKey('/events', { type: 'a' }, undefined)).toEqual({ type: 'a' });
  });
});

describe('REST-exposed input schemas', () => {
  // trpc-to-openapi sets `coerce` in place on every plain number/boolean/bigint/date field of a
  // REST-exposed input (body or query), changing the schema tRPC shares: z.boolean() would then
  // read "false" as true on both APIs. Such fields use shared/schemas.ts's `flag`/`wholeNumber`.
  it('have no field the adapter would switch to zod coercion', () => {
    const coercible: string[] = [];
    const walk = (schema: unknown, path: string) => {
      const object = unwrapZodType(schema as never, true);
      if (!instanceofZodTypeObject(object)) return;
      for (const [key, field] of Object.entries(object.shape)) {
        const unwrapped = unwrapZodType(field as never, false);
        if (instanceofZodTypeCoercible(unwrapped)) coercible.push(`${path}.${key}`);
        else if (instanceofZodTypeObject(unwrapped)) walk(unwrapped, `${path}.${key}`);
      }
    };
    let procedures = 0;
    forEachOpenApiProcedure(appRouter._def.procedures, ({ path, procedure }) => {
      procedures += 1;
      walk(getInputOutputParsers(procedure).inputParser, path);
    });
    expect(procedures).toBeGreaterThan(20);
    expect(coercible).toEqual([]);
  });
});
