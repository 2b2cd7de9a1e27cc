// Endpoint payload filters: the TypeScript evaluator (shared/payload-filter.ts) and its SQL twin
// (hookline_payload_matches, which the fan-out statement runs) give the same answer on every case,
// and that answer is the expected one. Then the rules a filter must follow at registration.
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { matchesPayloadFilter, parsePayloadFilter, type PayloadFilter } from '../shared/payload-filter.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { errorOf } from './helpers/errors.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';

let database: TestDatabase;
let sql: postgres.Sql;

beforeAll(async () => {
  database = await createTestDatabase();
  sql = postgres(database.url, { max: 2, onnotice: () => {} });
});
afterAll(async () => {
  await sql.end({ timeout: 5 });
  await database.drop();
});

const job = {
  type: 'video.completed',
  job: { id: 'job_123', status: 'completed', durationSeconds: 42.5, attempts: 3, tags: ['hd', 'promo'] },
  customer: { plan: 'pro', region: 'eu-west-1', beta: null },
  outputs: [
    { format: 'mp4', bytes: 1048576 },
    { format: 'webm', bytes: 900000 },
  ],
  count: 0,
  flag: false,
  nested: { a: { b: { c: 'deep' } } },
  'dotted.key': 'not reachable by a dotted path',
};

// [name, filter, payload, expected]
const cases: Array<[string, PayloadFilter, unknown, boolean]> = [
  ['empty filter matches everything', {}, job, true],
  ['plain value equals', { 'job.status': 'completed' }, job, true],
  ['plain value differs', { 'job.status': 'failed' }, job, false],
  ['several keys must all hold', { 'job.status': 'completed', 'customer.plan': 'pro' }, job, true],
  ['one of several keys fails', { 'job.status': 'completed', 'customer.plan': 'free' }, job, false],
  ['missing path never equals', { 'job.missing': 'x' }, job, false],
  ['path through a string is missing', { 'job.status.length': 9 }, job, false],
  ['deep path', { 'nested.a.b.c': 'deep' }, job, true],
  ['number equality is numeric (42.5)', { 'job.durationSeconds': 42.5 }, job, true],
  ['zero equals zero', { count: 0 }, job, true],
  ['false equals false, not null', { flag: false }, job, true],
  ['false is not null', { flag: null }, job, false],
  ['JSON null equals null', { 'customer.beta': null }, job, true],
  ['missing is not null', { 'customer.gamma': null }, job, false],
  ['array equality is whole and ordered', { 'job.tags': ['hd', 'promo'] }, job, true],
  ['array in another order differs', { 'job.tags': ['promo', 'hd'] }, job, false],
  ['a scalar does not match inside an array', { 'job.tags': 'hd' }, job, false],
  ['object equality ignores key order', { 'nested.a': { b: { c: 'deep' } } }, job, true],
  ['object equality needs the same keys', { customer: { plan: 'pro' } }, job, false],
  ['empty object is a value, not operators', { customer: {} }, job, false],
  ['empty object equals an empty object', { x: {} }, { x: {} }, true],
  ['array index', { 'outputs.0.format': 'mp4' }, job, true],
  ['second array element', { 'outputs.1.format': 'webm' }, job, true],
  ['index out of range is missing', { 'outputs.2.format': { $exists: false } }, job, true],
  ['leading zero is not an index', { 'outputs.01.format': { $exists: true } }, job, false],
  ['negative is not an index', { 'outputs.-1.format': { $exists: true } }, job, false],
  ['a key with a dot cannot be reached', { 'dotted.key': { $exists: true } }, job, false],
  ['$eq', { 'job.status': { $eq: 'completed' } }, job, true],
  ['$eq on missing', { 'job.nope': { $eq: 'completed' } }, job, false],
  ['$ne differs', { 'job.status': { $ne: 'failed' } }, job, true],
  ['$ne same', { 'job.status': { $ne: 'completed' } }, job, false],
  ['$ne matches a missing path', { 'job.nope': { $ne: 'x' } }, job, true],
  ['$ne null on JSON null', { 'customer.beta': { $ne: null } }, job, false],
  ['$gt', { 'job.attempts': { $gt: 2 } }, job, true],
  ['$gt equal is false', { 'job.attempts': { $gt: 3 } }, job, false],
  ['$gte equal is true', { 'job.attempts': { $gte: 3 } }, job, true],
  ['$lt', { 'job.durationSeconds': { $lt: 42.6 } }, job, true],
  ['$lte', { 'job.durationSeconds': { $lte: 42.4 } }, job, false],
  ['range: both bounds', { 'job.durationSeconds': { $gt: 40, $lt: 50 } }, job, true],
  ['range: one bound fails', { 'job.durationSeconds': { $gt: 40, $lt: 41 } }, job, false],
  ['$gt on a string does not match', { 'job.status': { $gt: 0 } }, job, false],
  ['$lt on a missing path does not match', { 'job.nope': { $lt: 100 } }, job, false],
  ['$gt on a numeric string does not match', { v: { $gt: 1 } }, { v: '5' }, false],
  ['negative and fractional numbers', { v: { $gt: -1.5, $lt: -1.25 } }, { v: -1.3 }, true],
  ['large integers', { v: { $gte: 1048576 } }, { v: 1048576 }, true],
  ['$in', { 'job.status': { $in: ['failed', 'completed'] } }, job, true],
  ['$in misses', { 'job.status': { $in: ['failed', 'cancelled'] } }, job, false],
  ['$in on missing', { 'job.nope': { $in: ['x', null] } }, job, false],
  ['$in with null matches JSON null', { 'customer.beta': { $in: ['x', null] } }, job, true],
  ['$in compares whole values', { 'job.tags': { $in: ['hd', ['hd', 'promo']] } }, job, true],
  ['$in numbers numerically', { 'job.attempts': { $in: [3.0] } }, job, true],
  ['$in empty list never matches', { 'job.status': { $in: [] } }, job, false],
  ['$nin', { 'job.status': { $nin: ['failed'] } }, job, true],
  ['$nin hits', { 'job.status': { $nin: ['completed'] } }, job, false],
  ['$nin on missing matches', { 'job.nope': { $nin: ['x'] } }, job, true],
  ['$exists true', { 'customer.region': { $exists: true } }, job, true],
  ['$exists true on JSON null', { 'customer.beta': { $exists: true } }, job, true],
  ['$exists true on missing', { 'customer.gamma': { $exists: true } }, job, false],
  ['$exists false on missing', { 'customer.gamma': { $exists: false } }, job, true],
  ['$exists false on present', { 'customer.plan': { $exists: false } }, job, false],
  ['$startsWith', { 'customer.region': { $startsWith: 'eu-' } }, job, true],
  ['$startsWith misses', { 'customer.region': { $startsWith: 'us-' } }, job, false],
  ['$startsWith on a number', { 'job.attempts': { $startsWith: '3' } }, job, false],
  ['$startsWith empty string', { 'customer.region': { $startsWith: '' } }, job, true],
  ['$startsWith is case-sensitive', { 'customer.region': { $startsWith: 'EU' } }, job, false],
  ['$startsWith with unicode', { name: { $startsWith: 'Zoë' } }, { name: 'Zoë Q.' }, true],
  ['$and all hold', { $and: [{ 'job.status': 'completed' }, { 'customer.plan': 'pro' }] }, job, true],
  ['$and one fails', { $and: [{ 'job.status': 'completed' }, { 'customer.plan': 'free' }] }, job, false],
  ['$or one holds', { $or: [{ 'job.status': 'failed' }, { 'customer.plan': 'pro' }] }, job, true],
  ['$or none holds', { $or: [{ 'job.status': 'failed' }, { 'customer.plan': 'free' }] }, job, false],
  ['$not', { $not: { 'job.status': 'failed' } }, job, true],
  ['$not of a match', { $not: { 'job.status': 'completed' } }, job, false],
  ['$not of a missing path', { $not: { 'job.nope': { $exists: true } } }, job, true],
  [
    'nesting: $or of $and and $not',
    { $or: [{ $and: [{ 'job.attempts': { $gte: 5 } }, { count: 0 }] }, { $not: { 'customer.plan': { $in: ['free', 'trial'] } } }] },
    job,
    true,
  ],
  [
    'nesting: $and inside $not inside $and',
    { $and: [{ 'job.status': 'completed' }, { $not: { $and: [{ 'customer.plan': 'pro' }, { flag: false }] } }] },
    job,
    false,
  ],
  ['combiners beside paths', { 'job.status': 'completed', $or: [{ count: 1 }, { flag: false }] }, job, true],
  ['a payload that is not an object', { 'job.status': 'completed' }, [1, 2], false],
  ['index into a top-level array payload', { '1': 2 }, [1, 2], true],
  ['a scalar payload has no paths', { x: { $exists: false } }, 'just a string', true],
  ['null payload', { x: { $ne: 1 } }, null, true],
  ['a key that looks like an operator inside a value', { meta: { a: '$gt' } }, { meta: { a: '$gt' } }, true],
];

describe('the TypeScript evaluator and the SQL function agree', () => {
  for (const [name, filter, payload, expected] of cases) {
    it(`${name} → ${expected}`, async () => {
      expect(parsePayloadFilter(filter)).toEqual({ filter });
      expect(matchesPayloadFilter(filter, payload)).toBe(expected);
      const [row] = await sql<{ matches: boolean }[]>`
        select hookline_payload_matches(${sql.json(payload as postgres.JSONValue)}::jsonb,
                                        hookline_compile_payload_filter(${sql.json(filter as postgres.JSONValue)}::jsonb)) as matches`;
      expect(row!.matches).toBe(expected);
    });
  }
});

describe('filter rules', () => {
  const bad: Array<[string, unknown, RegExp]> = [
    ['not an object', ['job.status'], /must be a JSON object/],
    ['null', null, /must be a JSON object/],
    ['unknown top-level operator', { $nor: [{ a: 1 }] }, /unknown operator "\$nor"/],
    ['unknown condition operator', { a: { $regex: 'x' } }, /filter\.a\.\$regex: unknown operator/],
    ['operators mixed with keys', { a: { $gt: 1, b: 2 } }, /either a value or an object of operators/],
    ['$gt with a string', { a: { $gt: '5' } }, /\$gt: must be a number/],
    ['$in with a value', { a: { $in: 'x' } }, /\$in: must be a list/],
    ['$exists with a string', { a: { $exists: 'yes' } }, /\$exists: must be true or false/],
    ['$startsWith with a number', { a: { $startsWith: 1 } }, /\$startsWith: must be a string/],
    ['$and empty', { $and: [] }, /\$and: must be a non-empty list/],
    ['$or not a list', { $or: { a: 1 } }, /\$or: must be a non-empty list/],
    ['$not not an object', { $not: [{ a: 1 }] }, /filter\.\$not: a filter must be a JSON object/],
    ['$and item not an object', { $and: [{ a: 1 }, 'b'] }, /filter\.\$and\[1\]: a filter must be a JSON object/],
    ['empty path segment', { 'job..status': 1 }, /keys separated by single dots/],
    ['leading dot', { '.job': 1 }, /keys separated by single dots/],
    ['too deep', nest(10), /nest at most 8 deep/],
    ['too large', { a: { $in: Array.from({ length: 130 }, (_, i) => `value-number-${i}-padding-padding`) } }, /at most 4096 bytes/],
    ['too many $in values', { a: { $in: Array.from({ length: 101 }, (_, i) => i) } }, /at most 100 values/],
  ];
  for (const [name, filter, message] of bad) {
    it(`rejects: ${name}`, () => {
      const result = parsePayloadFilter(filter);
      expect(result).toHaveProperty('error');
      expect((result as { error: string }).error).toMatch(message);
    });
  }

  it('accepts nesting up to the limit', () => {
    expect(parsePayloadFilter(nest(8))).toHaveProperty('filter');
  });
});

function nest(depth: number): PayloadFilter {
  let filter: PayloadFilter = { a: 1 };
  for (let i = 0; i < depth; i++) filter = { $not: filter };
  return filter;
}

describe('endpoints with filters, end to end', () => {
  let app: TestApp;
  let receiver: Receiver;
  let tenantKey: string;
  let tenantId: string;

  beforeAll(async () => {
    app = await startTestApp({ worker: true });
    receiver = await startReceiver();
    const created = await app.admin.tenants.create.mutate({ name: 'Filtering Tenant' });
    tenantKey = created.apiKey;
    tenantId = created.tenant.id;
    await app.admin.eventTypes.upsert.mutate({ name: 'job.finished' });
  });
  afterAll(async () => {
    await app.close();
    await receiver.close();
  });

  it('delivers each event only to the endpoints whose filter its payload matches', async () => {
    const tenant = app.client(tenantKey);
    const url = (name: string) => `${receiver.url}/${name}`;
    const failed = await tenant.endpoints.create.mutate({ url: url('failed'), filter: { status: 'failed' } });
    const bigPro = await tenant.endpoints.create.mutate({
      url: url('big-pro'),
      filter: { $and: [{ 'job.seconds': { $gte: 60 } }, { 'customer.plan': { $in: ['pro', 'enterprise'] } }] },
    });
    const everything = await tenant.endpoints.create.mutate({ url: url('everything') });
    expect(failed.endpoint.filter).toEqual({ status: 'failed' });
    expect(everything.endpoint.filter).toBeNull();
    expect((await tenant.endpoints.get.query({ endpointId: bigPro.endpoint.id })).filter).toEqual({
      $and: [{ 'job.seconds': { $gte: 60 } }, { 'customer.plan': { $in: ['pro', 'enterprise'] } }],
    });

    const targets = async (payload: Record<string, unknown>) => {
      // Events come from the operator's backend (the admin key), endpoints from the tenant.
      const sent = await app.admin.events.send.mutate({ tenantId, type: 'job.finished', payload });
      return sent.deliveries.map((d) => d.endpointId).sort();
    };
    const sorted = (...ids: string[]) => ids.sort();
    expect(await targets({ status: 'failed', job: { seconds: 5 } })).toEqual(sorted(failed.endpoint.id, everything.endpoint.id));
    expect(await targets({ status: 'done', job: { seconds: 90 }, customer: { plan: 'pro' } })).toEqual(
      sorted(bigPro.endpoint.id, everything.endpoint.id),
    );
    expect(await targets({ status: 'done', job: { seconds: 90 }, customer: { plan: 'free' } })).toEqual([everything.endpoint.id]);
    expect(await targets({ job: ['no', 'seconds', 'here'] })).toEqual([everything.endpoint.id]);

    // What arrives is what was targeted: 2 + 2 + 1 + 1 requests, split by path.
    const requests = await receiver.waitFor(6);
    const byPath = (path: string) => requests.filter((r) => r.path === `/${path}`).length;
    expect([byPath('failed'), byPath('big-pro'), byPath('everything')]).toEqual([1, 1, 4]);
  });

  it('update replaces a filter, null removes it, and leaving it out keeps it', async () => {
    const tenant = app.client(tenantKey);
    const { endpoint } = await tenant.endpoints.create.mutate({ url: `${receiver.url}/changing`, filter: { a: 1 } });
    expect((await tenant.endpoints.update.mutate({ endpointId: endpoint.id, description: 'kept' })).filter).toEqual({ a: 1 });
    expect((await tenant.endpoints.update.mutate({ endpointId: endpoint.id, filter: { b: { $exists: true } } })).filter).toEqual({
      b: { $exists: true },
    });
    expect((await tenant.endpoints.update.mutate({ endpointId: endpoint.id, filter: null })).filter).toBeNull();
  });

  it('a bad filter is BAD_REQUEST naming the key, at create and update, and nothing is stored', async () => {
    const tenant = app.client(tenantKey);
    const before = (await tenant.endpoints.list.query()).items.length;
    const created = await errorOf(
      tenant.endpoints.create.mutate({ url: `${receiver.url}/bad`, filter: { 'job.status': { $regex: 'x' } } }),
    );
    expect(created.data?.code).toBe('BAD_REQUEST');
    expect(created.message).toContain('filter.job.status.$regex: unknown operator');
    expect((await tenant.endpoints.list.query()).items.length).toBe(before);

    const { endpoint } = await tenant.endpoints.create.mutate({ url: `${receiver.url}/good` });
    const updated = await errorOf(tenant.endpoints.update.mutate({ endpointId: endpoint.id, filter: { $or: [] } }));
    expect(updated.data?.code).toBe('BAD_REQUEST');
    expect(updated.message).toContain('$or: must be a non-empty list of filters');
    expect((await tenant.endpoints.get.query({ endpointId: endpoint.id })).filter).toBeNull();
  });

  it('REST takes and shows the filter too', async () => {
    const response = await fetch(`${app.url}/api/v1/endpoints`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tenantKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ url: `${receiver.url}/rest`, filter: { 'job.status': { $ne: 'queued' } } }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { endpoint: { filter: unknown } };
    expect(body.endpoint.filter).toEqual({ 'job.status': { $ne: 'queued' } });

    const bad = await fetch(`${app.url}/api/v1/endpoints`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tenantKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ url: `${receiver.url}/rest`, filter: { n: { $gt: 'five' } } }),
    });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('filter.n.$gt: must be a number');
  });
});
