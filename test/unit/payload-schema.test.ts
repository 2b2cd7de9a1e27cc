// compilePayloadSchema (server/event-types/payload-schema.ts): the dialect picked by `$schema`,
// refusals that name the problem, and payload errors as one bounded line.
import { describe, expect, it } from 'vitest';
import { compilePayloadSchema } from '../../server/event-types/payload-schema.js';

function checker(schema: Record<string, unknown>) {
  const compiled = compilePayloadSchema(schema);
  if ('error' in compiled) throw new Error(compiled.error);
  return compiled.check;
}

describe('compilePayloadSchema', () => {
  it('draft-07 by default: `dependencies` and tuple `items` mean what draft-07 says', () => {
    const check = checker({
      type: 'object',
      dependencies: { card: ['billing'] },
      properties: { pair: { items: [{ type: 'string' }, { type: 'integer' }] } },
    });
    expect(check({ card: 1 })).toBe('payload must have property billing when property card is present');
    expect(check({ pair: ['a', 'b'] })).toBe('payload/pair/1 must be integer');
    expect(check({ card: 1, billing: 2, pair: ['a', 1] })).toBeNull();
  });

  it('2020-12 by its $schema: prefixItems and unevaluatedProperties', () => {
    const check = checker({
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
      properties: { pair: { prefixItems: [{ type: 'string' }] } },
      unevaluatedProperties: false,
    });
    expect(check({ pair: [1] })).toBe('payload/pair/0 must be string');
    expect(check({ other: 1 })).toBe('payload must NOT have unevaluated properties');
    expect(check({ pair: ['a', 2] })).toBeNull();
  });

  it('refuses an unknown $schema, a meta-schema violation and an unresolvable $ref, naming each', () => {
    expect(compilePayloadSchema({ $schema: 'http://example.com/mine' })).toEqual({ error: expect.stringContaining('is not supported') });
    expect(compilePayloadSchema({ type: 'object', properties: { a: { type: 'nope' } } })).toEqual({
      error: expect.stringMatching(/^schema is invalid: schema\/properties\/a\/type must be/),
    });
    expect(compilePayloadSchema({ $ref: '#/$defs/missing' })).toEqual({ error: expect.stringContaining("can't resolve reference") });
  });

  it('names at most ten errors, then counts the rest', () => {
    const properties = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`f${i}`, { type: 'string' }]));
    const check = checker({ type: 'object', properties, required: Object.keys(properties) });
    const message = check({})!;
    expect(message.split('; ')).toHaveLength(11);
    expect(message).toMatch(/; and 2 more errors$/);
  });
});
