// Ed25519 endpoints (`signing: "ed25519"`), end to end with a real worker and receiver: the secret
// is a `whpk_` public key that `get` shows too, the private key is stored sealed, deliveries carry
// `v1a,` signatures that Node's crypto verifies by the Standard Webhooks rules alone (not with
// hookline's helpers), a rotation signs with both keys during its grace period, and the field is
// refused where it cannot work (an HMAC scheme, an imported secret). Also over REST.
import { createPublicKey, verify } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyWebhook } from '../client/verify.js';
import { endpoints } from '../db/schema.js';
import { generateSecret } from '../shared/signing.js';
import { startTestApp, type Client, type TestApp } from './helpers/app.js';
import { errorOf } from './helpers/errors.js';
import { receiverTracker, type ReceivedRequest, type Receiver } from './helpers/receiver.js';

let app: TestApp;
let tenantId: string;
let tenantKey: string;
let client: Client;
let receiver: Receiver;
const receivers = receiverTracker();

beforeAll(async () => {
  app = await startTestApp({ worker: true, env: { HOOKLINE_SIGNATURE_SCHEME: 'standard' } });
  await app.admin.eventTypes.upsert.mutate({ name: 'job.completed' });
  const created = await app.admin.tenants.create.mutate({ name: 'Asymmetric' });
  tenantId = created.tenant.id;
  tenantKey = created.apiKey;
  client = app.client(tenantKey);
  receiver = await receivers.receiver();
});
afterAll(async () => {
  await receivers.closeAll();
  await app.close();
});

/**
 * Standard Webhooks 1.0, asymmetric: the public key is `whpk_` + base64 of the raw 32-byte Ed25519
 * key; each `v1a,<base64>` entry of `webhook-signature` is an Ed25519 signature of
 * `{webhook-id}.{webhook-timestamp}.{body}`. Built from those rules with Node's crypto (a JWK), so
 * hookline's own signing code is not what checks it. Returns which of the keys verified an entry.
 */
function keysThatVerify(request: ReceivedRequest, publicKeys: readonly string[]): string[] {
  const id = request.headers['webhook-id'] as string;
  const timestamp = request.headers['webhook-timestamp'] as string;
  const content = Buffer.from(`${id}.${timestamp}.${request.body}`, 'utf8');
  const entries = (request.headers['webhook-signature'] as string).split(' ');
  return publicKeys.filter((publicKey) => {
    expect(publicKey).toMatch(/^whpk_[A-Za-z0-9+/]{43}=$/);
    const raw = Buffer.from(publicKey.slice('whpk_'.length), 'base64');
    expect(raw).toHaveLength(32);
    const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
    return entries.some((entry) => entry.startsWith('v1a,') && verify(null, content, key, Buffer.from(entry.slice(4), 'base64')));
  });
}

async function deliverOne(endpointId: string, payload: Record<string, unknown>): Promise<ReceivedRequest> {
  const { event } = await app.admin.events.send.mutate({ tenantId, type: 'job.completed', payload });
  // Other endpoints of the tenant get the event too; this one's request is the one at its path.
  const [request] = await receiver.waitFor(1, {
    match: (r) => r.headers['webhook-id'] === event.id && r.path === `/${endpointId}`,
    timeoutMs: 15_000,
  });
  return request!;
}

describe('signing: "ed25519"', () => {
  let endpointId: string;
  let publicKey: string;

  it('create answers the public key, get and list show it, the private key is stored sealed', async () => {
    const created = await client.endpoints.create.mutate({ url: `${receiver.url}/placeholder`, signing: 'ed25519' });
    endpointId = created.endpoint.id;
    publicKey = created.secret;
    expect(publicKey).toMatch(/^whpk_[A-Za-z0-9+/]{43}=$/);
    expect(created.endpoint).toMatchObject({ signing: 'ed25519', publicKey });
    await client.endpoints.update.mutate({ endpointId, url: `${receiver.url}/${endpointId}` });
    expect(await client.endpoints.get.query({ endpointId })).toMatchObject({ signing: 'ed25519', publicKey });
    const { items } = await client.endpoints.list.query();
    expect(items.find((e) => e.id === endpointId)).toMatchObject({ signing: 'ed25519', publicKey });

    const [row] = await app.deps.db
      .select({ secret: endpoints.secret, publicKey: endpoints.publicKey })
      .from(endpoints)
      .where(and(eq(endpoints.tenantId, tenantId), eq(endpoints.id, endpointId)));
    expect(row!.secret).not.toMatch(/whsk_|whpk_/);
    expect(app.deps.secretBox.open(row!.secret)).toMatch(/^whsk_/);
    expect(row!.publicKey).toBe(publicKey);
  });

  it('a delivery carries only a v1a signature, which Node verifies from the spec rules, and verifyWebhook accepts', async () => {
    const request = await deliverOne(endpointId, { n: 1, text: 'Ünïcødé ✓' });
    const entries = (request.headers['webhook-signature'] as string).split(' ');
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatch(/^v1a,[A-Za-z0-9+/]{86}==$/);
    expect(keysThatVerify(request, [publicKey])).toEqual([publicKey]);

    // Any other key, or a changed body, fails.
    const other = (await client.endpoints.create.mutate({ url: `${receiver.url}/other`, signing: 'ed25519' })).secret;
    expect(keysThatVerify(request, [other])).toEqual([]);
    expect(keysThatVerify({ ...request, body: request.body.replace('1', '2') }, [publicKey])).toEqual([]);

    // The client package's verifier, with the public key as the endpoint's secret.
    const verified = verifyWebhook({ body: request.body, headers: request.headers, secret: publicKey, now: () => Date.now() });
    expect(verified).toEqual({ n: 1, text: 'Ünïcødé ✓' });
    expect(() => verifyWebhook({ body: request.body, headers: request.headers, secret: other })).toThrow(/no signature matches/);
  });

  it('rotateSecret answers a new public key; the old key signs alongside during the grace period', async () => {
    const { secret: next } = await client.endpoints.rotateSecret.mutate({ endpointId, graceSeconds: 3600 });
    expect(next).toMatch(/^whpk_/);
    expect(next).not.toBe(publicKey);
    expect((await client.endpoints.get.query({ endpointId })).publicKey).toBe(next);

    const during = await deliverOne(endpointId, { n: 2 });
    expect((during.headers['webhook-signature'] as string).split(' ')).toHaveLength(2);
    expect(keysThatVerify(during, [publicKey, next])).toEqual([publicKey, next]);
    expect(verifyWebhook({ body: during.body, headers: during.headers, secret: next })).toEqual({ n: 2 });

    // Without a grace period the replaced key stops at once.
    const { secret: last } = await client.endpoints.rotateSecret.mutate({ endpointId, graceSeconds: 0 });
    const after = await deliverOne(endpointId, { n: 3 });
    expect(keysThatVerify(after, [publicKey, next, last])).toEqual([last]);
  });

  it('an HMAC endpoint beside it is unchanged: v1 signature, no public key', async () => {
    const created = await client.endpoints.create.mutate({ url: `${receiver.url}/placeholder` });
    const id = created.endpoint.id;
    await client.endpoints.update.mutate({ endpointId: id, url: `${receiver.url}/${id}` });
    expect(created.secret).toMatch(/^whsec_/);
    expect(created.endpoint).toMatchObject({ signing: 'hmac', publicKey: null });
    // Only this endpoint (the Ed25519 one is subscribed too): look for the HMAC one's request.
    const { event } = await app.admin.events.send.mutate({ tenantId, type: 'job.completed', payload: { n: 4 } });
    const [request] = await receiver.waitFor(1, { match: (r) => r.headers['webhook-id'] === event.id && r.path === `/${id}` });
    expect(request!.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(verifyWebhook({ body: request!.body, headers: request!.headers, secret: created.secret })).toEqual({ n: 4 });
  });

  it('an existing secret cannot be imported as an Ed25519 key', async () => {
    const error = await errorOf(client.endpoints.create.mutate({ url: `${receiver.url}/x`, signing: 'ed25519', secret: generateSecret() }));
    expect(error.data?.code).toBe('BAD_REQUEST');
    expect(error.message).toContain('signing "hmac"');
  });

  it('over REST, as the zod schema says', async () => {
    const response = await fetch(`${app.url}/api/v1/endpoints`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tenantKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ url: `${receiver.url}/rest`, signing: 'ed25519' }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { endpoint: { id: string; signing: string; publicKey: string }; secret: string };
    expect(body.endpoint).toMatchObject({ signing: 'ed25519', publicKey: body.secret });
    const shown = await fetch(`${app.url}/api/v1/endpoints/${body.endpoint.id}`, { headers: { authorization: `Bearer ${tenantKey}` } });
    expect(((await shown.json()) as { publicKey: string }).publicKey).toBe(body.secret);
    const bad = await fetch(`${app.url}/api/v1/endpoints`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tenantKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ url: `${receiver.url}/rest`, signing: 'rsa' }),
    });
    expect(bad.status).toBe(400);
  });
});

describe('under an HMAC scheme', () => {
  let hexApp: TestApp;
  beforeAll(async () => {
    hexApp = await startTestApp({ env: { HOOKLINE_SIGNATURE_SCHEME: 'hmac-sha256-hex' } });
  });
  afterAll(() => hexApp.close());

  it('signing "ed25519" is BAD_REQUEST naming the setting; "hmac" is accepted', async () => {
    const { apiKey } = await hexApp.admin.tenants.create.mutate({ name: 'Hex' });
    const hex = hexApp.client(apiKey);
    const error = await errorOf(hex.endpoints.create.mutate({ url: 'http://127.0.0.1:9/x', signing: 'ed25519' }));
    expect(error.data?.code).toBe('BAD_REQUEST');
    expect(error.message).toContain('HOOKLINE_SIGNATURE_SCHEME');
    expect((await hex.endpoints.create.mutate({ url: 'http://127.0.0.1:9/x', signing: 'hmac' })).endpoint.signing).toBe('hmac');
  });
});
