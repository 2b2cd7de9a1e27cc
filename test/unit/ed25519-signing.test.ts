// Ed25519 in shared/signing.ts and client/verify.ts: key formats, `v1a,` signatures checked by
// Node's crypto from the Standard Webhooks rules (a JWK of the raw key, not our DER headers),
// verifyWebhook with public keys (alone, several, mixed with whsec_ secrets) and its rejections.
import { createPublicKey, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { verifyWebhook, WebhookVerificationError } from '../../client/verify.js';
import { ed25519PublicKeyOf, generateEd25519Keys, generateSecret, webhookHeaders } from '../../shared/signing.js';

const body = JSON.stringify({ type: 'job.completed', data: { id: 'job_1', title: 'Ünïcødé ✓' } });
const now = 1_760_000_000;
const clock = () => now * 1000;

function signed(secrets: readonly string[]) {
  return webhookHeaders({ scheme: 'standard', headerPrefix: 'X-Webhook', id: 'evt_01', timestamp: now, attempt: 1, body, secrets });
}

function nodeVerifies(publicKey: string, signature: string): boolean {
  const x = Buffer.from(publicKey.slice('whpk_'.length), 'base64').toString('base64url');
  const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' });
  return verify(null, Buffer.from(`evt_01.${now}.${body}`), key, Buffer.from(signature.slice('v1a,'.length), 'base64'));
}

describe('Ed25519 keys and signatures', () => {
  it('keys are whsk_/whpk_ + base64 of 32 bytes, and the public key follows from the private one', () => {
    const { secretKey, publicKey } = generateEd25519Keys();
    expect(secretKey).toMatch(/^whsk_[A-Za-z0-9+/]{43}=$/);
    expect(publicKey).toMatch(/^whpk_[A-Za-z0-9+/]{43}=$/);
    expect(ed25519PublicKeyOf(secretKey)).toBe(publicKey);
    expect(generateEd25519Keys().publicKey).not.toBe(publicKey);
  });

  it('a whsk_ secret signs v1a (Node verifies it by the spec rules); a whsec_ secret beside it signs v1', () => {
    const keys = generateEd25519Keys();
    const hmac = generateSecret();
    const [asymmetric, symmetric] = signed([keys.secretKey, hmac])['webhook-signature']!.split(' ');
    expect(asymmetric).toMatch(/^v1a,[A-Za-z0-9+/]{86}==$/);
    expect(symmetric).toMatch(/^v1,/);
    expect(nodeVerifies(keys.publicKey, asymmetric!)).toBe(true);
    expect(nodeVerifies(generateEd25519Keys().publicKey, asymmetric!)).toBe(false);
  });
});

describe('verifyWebhook with whpk_ public keys', () => {
  const current = generateEd25519Keys();
  const previous = generateEd25519Keys();

  it('accepts a v1a signature under its public key', () => {
    expect(verifyWebhook({ body, headers: signed([current.secretKey]), secret: current.publicKey, now: clock })).toEqual(JSON.parse(body));
  });

  it('during a rotation: either key alone accepts the two-signature header', () => {
    const headers = signed([current.secretKey, previous.secretKey]);
    for (const secret of [current.publicKey, previous.publicKey]) {
      expect(verifyWebhook({ body, headers, secret, now: clock })).toEqual(JSON.parse(body));
    }
  });

  it('mixed with whsec_ secrets, any one that matches is enough', () => {
    const hmac = generateSecret();
    expect(verifyWebhook({ body, headers: signed([hmac]), secrets: [current.publicKey, hmac], now: clock })).toEqual(JSON.parse(body));
    expect(verifyWebhook({ body, headers: signed([current.secretKey]), secrets: [hmac, current.publicKey], now: clock })).toEqual(
      JSON.parse(body),
    );
  });

  const reason = (run: () => unknown): string => {
    try {
      run();
    } catch (error) {
      expect(error).toBeInstanceOf(WebhookVerificationError);
      return (error as WebhookVerificationError).reason;
    }
    throw new Error('did not throw');
  };

  it('rejects another key, a tampered body, a v1a signature relabelled v1, and a malformed key', () => {
    const headers = signed([current.secretKey]);
    expect(reason(() => verifyWebhook({ body, headers, secret: previous.publicKey, now: clock }))).toBe('invalid_signature');
    expect(reason(() => verifyWebhook({ body: body.replace('1', '2'), headers, secret: current.publicKey, now: clock }))).toBe(
      'invalid_signature',
    );
    const relabelled = { ...headers, 'webhook-signature': headers['webhook-signature']!.replace('v1a,', 'v1,') };
    expect(reason(() => verifyWebhook({ body, headers: relabelled, secret: current.publicKey, now: clock }))).toBe('invalid_signature');
    expect(reason(() => verifyWebhook({ body, headers, secret: 'whpk_dG9vc2hvcnQ=', now: clock }))).toBe('no_secret');
  });

  it('checks the timestamp of an authentic v1a request', () => {
    const headers = signed([current.secretKey]);
    expect(reason(() => verifyWebhook({ body, headers, secret: current.publicKey, now: () => (now + 3600) * 1000 }))).toBe(
      'timestamp_too_old',
    );
  });
});
