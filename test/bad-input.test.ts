// Bad input over real HTTP gets a typed tRPC error with a message that says what to change: a URL
// too long for Node's parser, a body over the API's limit, a payload over HOOKLINE_MAX_PAYLOAD_BYTES,
// URL refusals naming the setting that lifts them; and `http://localhost:…` accepted and delivered
// when loopback is allowed.
import { once } from 'node:events';
import net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createHooklineClient, isHooklineError } from '../client/index.js';
import { startTestApp, type Client, type TestApp } from './helpers/app.js';
import { errorOf } from './helpers/errors.js';
import { cleanupTracker } from './helpers/fixtures.js';

let app: TestApp;
let tenantId: string;
const cleanup = cleanupTracker();

beforeAll(async () => {
  app = await startTestApp({ worker: true });
  await app.admin.eventTypes.upsert.mutate({ name: 'job.completed' });
  tenantId = (await app.admin.tenants.create.mutate({ name: 'Bad Input' })).tenant.id;
});
afterEach(() => cleanup.runAll());
afterAll(() => app.close());

/** Sends raw bytes to the API and returns everything it answers before closing. */
async function rawRequest(bytes: string): Promise<string> {
  const socket = net.connect(Number(new URL(app.url).port), '127.0.0.1');
  await once(socket, 'connect');
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.write(bytes);
  await once(socket, 'close');
  return Buffer.concat(chunks).toString('utf8');
}

describe('a URL too long for the HTTP parser', () => {
  const longType = 'a'.repeat(20_000);

  it('answers 431 with a JSON tRPC error (PAYLOAD_TOO_LARGE) naming the limit, over fetch', async () => {
    const input = encodeURIComponent(JSON.stringify({ tenantId, type: longType }));
    const response = await fetch(`${app.url}/trpc/events.list?input=${input}`, {
      headers: { authorization: `Bearer ${app.config.adminKey}` },
    });
    expect(response.status).toBe(431);
    expect(response.headers.get('content-type')).toBe('application/json');
    const body = (await response.json()) as { error: { message: string; code: number; data: { code: string; httpStatus: number } } };
    expect(body.error.data).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', httpStatus: 431 });
    expect(body.error.code).toBe(-32013);
    expect(body.error.message).toContain('the request URL and headers are larger than the 16384 bytes the API reads');
    // The server goes on answering.
    expect(await app.admin.health.query()).toMatchObject({ ok: true });
  });

  it('is a typed error for the tRPC client and for hookline/client (on a reused keep-alive connection too)', async () => {
    const error = await errorOf(app.admin.events.list.query({ tenantId, type: longType }));
    expect(error.data?.code).toBe('PAYLOAD_TOO_LARGE');
    expect(error.data?.httpStatus).toBe(431);
    expect(error.message).toContain('16384 bytes');

    const hookline = createHooklineClient({ url: app.url, apiKey: app.config.adminKey });
    const fromPackage = await hookline.events.list.query({ tenantId, type: longType }).catch((e: unknown) => e);
    expect(isHooklineError(fromPackage)).toBe(true);
    if (isHooklineError(fromPackage)) {
      expect(fromPackage.code).toBe('PAYLOAD_TOO_LARGE');
      expect(fromPackage.httpStatus).toBe(431);
    }
  });

  it('a request Node cannot parse answers 400 in JSON (BAD_REQUEST) and closes', async () => {
    const answer = await rawRequest('NOT HTTP AT ALL\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(answer).toContain('Content-Type: application/json');
    const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { error: { data: { code: string } } };
    expect(body.error.data.code).toBe('BAD_REQUEST');
  });
});

describe('oversized bodies and payloads', () => {
  it('a 1 MB payload (over the HTTP body limit) says what the limit is and which setting sets it', async () => {
    const error = await errorOf(
      app.admin.events.send.mutate({ tenantId, type: 'job.completed', payload: { blob: 'x'.repeat(1_000_000) } }),
    );
    expect(error.data?.code).toBe('PAYLOAD_TOO_LARGE');
    expect(error.data?.httpStatus).toBe(413);
    expect(error.message).not.toBe('PAYLOAD_TOO_LARGE');
    const maxBody = app.config.maxPayloadBytes * 2 + 64 * 1024;
    expect(error.message).toContain(`larger than the ${maxBody} bytes the API reads`);
    expect(error.message).toContain(`at most ${app.config.maxPayloadBytes} bytes serialized (HOOKLINE_MAX_PAYLOAD_BYTES)`);
  });

  it('a payload within the body limit but over HOOKLINE_MAX_PAYLOAD_BYTES says its size and the limit', async () => {
    const blob = 'x'.repeat(app.config.maxPayloadBytes);
    const error = await errorOf(app.admin.events.send.mutate({ tenantId, type: 'job.completed', payload: { blob } }));
    expect(error.data?.code).toBe('PAYLOAD_TOO_LARGE');
    const size = Buffer.byteLength(JSON.stringify({ blob }));
    expect(error.message).toBe(
      `the payload is ${size} bytes serialized, over the limit of ${app.config.maxPayloadBytes} bytes (HOOKLINE_MAX_PAYLOAD_BYTES)`,
    );
  });
});

describe('URL refusals name the setting that lifts them', () => {
  let strict: TestApp;
  let tenant: Client;
  let strictTenantId: string;
  beforeAll(async () => {
    strict = await startTestApp({ env: { HOOKLINE_ALLOW_HTTP: 'false', HOOKLINE_ALLOWED_NETWORKS: '' } });
    await strict.admin.eventTypes.upsert.mutate({ name: 'job.completed' });
    const created = await strict.admin.tenants.create.mutate({ name: 'Strict' });
    strictTenantId = created.tenant.id;
    tenant = strict.client(created.apiKey);
  });
  afterAll(() => strict.close());

  it.each([
    ['http://', 'http://hooks.example.com/', 'only https URLs are allowed (http:// is accepted when HOOKLINE_ALLOW_HTTP=true'],
    [
      'a loopback address',
      'https://127.0.0.1:8443/',
      'loopback address 127.0.0.1 is not allowed (allowed when its network is listed in HOOKLINE_ALLOWED_NETWORKS)',
    ],
    [
      'a private address',
      'https://10.0.0.7/',
      'private address 10.0.0.7 is not allowed (allowed when its network is listed in HOOKLINE_ALLOWED_NETWORKS)',
    ],
    [
      'localhost',
      'https://localhost/',
      'hostname localhost is not allowed: it is loopback (127.0.0.1 and ::1) (allowed when HOOKLINE_ALLOWED_NETWORKS lists 127.0.0.0/8 or ::1/128)',
    ],
  ])('endpoints.create refuses %s with BAD_REQUEST naming the setting', async (_label, url, message) => {
    const error = await errorOf(tenant.endpoints.create.mutate({ url }));
    expect(error.data?.code).toBe('BAD_REQUEST');
    expect(error.message).toContain(message);
  });

  it('so do events.send with a one-off url, and endpoints.update', async () => {
    const sent = await errorOf(
      strict.admin.events.send.mutate({ tenantId: strictTenantId, type: 'job.completed', payload: {}, url: 'http://hooks.example.com/' }),
    );
    expect(sent.data?.code).toBe('BAD_REQUEST');
    expect(sent.message).toContain('HOOKLINE_ALLOW_HTTP=true');
    const { endpoint } = await tenant.endpoints.create.mutate({ url: 'https://hooks.example.com/' });
    const updated = await errorOf(tenant.endpoints.update.mutate({ endpointId: endpoint.id, url: 'https://192.168.0.9/' }));
    expect(updated.data?.code).toBe('BAD_REQUEST');
    expect(updated.message).toContain('HOOKLINE_ALLOWED_NETWORKS');
  });
});

describe('http://localhost when loopback is allowed', () => {
  it('is accepted at registration and delivered to the loopback receiver', async () => {
    const receiver = await cleanup.receiver();
    const tenant = await app.admin.tenants.create.mutate({ name: 'Local Dev' });
    const client = app.client(tenant.apiKey);
    const { endpoint } = await client.endpoints.create.mutate({ url: `http://localhost:${receiver.port}/hook` });
    expect(endpoint.url).toBe(`http://localhost:${receiver.port}/hook`);
    const sent = await app.admin.events.send.mutate({ tenantId: tenant.tenant.id, type: 'job.completed', payload: { local: true } });
    const [request] = await receiver.waitFor(1);
    expect(request!.path).toBe('/hook');
    expect(request!.headers.host).toBe(`localhost:${receiver.port}`);
    expect(JSON.parse(request!.body)).toEqual({ local: true });
    expect(sent.deliveries).toHaveLength(1);
    // A one-off url may name localhost too.
    const oneOff = await app.admin.events.send.mutate({
      tenantId: tenant.tenant.id,
      type: 'job.completed',
      payload: { oneOff: true },
      url: `http://api.localhost:${receiver.port}/once`,
    });
    expect(oneOff.deliveries).toHaveLength(1);
    await receiver.waitFor(1, { match: (r) => r.path === '/once' });
  });
});
