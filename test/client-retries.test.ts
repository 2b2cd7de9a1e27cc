// Safe retries of sends by the typed client, against a real API behind a loopback proxy that can
// lose an answer: it forwards the send, lets the API store the event, then drops the connection
// instead of answering (what a producer sees when the API is killed mid-request), or answers 503
// itself. The client must retry with the same idempotency key, and exactly one event is stored.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHooklineClient, HooklineError, type HooklineClientOptions } from '../client/index.js';
import { startTestApp, type TestApp } from './helpers/app.js';

/** What the proxy does with one send: pass it on, lose the API's answer, or answer 503 itself. */
type Plan = 'forward' | 'lose-answer' | 'unavailable';

interface SeenSend {
  path: string;
  body: Record<string, unknown>;
}

interface LossyProxy {
  url: string;
  /** Plans for the next sends, in order; a send with no plan left is forwarded. */
  plans: Plan[];
  /** Every send (events.*) that reached the proxy, in order. */
  sends: SeenSend[];
  close(): Promise<void>;
}

const unavailableBody = JSON.stringify({
  error: {
    message: 'hookline is restarting',
    code: -32603,
    data: { code: 'SERVICE_UNAVAILABLE', httpStatus: 503, path: 'events.send', zodIssues: null },
  },
});

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function startLossyProxy(upstream: string): Promise<LossyProxy> {
  const proxy = { plans: [] as Plan[], sends: [] as SeenSend[] };
  const server: Server = createServer(async (request, response) => {
    const body = await readBody(request);
    const path = new URL(request.url ?? '/', 'http://proxy').pathname.replace(/^\/trpc\//, '');
    const isSend = path.startsWith('events.send');
    if (isSend) proxy.sends.push({ path, body: JSON.parse(body.toString('utf8')) as Record<string, unknown> });
    const plan: Plan = (isSend && proxy.plans.shift()) || 'forward';
    if (plan === 'unavailable') {
      response.writeHead(503, { 'content-type': 'application/json' }).end(unavailableBody);
      return;
    }
    const answer = await fetch(upstream + request.url, {
      method: request.method ?? 'GET',
      headers: Object.fromEntries(
        ['content-type', 'authorization'].flatMap((name) => (request.headers[name] ? [[name, String(request.headers[name])]] : [])),
      ),
      ...(body.length > 0 && { body }),
    });
    const answerBody = Buffer.from(await answer.arrayBuffer());
    // The API has stored the event and answered; the caller never hears of it.
    if (plan === 'lose-answer') {
      request.socket.destroy();
      return;
    }
    response.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' }).end(answerBody);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return Object.assign(proxy, {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
}

let app: TestApp;
let proxy: LossyProxy;
let tenantId: string;

beforeAll(async () => {
  app = await startTestApp();
  proxy = await startLossyProxy(app.url);
  await app.admin.eventTypes.upsert.mutate({ name: 'job.finished' });
}, 60_000);

afterAll(async () => {
  await proxy?.close();
  await app?.close();
});

beforeEach(async () => {
  proxy.plans = [];
  proxy.sends.length = 0;
  tenantId = (await app.admin.tenants.create.mutate({ name: 'Producer' })).tenant.id;
});

function producer(options: Partial<HooklineClientOptions> = {}) {
  return createHooklineClient({
    url: proxy.url,
    apiKey: app.config.adminKey,
    retry: { baseDelayMs: 1, maxDelayMs: 10 },
    ...options,
  });
}

async function storedEvents(): Promise<Array<{ id: string; idempotency_key: string | null }>> {
  return app.deps.sql<Array<{ id: string; idempotency_key: string | null }>>`
    select id, idempotency_key from events where tenant_id = ${tenantId} order by id`;
}

const job = () => ({ tenantId, type: 'job.finished', payload: { job: 'j_1' } });

describe('events.send through the typed client, when an answer is lost', () => {
  it('retries with the key it attached, and the API stores the event once', async () => {
    proxy.plans = ['lose-answer'];
    const sent = await producer().events.send.mutate(job());

    expect(proxy.sends).toHaveLength(2);
    const [first, second] = proxy.sends.map((send) => send.body.idempotencyKey);
    expect(first).toMatch(/^[0-9a-f-]{36}$/);
    expect(second).toBe(first);
    const stored = await storedEvents();
    expect(stored).toEqual([{ id: sent.event.id, idempotency_key: first }]);
  });

  it('retries a 503 (SERVICE_UNAVAILABLE) until the API answers, within its attempts', async () => {
    proxy.plans = ['unavailable', 'unavailable'];
    const sent = await producer().events.send.mutate(job());
    expect(proxy.sends).toHaveLength(3);
    expect(await storedEvents()).toEqual([{ id: sent.event.id, idempotency_key: expect.any(String) }]);
  });

  it("keeps the caller's own key", async () => {
    proxy.plans = ['lose-answer'];
    const sent = await producer().events.send.mutate({ ...job(), idempotencyKey: 'order-17' });
    expect(proxy.sends.map((send) => send.body.idempotencyKey)).toEqual(['order-17', 'order-17']);
    expect(await storedEvents()).toEqual([{ id: sent.event.id, idempotency_key: 'order-17' }]);
  });

  it('gives up after its attempts with NETWORK_ERROR; the one stored event keeps the key', async () => {
    proxy.plans = ['lose-answer', 'lose-answer', 'lose-answer'];
    const error = await producer({ retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 10 } })
      .events.send.mutate(job())
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(HooklineError);
    expect(error).toMatchObject({ code: 'NETWORK_ERROR' });
    expect(proxy.sends).toHaveLength(3);
    const keys = new Set(proxy.sends.map((send) => send.body.idempotencyKey));
    expect(keys.size).toBe(1);
    // Stored although the caller saw an error: a later retry with that key finds it.
    expect(await storedEvents()).toEqual([{ id: expect.stringMatching(/^evt_/), idempotency_key: [...keys][0] }]);
  });

  it('with retries off, the lost answer surfaces as NETWORK_ERROR (the event is stored all the same)', async () => {
    proxy.plans = ['lose-answer'];
    const error = await producer({ retry: false })
      .events.send.mutate(job())
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toMatchObject({ name: 'HooklineError', code: 'NETWORK_ERROR' });
    expect(proxy.sends).toHaveLength(1);
    expect(await storedEvents()).toHaveLength(1);
  });

  it("takes the API's other answers as final: a BAD_REQUEST is not retried", async () => {
    const error = await producer()
      .events.send.mutate({ ...job(), type: 'not.registered' })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toMatchObject({ code: 'BAD_REQUEST' });
    expect(proxy.sends).toHaveLength(1);
    expect(await storedEvents()).toEqual([]);
  });

  it('does not retry other mutations', async () => {
    proxy.plans = [];
    const seen: string[] = [];
    const client = producer({
      fetch: (url) => {
        seen.push(String(url));
        return Promise.reject(new TypeError('fetch failed'));
      },
    });
    await expect(client.tenants.create.mutate({ name: 'Once' })).rejects.toMatchObject({ code: 'NETWORK_ERROR' });
    expect(seen).toHaveLength(1);
  });
});

describe('events.sendBatch through the typed client', () => {
  it('gives each event without a key its own key, and keeps the keys given', async () => {
    // sendBatch may not be in this server's router yet: its input is what the client sends, seen at the proxy.
    const client = producer() as unknown as {
      events: { sendBatch: { mutate(input: { events: Array<Record<string, unknown>> }): Promise<unknown> } };
    };
    await client.events.sendBatch.mutate({ events: [job(), { ...job(), idempotencyKey: 'mine' }, job()] }).catch(() => undefined);
    const [batch] = proxy.sends;
    expect(batch?.path).toBe('events.sendBatch');
    const keys = (batch!.body.events as Array<{ idempotencyKey?: string }>).map((item) => item.idempotencyKey);
    expect(keys[1]).toBe('mine');
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(keys[2]).toMatch(/^[0-9a-f-]{36}$/);
    expect(keys[2]).not.toBe(keys[0]);
  });
});
