// No secret reaches a log line. A whole delivery run — tenant, endpoint with a token in its URL and
// an auth header, secret rotation, successful, retried, failed and one-off deliveries, a rejected
// key, and an internal error while storing an endpoint — is logged at `debug` into memory, then
// every secret the run handled is looked for in the output. Delivery lines carry their ids.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { settledDeliveries } from './helpers/fixtures.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';

let app: TestApp;
let ok: Receiver;
let down: Receiver;
const lines: string[] = [];

beforeAll(async () => {
  app = await startTestApp({
    env: { HOOKLINE_LOG_LEVEL: 'debug', HOOKLINE_RETRY_SCHEDULE: '50ms' },
    worker: true,
    logDestination: { write: (line) => void lines.push(line) },
  });
  ok = await startReceiver();
  down = await startReceiver(() => ({ status: 500, body: 'nope' }));
  await app.admin.eventTypes.upsert.mutate({ name: 'job.completed' });
});
afterAll(async () => {
  await ok.close();
  await down.close();
  await app.close();
});

describe('logs', () => {
  it('carry no admin key, tenant key, signing or endpoint secret, URL token or custom auth header', async () => {
    const secrets: Record<string, string> = {
      adminKey: app.config.adminKey,
      encryptionKey: app.config.encryptionKey.toString('base64'),
      urlToken: 'tok_url_5b2f8c1d9e7a4f60',
      headerToken: 'tok_hdr_91c3e5a7b2d4f608',
    };
    const { tenant, apiKey, signingSecret } = await app.admin.tenants.create.mutate({ name: 'Secretive Co' });
    Object.assign(secrets, { apiKey, signingSecret });
    const tenantClient = app.client(apiKey);

    const good = await tenantClient.endpoints.create.mutate({
      url: `${ok.url}/hooks?token=${secrets.urlToken}`,
      headers: { authorization: `Bearer ${secrets.headerToken}` },
    });
    const rotated = await tenantClient.endpoints.rotateSecret.mutate({ endpointId: good.endpoint.id });
    const bad = await tenantClient.endpoints.create.mutate({ url: `${down.url}/hooks` });
    Object.assign(secrets, { endpointSecret: good.secret, rotatedSecret: rotated.secret, badEndpointSecret: bad.secret });

    const toBoth = await app.admin.events.send.mutate({ tenantId: tenant.id, type: 'job.completed', payload: { n: 1 } });
    const oneOff = await app.admin.events.send.mutate({
      tenantId: tenant.id,
      type: 'job.completed',
      payload: { n: 2 },
      url: `${ok.url}/once?token=${secrets.urlToken}`,
    });
    const deliveryIds = [...toBoth.deliveries, ...oneOff.deliveries].map((d) => d.id);
    expect(deliveryIds).toHaveLength(3);

    // A mistyped key is refused; the key it was is not logged either.
    secrets.wrongKey = `${apiKey.slice(0, -4)}zzzz`;
    await expect(app.client(secrets.wrongKey).tenants.me.query()).rejects.toThrow();

    // An internal error while storing an endpoint with a secret URL and header: the error is
    // logged, the statement's parameters are not.
    await app.deps.sql.unsafe(`
      create function refuse_endpoint() returns trigger language plpgsql as $$
        begin raise exception 'endpoint storage failed'; end $$;
      create trigger refuse_endpoint before insert on endpoints for each row execute function refuse_endpoint();`);
    await expect(
      tenantClient.endpoints.create.mutate({
        url: `${ok.url}/other?token=${secrets.urlToken}`,
        headers: { authorization: `Bearer ${secrets.headerToken}` },
      }),
    ).rejects.toThrow();
    await app.deps.sql.unsafe('drop trigger refuse_endpoint on endpoints; drop function refuse_endpoint()');

    await settledDeliveries(app, deliveryIds);
    // Signatures are derived from secrets, so the request headers must not be logged either.
    for (const request of [...ok.requests, ...down.requests]) {
      secrets[`signature ${request.path}`] = String(request.headers['webhook-signature']);
    }
    expect(ok.requests.length).toBe(2);
    expect(down.requests.length).toBe(2); // the first attempt and its one retry

    const output = lines.join('');
    const records = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    // The run was actually logged: internal errors, graphile-worker's job lines, delivery attempts.
    expect(records.some((r) => r.msg === 'procedure failed')).toBe(true);
    expect(records.some((r) => r.level === 20 && r.scope !== undefined)).toBe(true);

    for (const [name, secret] of Object.entries(secrets)) {
      expect(secret.length, name).toBeGreaterThanOrEqual(16);
      expect(output.includes(secret), `${name} appears in the logs`).toBe(false);
      // The key inside a `whsec_` secret, too.
      if (secret.startsWith('whsec_')) expect(output.includes(secret.slice(6)), `${name} key appears in the logs`).toBe(false);
    }
  });

  it('delivery lines carry eventId and deliveryId', async () => {
    const attempts = lines
      .map((line) => JSON.parse(line) as { msg?: string; eventId?: string; deliveryId?: string; outcome?: string })
      .filter((r) => r.msg === 'delivery attempt');
    // Two successes, one retry and one failure from the run above.
    expect(attempts.map((a) => a.outcome).sort()).toEqual(['failed', 'retry', 'succeeded', 'succeeded']);
    for (const attempt of attempts) {
      expect(attempt.eventId).toMatch(/^evt_/);
      expect(attempt.deliveryId).toMatch(/^dlv_/);
    }
  });
});
