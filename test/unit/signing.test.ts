// Signing: the Standard Webhooks known vector, headers checked by two independent verifiers
// (standardwebhooks, svix), rotation, and the hex schemes exactly as the seed receivers verify them.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { Webhook as SvixWebhook } from 'svix';
import { describe, expect, it } from 'vitest';
import {
  decodeStandardSecret,
  generateSecret,
  signatureHeaderNames,
  SIGNATURE_SCHEMES,
  signHmacHex,
  signStandard,
  webhookHeaders,
} from '../../shared/signing.js';

const vector = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};

const nowSeconds = () => Math.floor(Date.now() / 1000);
const body = JSON.stringify({ type: 'video.completed', data: { id: 'vid_1', title: 'Ünïcødé ✓' } });

describe('generateSecret', () => {
  it('is whsec_ + base64 of 32 random bytes', () => {
    const secret = generateSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(decodeStandardSecret(secret)).toHaveLength(32);
    expect(generateSecret()).not.toBe(secret);
  });

  it('is accepted by the standardwebhooks library', () => {
    expect(() => new StandardWebhook(generateSecret())).not.toThrow();
  });
});

describe('signStandard', () => {
  it('matches the Standard Webhooks known vector', () => {
    expect(signStandard(vector.secret, vector.id, vector.timestamp, vector.body)).toBe(vector.signature);
  });

  it('signs a Buffer body the same as the string', () => {
    expect(signStandard(vector.secret, vector.id, vector.timestamp, Buffer.from(vector.body))).toBe(vector.signature);
  });

  it('agrees with the standardwebhooks library on a non-ASCII body', () => {
    const secret = generateSecret();
    const ts = 1_700_000_000;
    expect(signStandard(secret, 'evt_1', ts, body)).toBe(new StandardWebhook(secret).sign('evt_1', new Date(ts * 1000), body));
  });

  it('accepts a secret without the whsec_ prefix, like the reference library', () => {
    expect(signStandard(vector.secret.slice(6), vector.id, vector.timestamp, vector.body)).toBe(vector.signature);
  });

  it('rejects an empty secret and a fractional timestamp', () => {
    expect(() => signStandard('whsec_', 'id', 1, 'x')).toThrow(TypeError);
    expect(() => signStandard(vector.secret, 'id', 1.5, 'x')).toThrow(RangeError);
  });
});

describe('webhookHeaders, standard scheme', () => {
  const base = { scheme: 'standard' as const, headerPrefix: 'X-Webhook', id: 'evt_01h', attempt: 1, body };

  it('emits the four webhook-* headers', () => {
    const secret = generateSecret();
    const ts = nowSeconds();
    const headers = webhookHeaders({ ...base, timestamp: ts, attempt: 3, secrets: [secret] });
    expect(headers).toEqual({
      'webhook-id': 'evt_01h',
      'webhook-timestamp': String(ts),
      'webhook-signature': signStandard(secret, 'evt_01h', ts, body),
      'webhook-attempt': '3',
    });
  });

  it('reproduces the known vector', () => {
    const headers = webhookHeaders({
      ...base,
      id: vector.id,
      timestamp: vector.timestamp,
      body: vector.body,
      secrets: [vector.secret],
    });
    expect(headers['webhook-signature']).toBe(vector.signature);
  });

  it('is verified by the standardwebhooks package (string and Buffer bodies)', () => {
    const secret = generateSecret();
    const headers = webhookHeaders({ ...base, timestamp: nowSeconds(), secrets: [secret] });
    expect(new StandardWebhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
    expect(new StandardWebhook(secret).verify(Buffer.from(body), headers)).toEqual(JSON.parse(body));
  });

  it('is verified by the svix package (which reads webhook-* as well as svix-* headers)', () => {
    const secret = generateSecret();
    const headers = webhookHeaders({ ...base, timestamp: nowSeconds(), secrets: [secret] });
    expect(new SvixWebhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
  });

  it('is rejected by both packages with another secret or a changed body', () => {
    const secret = generateSecret();
    const headers = webhookHeaders({ ...base, timestamp: nowSeconds(), secrets: [secret] });
    expect(() => new StandardWebhook(generateSecret()).verify(body, headers)).toThrow(/No matching signature/);
    expect(() => new SvixWebhook(secret).verify(body + ' ', headers)).toThrow(/No matching signature/);
  });

  it('during a rotation signs with every secret, so receivers holding only the old or only the new both verify', () => {
    const oldSecret = generateSecret();
    const newSecret = generateSecret();
    const ts = nowSeconds();
    const headers = webhookHeaders({ ...base, timestamp: ts, secrets: [newSecret, oldSecret] });
    expect(headers['webhook-signature']).toBe(
      `${signStandard(newSecret, base.id, ts, body)} ${signStandard(oldSecret, base.id, ts, body)}`,
    );
    for (const secret of [oldSecret, newSecret]) {
      expect(new StandardWebhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
      expect(new SvixWebhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
    }
    expect(() => new StandardWebhook(generateSecret()).verify(body, headers)).toThrow();
  });

  it('needs at least one secret and a 1-based attempt', () => {
    expect(() => webhookHeaders({ ...base, timestamp: 1, secrets: [] })).toThrow(TypeError);
    expect(() => webhookHeaders({ ...base, timestamp: 1, attempt: 0, secrets: [generateSecret()] })).toThrow(RangeError);
  });
});

describe('webhookHeaders, hex schemes as the seed receivers check them', () => {
  // Adsumo's documented receiver: hex HMAC of the raw body with the secret string as key.
  function adsumoVerify(rawBody: string, signature: string, secret: string): boolean {
    const expected = createHmac('sha256', secret).update(rawBody).digest('hex');
    return signature.length === expected.length && timingSafeEqual(Buffer.from(signature), Buffer.from(expected));
  }

  it('hmac-sha256-hex: X-Adsumo-* headers, signature = hex HMAC of the body keyed by the whole secret', () => {
    const secret = generateSecret();
    const ts = nowSeconds();
    const headers = webhookHeaders({
      scheme: 'hmac-sha256-hex',
      headerPrefix: 'X-Adsumo',
      id: 'evt_2',
      timestamp: ts,
      attempt: 2,
      body,
      secrets: [secret],
    });
    expect(Object.keys(headers).sort()).toEqual(['X-Adsumo-Attempt', 'X-Adsumo-Id', 'X-Adsumo-Signature', 'X-Adsumo-Timestamp'].sort());
    expect(headers['X-Adsumo-Id']).toBe('evt_2');
    expect(headers['X-Adsumo-Timestamp']).toBe(String(ts));
    expect(headers['X-Adsumo-Attempt']).toBe('2');
    expect(headers['X-Adsumo-Signature']).toMatch(/^[0-9a-f]{64}$/);
    expect(adsumoVerify(body, headers['X-Adsumo-Signature']!, secret)).toBe(true);
    expect(adsumoVerify(body + 'x', headers['X-Adsumo-Signature']!, secret)).toBe(false);
    // The key is the whole string, `whsec_` included, not the decoded bytes.
    const decodedKeyMac = createHmac('sha256', decodeStandardSecret(secret)).update(body).digest('hex');
    expect(headers['X-Adsumo-Signature']).not.toBe(decodedKeyMac);
  });

  it('hmac-sha256-hex: rotation puts one hex signature per secret, newest first, space-separated', () => {
    const [newSecret, oldSecret] = [generateSecret(), generateSecret()];
    const headers = webhookHeaders({
      scheme: 'hmac-sha256-hex',
      headerPrefix: 'X-Adsumo',
      id: 'evt_3',
      timestamp: nowSeconds(),
      attempt: 1,
      body,
      secrets: [newSecret, oldSecret],
    });
    const [first, second] = headers['X-Adsumo-Signature']!.split(' ');
    expect(adsumoVerify(body, first!, newSecret)).toBe(true);
    expect(adsumoVerify(body, second!, oldSecret)).toBe(true);
  });

  it('hmac-sha256-hex-timestamped: X-UGen-Signature = HMAC(secret, `${X-UGen-Timestamp}.${body}`)', () => {
    const secret = generateSecret();
    const ts = nowSeconds();
    const headers = webhookHeaders({
      scheme: 'hmac-sha256-hex-timestamped',
      headerPrefix: 'X-UGen',
      id: 'evt_4',
      timestamp: ts,
      attempt: 1,
      body: Buffer.from(body),
      secrets: [secret],
    });
    const timestamp = headers['X-UGen-Timestamp']!;
    expect(timestamp).toBe(String(ts));
    const expected = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
    expect(headers['X-UGen-Signature']).toBe(expected);
    expect(headers['X-UGen-Signature']).toBe(signHmacHex(secret, body, ts));
    expect(headers['X-UGen-Signature']).not.toBe(signHmacHex(secret, body));
  });

  it('signHmacHex is lowercase hex of HMAC-SHA256 keyed by the secret as UTF-8', () => {
    expect(signHmacHex('key', 'The quick brown fox jumps over the lazy dog')).toBe(
      'f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8',
    );
  });
});

describe('signatureHeaderNames', () => {
  it('lists every header hookline sets, lowercase', () => {
    expect(signatureHeaderNames('standard', 'X-Webhook').sort()).toEqual(
      ['content-type', 'user-agent', 'webhook-attempt', 'webhook-id', 'webhook-signature', 'webhook-timestamp'].sort(),
    );
    expect(signatureHeaderNames('hmac-sha256-hex', 'X-UGen').sort()).toEqual(
      ['content-type', 'user-agent', 'x-ugen-attempt', 'x-ugen-id', 'x-ugen-signature', 'x-ugen-timestamp'].sort(),
    );
  });

  it('covers every header webhookHeaders emits, for every scheme', () => {
    for (const scheme of SIGNATURE_SCHEMES) {
      const names = signatureHeaderNames(scheme, 'X-Hook');
      const emitted = webhookHeaders({
        scheme,
        headerPrefix: 'X-Hook',
        id: 'evt_5',
        timestamp: 1,
        attempt: 1,
        body: '{}',
        secrets: [generateSecret()],
      });
      for (const name of Object.keys(emitted)) expect(names).toContain(name.toLowerCase());
    }
  });
});
