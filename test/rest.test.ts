// REST and OpenAPI over real HTTP on loopback: the whole flow through /api/v1 alone (no tRPC
// client), the error bodies and statuses, query-string coercion, the OpenAPI document checked by a
// real validator, and the /docs reference served from the deployment's own assets.
import SwaggerParser from '@apidevtools/swagger-parser';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { cleanupTracker } from './helpers/fixtures.js';
import { eventually } from './helpers/receiver.js';

let app: TestApp;
const cleanup = cleanupTracker();

beforeAll(async () => {
  app = await startTestApp({
    worker: true,
    env: { HOOKLINE_SEND_TEST_LIMIT: '1/1m', HOOKLINE_MAX_PAYLOAD_BYTES: '4096', HOOKLINE_PUBLIC_URL: 'https://hooks.example.test/' },
  });
});
afterEach(() => cleanup.runAll());
afterAll(() => app.close());

interface Answer {
  status: number;
  headers: Headers;
  body: any;
}

/** One REST call: JSON in, JSON out, with the given key. */
async function rest(
  method: string,
  path: string,
  options: { key?: string | undefined; body?: unknown; headers?: Record<string, string>; rawBody?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.key) headers.authorization = `Bearer ${options.key}`;
  let body: string | undefined = options.rawBody;
  if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  const response = await fetch(`${app.url}/api/v1${path}`, { method, headers, body });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text === '' ? undefined : JSON.parse(text) };
}

const admin = () => app.config.adminKey;

async function createTenant(name: string): Promise<{ tenantId: string; apiKey: string }> {
  const created = await rest('POST', '/tenants', { key: admin(), body: { name } });
  expect(created.status).toBe(200);
  return { tenantId: created.body.tenant.id, apiKey: created.body.apiKey };
}

describe('REST flow', () => {
  it("sends a batch once per Idempotency-Key, reads an endpoint's stats, and lists across tenants with ?allTenants=true", async () => {
    const { tenantId, apiKey } = await createTenant('Batch over REST');
    await rest('POST', '/event-types', { key: admin(), body: { name: 'job.failed' } });
    const receiver = await cleanup.receiver();
    const created = await rest('POST', '/endpoints', { key: apiKey, body: { url: `${receiver.url}/hook`, eventTypes: ['job.failed'] } });
    const endpointId: string = created.body.endpoint.id;

    const batch = {
      events: [0, 1, 2]
        .map((n) => ({ tenantId, type: 'job.failed', payload: { n } }))
        .concat([{ tenantId, type: 'no.such.type', payload: { n: 3 } }]),
    };
    const first = await rest('POST', '/events/batch', { key: admin(), body: batch, headers: { 'Idempotency-Key': 'batch-1' } });
    expect(first.status).toBe(200);
    expect(first.body.results.map((r: { ok: boolean }) => r.ok)).toEqual([true, true, true, false]);
    expect(first.body.results[3].error).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('no.such.type') });
    const again = await rest('POST', '/events/batch', { key: admin(), body: batch, headers: { 'Idempotency-Key': 'batch-1' } });
    const ids = (answer: Answer) =>
      answer.body.results.filter((r: { ok: boolean }) => r.ok).map((r: { event: { id: string } }) => r.event.id);
    expect(ids(again)).toEqual(ids(first));

    await eventually(async () => receiver.requests.length === 3);
    await eventually(async () => {
      const stats = await rest('GET', `/endpoints/${endpointId}/stats`, { key: apiKey });
      expect(stats.status).toBe(200);
      expect(stats.body.hours.reduce((sum: number, h: { succeeded: number }) => sum + h.succeeded, 0)).toBe(3);
      expect(stats.body.lastAttempt).toMatchObject({ statusCode: 200 });
      return true;
    });

    const everyTenant = await rest('GET', '/deliveries?allTenants=true&order=desc&eventType=job.failed', { key: admin() });
    expect(everyTenant.status).toBe(200);
    expect(everyTenant.body.items.map((d: { tenantId: string; type: string }) => [d.tenantId, d.type])).toEqual(
      [0, 1, 2].map(() => [tenantId, 'job.failed']),
    );
    expect((await rest('GET', '/deliveries?allTenants=true', { key: apiKey })).status).toBe(403);
  });

  it('creates a tenant, an event type and an endpoint, sends an event once per Idempotency-Key, delivers, retries and rotates, all through /api/v1', async () => {
    const health = await rest('GET', '/health');
    expect(health).toMatchObject({ status: 200, body: { ok: true } });

    const { tenantId, apiKey } = await createTenant('Acme over REST');
    expect(tenantId).toMatch(/^tnt_/);
    expect((await rest('GET', '/me', { key: apiKey })).body).toMatchObject({ id: tenantId, name: 'Acme over REST' });

    const upserted = await rest('POST', '/event-types', { key: admin(), body: { name: 'job.completed', description: 'A job finished' } });
    expect(upserted).toMatchObject({ status: 200, body: { name: 'job.completed', archived: false } });

    const receiver = await cleanup.receiver();
    const created = await rest('POST', '/endpoints', {
      key: apiKey,
      body: { url: `${receiver.url}/hook`, eventTypes: ['job.completed'] },
    });
    expect(created.status).toBe(200);
    const endpointId: string = created.body.endpoint.id;
    const secret: string = created.body.secret;
    expect(created.body.endpoint).toMatchObject({ tenantId, url: `${receiver.url}/hook`, disabled: false });

    // The admin names the tenant: a query parameter on GET, a body field on POST.
    const listed = await rest('GET', `/endpoints?tenantId=${tenantId}`, { key: admin() });
    expect(listed.body.items.map((e: { id: string }) => e.id)).toEqual([endpointId]);
    expect(await rest('GET', '/endpoints', { key: admin() })).toMatchObject({ status: 400, body: { code: 'BAD_REQUEST' } });

    // Twice with one Idempotency-Key: one event.
    const send = () =>
      rest('POST', '/events', {
        key: admin(),
        headers: { 'idempotency-key': 'order-42-completed' },
        body: { tenantId, type: 'job.completed', payload: { orderId: 42 } },
      });
    const first = await send();
    const second = await send();
    expect(first.status).toBe(200);
    expect(second.body.event.id).toBe(first.body.event.id);
    expect(first.body.event).toMatchObject({
      tenantId,
      type: 'job.completed',
      payload: { orderId: 42 },
      idempotencyKey: 'order-42-completed',
    });
    expect(first.body.deliveries).toHaveLength(1);
    const eventId: string = first.body.event.id;
    const deliveryId: string = first.body.deliveries[0].id;

    const [request] = await receiver.waitFor(1);
    expect(JSON.parse(request!.body)).toEqual({ orderId: 42 });
    expect(() => new Webhook(secret).verify(request!.body, request!.headers as Record<string, string>)).not.toThrow();

    const succeeded = await eventually(async () => {
      const page = await rest('GET', `/deliveries?eventId=${eventId}&limit=10`, { key: apiKey });
      return page.body.items[0]?.status === 'succeeded' ? page.body : undefined;
    });
    expect(succeeded.items).toHaveLength(1);
    const detail = await rest('GET', `/deliveries/${deliveryId}`, { key: apiKey });
    expect(detail.body).toMatchObject({ id: deliveryId, status: 'succeeded', attemptCount: 1 });
    expect(detail.body.attempts).toMatchObject([{ number: 1, statusCode: 200 }]);
    expect((await rest('GET', `/events/${eventId}`, { key: apiKey })).body).toMatchObject({
      id: eventId,
      deliveries: [{ id: deliveryId }],
    });

    // A POST with no body at all is an empty input.
    const retried = await rest('POST', `/deliveries/${deliveryId}/retry`, { key: apiKey });
    expect(retried).toMatchObject({ status: 200, body: { id: deliveryId, status: 'pending' } });
    await receiver.waitFor(2);

    const rotated = await rest('POST', `/endpoints/${endpointId}/rotate-secret`, { key: admin(), body: { tenantId, graceSeconds: 0 } });
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).toMatch(/^whsec_/);
    expect(rotated.body.secret).not.toBe(secret);

    const updated = await rest('PATCH', `/endpoints/${endpointId}`, { key: apiKey, body: { description: 'orders' } });
    expect(updated.body).toMatchObject({ id: endpointId, description: 'orders' });
    expect(await rest('DELETE', `/endpoints/${endpointId}`, { key: apiKey })).toMatchObject({ status: 200, body: { deleted: true } });
    expect((await rest('GET', `/endpoints/${endpointId}`, { key: apiKey })).status).toBe(404);
  });
});

describe('REST errors', () => {
  it('answers NOT_FOUND as 404 with exactly { message, code }', async () => {
    const { apiKey } = await createTenant('Missing things');
    const missing = await rest('GET', '/endpoints/ep_00000000000000000000000000', { key: apiKey });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toMatch(/^application\/json/);
    expect(missing.body).toEqual({ message: 'endpoint not found', code: 'NOT_FOUND' });
    expect(await rest('GET', '/no-such-route', { key: apiKey })).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
  });

  it('answers odd URLs in JSON, never with a 500', async () => {
    const { apiKey } = await createTenant('Odd URLs');
    for (const path of ['', '?x=1', '/', '//me', '/endpoints/%E0%A4%A', '/endpoints/ep_%00', '/me/../tenants']) {
      const answer = await rest('GET', path, { key: apiKey });
      expect(answer.status, path).toBeLessThan(500);
      expect(answer.body, path).toBeTypeOf('object');
      if (answer.status >= 400) expect(answer.body.code, path).toBeTypeOf('string');
    }
  });

  it('answers bad input as 400 BAD_REQUEST with the zod issues', async () => {
    const { apiKey } = await createTenant('Bad input');
    const bad = await rest('POST', '/endpoints', { key: apiKey, body: { url: 5, extra: true } });
    expect(bad.status).toBe(400);
    expect(Object.keys(bad.body).sort()).toEqual(['code', 'issues', 'message']);
    expect(bad.body.code).toBe('BAD_REQUEST');
    expect(bad.body.issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: ['url'], code: 'invalid_type' }),
        expect.objectContaining({ code: 'unrecognized_keys' }),
      ]),
    );
    // A rule of the service (not the schema) is BAD_REQUEST too, with its message.
    const refused = await rest('POST', '/endpoints', { key: apiKey, body: { url: 'ftp://example.test/' } });
    expect(refused).toMatchObject({ status: 400, body: { code: 'BAD_REQUEST' } });
    expect(refused.body.message).toMatch(/endpoint URL rejected/);
  });

  it('answers 401 without a key, 403 for a tenant key on an admin operation, 400 for a body that is not JSON', async () => {
    const { apiKey } = await createTenant('Keys');
    expect(await rest('GET', '/me')).toMatchObject({ status: 401, body: { code: 'UNAUTHORIZED' } });
    expect(await rest('GET', '/me', { key: 'hk_not_a_key' })).toMatchObject({ status: 401, body: { code: 'UNAUTHORIZED' } });
    expect(await rest('POST', '/tenants', { key: apiKey, body: { name: 'x' } })).toMatchObject({
      status: 403,
      body: { code: 'FORBIDDEN' },
    });
    const notJson = await rest('POST', '/tenants', { key: admin(), rawBody: '{"name":', headers: { 'content-type': 'application/json' } });
    expect(notJson).toMatchObject({ status: 400, body: { code: 'PARSE_ERROR' } });
    const form = await rest('POST', '/tenants', {
      key: admin(),
      rawBody: 'name=x',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(form).toMatchObject({ status: 415, body: { code: 'UNSUPPORTED_MEDIA_TYPE' } });
  });

  it('answers a body over the limit with 413 PAYLOAD_TOO_LARGE naming the setting', async () => {
    const { tenantId } = await createTenant('Big bodies');
    const big = await rest('POST', '/events', {
      key: admin(),
      body: { tenantId, type: 'job.completed', payload: { blob: 'x'.repeat(100_000) } },
    });
    expect(big).toMatchObject({ status: 413, body: { code: 'PAYLOAD_TOO_LARGE' } });
    expect(big.body.message).toMatch(/HOOKLINE_MAX_PAYLOAD_BYTES/);
  });

  it('refuses an Idempotency-Key header that contradicts the body', async () => {
    const { tenantId } = await createTenant('Two keys');
    const answer = await rest('POST', '/events', {
      key: admin(),
      headers: { 'idempotency-key': 'a' },
      body: { tenantId, type: 'job.completed', payload: {}, idempotencyKey: 'b' },
    });
    expect(answer).toMatchObject({ status: 400, body: { code: 'BAD_REQUEST' } });
  });

  it('answers 429 with Retry-After when a tenant goes over a rate limit', async () => {
    const { apiKey } = await createTenant('Impatient');
    const receiver = await cleanup.receiver();
    const endpoint = await rest('POST', '/endpoints', { key: apiKey, body: { url: receiver.url } });
    const path = `/endpoints/${endpoint.body.endpoint.id}/send-test`;
    expect((await rest('POST', path, { key: apiKey })).status).toBe(200);
    const limited = await rest('POST', path, { key: apiKey });
    expect(limited).toMatchObject({ status: 429, body: { code: 'TOO_MANY_REQUESTS' } });
    // The seconds left in the limit's window: at least 1, at most the whole window.
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(app.config.tenantRateLimits.sendTest.windowMs / 1000);
  });
});

describe('REST query parameters', () => {
  it('coerces booleans and numbers from the query string, "false" as false, and refuses what is neither', async () => {
    await rest('POST', '/event-types', { key: admin(), body: { name: 'query.kept' } });
    await rest('POST', '/event-types', { key: admin(), body: { name: 'query.archived' } });
    expect((await rest('POST', '/event-types/query.archived/archive', { key: admin() })).body).toMatchObject({ archived: true });
    const names = async (query: string) =>
      ((await rest('GET', `/event-types${query}`, { key: admin() })).body.items as Array<{ name: string }>).map((t) => t.name);
    expect(await names('?includeArchived=false')).toContain('query.kept');
    expect(await names('?includeArchived=false')).not.toContain('query.archived');
    expect(await names('')).not.toContain('query.archived');
    expect(await names('?includeArchived=true')).toContain('query.archived');
    expect(await rest('GET', '/event-types?includeArchived=maybe', { key: admin() })).toMatchObject({
      status: 400,
      body: { code: 'BAD_REQUEST' },
    });

    await createTenant('Page one');
    await createTenant('Page two');
    const page = await rest('GET', '/tenants?limit=1', { key: admin() });
    expect(page.body.items).toHaveLength(1);
    expect(page.body.nextCursor).toBe(page.body.items[0].id);
    const next = await rest('GET', `/tenants?limit=1&cursor=${page.body.nextCursor}`, { key: admin() });
    expect(next.body.items[0].id > page.body.items[0].id).toBe(true);
    expect(await rest('GET', '/tenants?limit=ten', { key: admin() })).toMatchObject({ status: 400, body: { code: 'BAD_REQUEST' } });
    expect(await rest('GET', '/tenants?limit=0', { key: admin() })).toMatchObject({ status: 400, body: { code: 'BAD_REQUEST' } });
  });

  it('leaves tRPC inputs as strict as before: a JSON body never turns a string into a boolean', async () => {
    const { apiKey } = await createTenant('Strict');
    const receiver = await cleanup.receiver();
    // After REST calls of this procedure (which, left alone, trpc-to-openapi would switch to zod coercion) …
    await rest('POST', '/endpoints', { key: apiKey, body: { url: receiver.url, disabled: false } });
    const client = app.client(apiKey);
    // … "yes" is still no boolean, over tRPC …
    await expect(client.endpoints.create.mutate({ url: receiver.url, disabled: 'yes' as unknown as boolean })).rejects.toMatchObject({
      data: { code: 'BAD_REQUEST' },
    });
    // … nor over REST.
    expect(await rest('POST', '/endpoints', { key: apiKey, body: { url: receiver.url, disabled: 'yes' } })).toMatchObject({ status: 400 });
  });
});

describe('OpenAPI document and reference', () => {
  it('serves an OpenAPI 3 document that a validator accepts, with exactly the contract routes', async () => {
    const response = await fetch(`${app.url}/api/v1/openapi.json`);
    expect(response.status).toBe(200);
    const document = (await response.json()) as any;
    await expect(SwaggerParser.validate(structuredClone(document))).resolves.toMatchObject({
      openapi: document.openapi,
      paths: expect.any(Object),
    });
    expect(document.openapi).toMatch(/^3\./);
    expect(document.servers).toEqual([{ url: 'https://hooks.example.test/api/v1' }]);
    expect(document.components.securitySchemes).toEqual({ bearer: expect.objectContaining({ type: 'http', scheme: 'bearer' }) });

    const operations = Object.entries(document.paths as Record<string, Record<string, unknown>>).flatMap(([path, item]) =>
      Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(operations.sort()).toEqual(
      [
        'POST /tenants',
        'GET /tenants',
        'GET /tenants/{tenantId}',
        'PATCH /tenants/{tenantId}',
        'DELETE /tenants/{tenantId}',
        'GET /me',
        'POST /tenants/{tenantId}/rotate-api-key',
        'POST /signing-secret/rotate',
        'POST /event-types/{name}/archive',
        'GET /health',
        'POST /event-types',
        'GET /event-types',
        'POST /endpoints',
        'GET /endpoints',
        'GET /endpoints/{endpointId}',
        'PATCH /endpoints/{endpointId}',
        'DELETE /endpoints/{endpointId}',
        'POST /endpoints/{endpointId}/rotate-secret',
        'POST /endpoints/{endpointId}/send-test',
        'POST /endpoints/{endpointId}/recover',
        'POST /events',
        'POST /events/batch',
        'GET /endpoints/{endpointId}/stats',
        'GET /events',
        'GET /events/{eventId}',
        'GET /deliveries',
        'GET /deliveries/{deliveryId}',
        'POST /deliveries/{deliveryId}/retry',
        'POST /portal/sessions',
        'DELETE /portal/sessions/{sessionId}',
      ].sort(),
    );
    // Query parameters are typed, so generated clients send `?includeArchived=false` as a boolean.
    const includeArchived = document.paths['/event-types'].get.parameters.find((p: { name: string }) => p.name === 'includeArchived');
    expect(includeArchived).toMatchObject({ in: 'query', schema: { type: 'boolean' } });
    expect(document.paths['/events'].post.parameters).toEqual(
      expect.arrayContaining([expect.objectContaining({ in: 'header', name: 'Idempotency-Key' })]),
    );
  });

  it('serves /docs from its own assets: every script and stylesheet is same-origin and answers 200, and the policy allows no other host', async () => {
    const page = await fetch(`${app.url}/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/default-src 'none'/);
    expect(csp).toMatch(/script-src 'self'(;|$)/);
    expect(csp).not.toMatch(/https?:|\*/);
    const html = await page.text();
    const assets = [...html.matchAll(/\b(?:src|href)\s*=\s*"([^"]+)"/g)].map((m) => m[1]!);
    expect(assets.length).toBeGreaterThanOrEqual(3);
    for (const asset of assets) {
      const url = new URL(asset, `${app.url}/docs`);
      expect(url.origin).toBe(app.url);
      const response = await fetch(url);
      expect(response.status, asset).toBe(200);
      expect((await response.arrayBuffer()).byteLength, asset).toBeGreaterThan(0);
    }
    // The page reads the document from this deployment, and never asks the public validator.
    const init = await (await fetch(`${app.url}/docs/init.js`)).text();
    expect(init).toContain('"/api/v1/openapi.json"');
    expect(init).toContain('validatorUrl: null');
  });
});
