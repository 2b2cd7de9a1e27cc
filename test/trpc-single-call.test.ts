// A single tRPC mutation over HTTP (a POST of JSON to /trpc/<path>, events.send's hot path) is
// answered without tRPC's fetch handler (server/http/trpc-handler.ts); every other request still
// goes through it. The answers must be the same: each case here is sent both ways (a query string
// sends the same call through tRPC's own handler) and compared, status, headers and body.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';

let app: TestApp;
let tenantId: string;
let tenantKey: string;

beforeAll(async () => {
  app = await startTestApp({ env: { HOOKLINE_SEND_TEST_LIMIT: '1/1d' } });
  await app.admin.eventTypes.upsert.mutate({ name: 'job.completed' });
  await app.admin.eventTypes.upsert.mutate({
    name: 'job.typed',
    schema: { type: 'object', properties: { n: { type: 'number' } }, required: ['n'] },
  });
  const created = await app.admin.tenants.create.mutate({ name: 'Single calls' });
  tenantId = created.tenant.id;
  tenantKey = created.apiKey;
});
afterAll(() => app.close());

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

async function post(path: string, body: string, headers: Record<string, string>): Promise<Answer> {
  const res = await fetch(`${app.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const text = await res.text();
  const kept: Record<string, string> = {};
  for (const name of ['content-type', 'vary', 'retry-after', 'allow']) {
    const value = res.headers.get(name);
    if (value !== null) kept[name] = value;
  }
  return { status: res.status, headers: kept, body: JSON.parse(text) as unknown };
}

/** The same call through the single-call path and through tRPC's fetch handler. */
async function bothWays(path: string, body: string, headers: Record<string, string> = {}): Promise<[Answer, Answer]> {
  const single = await post(`/trpc/${path}`, body, headers);
  const viaTrpc = await post(`/trpc/${path}?via=trpc`, body, headers);
  return [single, viaTrpc];
}

const admin = () => ({ authorization: `Bearer ${app.config.adminKey}` });

describe('a single mutation answers as tRPC answers it', () => {
  const failures: Array<[string, () => [string, string, Record<string, string>]]> = [
    ['no key', () => ['events.send', JSON.stringify({ tenantId, type: 'job.completed', payload: {} }), {}]],
    [
      'a wrong key',
      () => ['events.send', JSON.stringify({ tenantId, type: 'job.completed', payload: {} }), { authorization: 'Bearer hk_nope' }],
    ],
    [
      'a tenant key on an admin procedure',
      () => ['events.send', JSON.stringify({ tenantId, type: 'job.completed', payload: {} }), { authorization: `Bearer ${tenantKey}` }],
    ],
    [
      'input that breaks the schema',
      () => ['events.send', JSON.stringify({ tenantId, type: 'job.completed', payload: 'x', extra: 1 }), admin()],
    ],
    ['no body', () => ['events.send', '', admin()]],
    ['a body that is not JSON', () => ['events.send', '{"tenantId":', admin()]],
    [
      'an unknown tenant',
      () => ['events.send', JSON.stringify({ tenantId: 'tnt_01aaaaaaaaaaaaaaaaaaaaaaaa', type: 'job.completed', payload: {} }), admin()],
    ],
    ['an unregistered type', () => ['events.send', JSON.stringify({ tenantId, type: 'no.such', payload: {} }), admin()]],
    [
      'a payload its type schema refuses',
      () => ['events.send', JSON.stringify({ tenantId, type: 'job.typed', payload: { n: 'one' } }), admin()],
    ],
    [
      'a one-off URL refused by the URL rules',
      () => ['events.send', JSON.stringify({ tenantId, type: 'job.completed', payload: {}, url: 'ftp://x' }), admin()],
    ],
    ['a query procedure called with POST', () => ['tenants.me', '{}', { authorization: `Bearer ${tenantKey}` }]],
  ];
  for (const [name, make] of failures) {
    it(`fails the same way: ${name}`, async () => {
      const [path, body, headers] = make();
      const [single, viaTrpc] = await bothWays(path, body, headers);
      expect(single.status).toBeGreaterThanOrEqual(400);
      expect(single).toEqual(viaTrpc);
    });
  }

  it('succeeds the same way: events.send (ids and times aside), and the idempotency key holds across both', async () => {
    const body = JSON.stringify({ tenantId, type: 'job.completed', payload: { n: 1 }, idempotencyKey: 'same-both-ways' });
    const [single, viaTrpc] = await bothWays('events.send', body, admin());
    expect(single.status).toBe(200);
    expect(single.headers).toEqual(viaTrpc.headers);
    // The second call (through tRPC) met the key: the same event.
    expect(single.body).toEqual(viaTrpc.body);
    const fresh = await bothWays('events.send', JSON.stringify({ tenantId, type: 'job.completed', payload: { n: 2 } }), admin());
    const shape = (answer: Answer) =>
      JSON.stringify(answer.body)
        .replaceAll(/"(evt|dlv)_[0-9a-z]+"/g, '"id"')
        .replaceAll(/"\d{4}-[^"]+Z"/g, '"time"');
    expect(shape(fresh[0])).toBe(shape(fresh[1]));
    expect(fresh[0].headers).toEqual(fresh[1].headers);
  });

  it('says TOO_MANY_REQUESTS with the same Retry-After', async () => {
    const { endpoint } = await app.client(tenantKey).endpoints.create.mutate({ url: 'http://127.0.0.1:9/hook' });
    await app.client(tenantKey).endpoints.sendTest.mutate({ endpointId: endpoint.id });
    const [single, viaTrpc] = await bothWays('endpoints.sendTest', JSON.stringify({ endpointId: endpoint.id }), {
      authorization: `Bearer ${tenantKey}`,
    });
    expect(single.status).toBe(429);
    expect(single.headers['retry-after']).toBeDefined();
    expect(Math.abs(Number(single.headers['retry-after']) - Number(viaTrpc.headers['retry-after']))).toBeLessThanOrEqual(1);
    expect({ ...single, headers: {} }).toEqual({ ...viaTrpc, headers: {} });
  });
});
