// verifyWebhook, the receiver-side helper: every scheme, rotation, timestamps, header shapes
// (Node IncomingMessage records and Fetch Headers), body types, and each rejection reason.
import type { IncomingHttpHeaders } from 'node:http';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { verifyWebhook, WebhookVerificationError, type VerifyWebhookOptions } from '../../client/verify.js';
import {
  generateSecret,
  SIGNATURE_SCHEMES,
  signHmacHex,
  signStandard,
  webhookHeaders,
  type SignatureScheme,
} from '../../shared/signing.js';

const payload = { type: 'video.completed', data: { id: 'vid_1', title: 'Ünïcødé ✓', n: 2432232314 } };
const body = JSON.stringify(payload);
const now = 1_760_000_000; // seconds; injected as the verifier's clock
const clock = () => now * 1000;

function signed(scheme: SignatureScheme, secrets: readonly string[], timestamp = now, headerPrefix = 'X-Webhook') {
  return webhookHeaders({ scheme, headerPrefix, id: 'evt_01', timestamp, attempt: 1, body, secrets });
}

/** Runs verifyWebhook and returns the thrown error's reason. */
function reasonOf(opts: VerifyWebhookOptions): string {
  try {
    verifyWebhook(opts);
  } catch (error) {
    expect(error).toBeInstanceOf(WebhookVerificationError);
    expect((error as Error).name).toBe('WebhookVerificationError');
    expect((error as Error).message).not.toBe('');
    return (error as WebhookVerificationError).reason;
  }
  throw new Error('verifyWebhook did not throw');
}

describe('verifyWebhook, every scheme', () => {
  for (const scheme of SIGNATURE_SCHEMES) {
    describe(scheme, () => {
      const secret = generateSecret();
      const headers = signed(scheme, [secret]);
      const base = { scheme, secret, headers, body, now: clock };

      it('accepts a good signature and returns the parsed payload', () => {
        expect(verifyWebhook(base)).toEqual(payload);
      });

      it('accepts a Buffer body and a Uint8Array view', () => {
        expect(verifyWebhook({ ...base, body: Buffer.from(body) })).toEqual(payload);
        const bytes = new TextEncoder().encode(`xx${body}yy`).subarray(2, -2);
        expect(verifyWebhook({ ...base, body: bytes })).toEqual(payload);
      });

      it('rejects a tampered body', () => {
        expect(reasonOf({ ...base, body: body.replace('vid_1', 'vid_2') })).toBe('invalid_signature');
        expect(reasonOf({ ...base, body: Buffer.from(body + '\n') })).toBe('invalid_signature');
      });

      it('rejects the wrong secret', () => {
        expect(reasonOf({ ...base, secret: generateSecret() })).toBe('invalid_signature');
      });

      it('rejects a missing signature header', () => {
        const { ...partial } = headers;
        delete partial[scheme === 'standard' ? 'webhook-signature' : 'X-Webhook-Signature'];
        expect(reasonOf({ ...base, headers: partial })).toBe('missing_header');
      });

      it('rejects a garbage signature', () => {
        const name = scheme === 'standard' ? 'webhook-signature' : 'X-Webhook-Signature';
        expect(reasonOf({ ...base, headers: { ...headers, [name]: 'v1,nope zz' } })).toBe('invalid_signature');
      });

      it('rejects a verifier with no secret', () => {
        expect(reasonOf({ ...base, secret: undefined })).toBe('no_secret');
        expect(reasonOf({ ...base, secret: '', secrets: [] })).toBe('no_secret');
      });
    });
  }
});

describe('verifyWebhook, timestamps', () => {
  const secret = generateSecret();

  for (const scheme of ['standard', 'hmac-sha256-hex-timestamped'] as const) {
    it(`${scheme}: rejects a timestamp older than the tolerance`, () => {
      const headers = signed(scheme, [secret], now - 301);
      expect(reasonOf({ scheme, secret, headers, body, now: clock })).toBe('timestamp_too_old');
      expect(verifyWebhook({ scheme, secret, headers, body, now: clock, toleranceSeconds: 600 })).toEqual(payload);
    });

    it(`${scheme}: rejects a timestamp in the future beyond the tolerance`, () => {
      const headers = signed(scheme, [secret], now + 301);
      expect(reasonOf({ scheme, secret, headers, body, now: clock })).toBe('timestamp_in_future');
    });

    it(`${scheme}: accepts the edges of the tolerance`, () => {
      for (const ts of [now - 300, now + 300]) {
        expect(verifyWebhook({ scheme, secret, headers: signed(scheme, [secret], ts), body, now: clock })).toEqual(payload);
      }
    });

    it(`${scheme}: a rewritten timestamp breaks the signature`, () => {
      const headers = signed(scheme, [secret], now - 3600);
      const name = scheme === 'standard' ? 'webhook-timestamp' : 'X-Webhook-Timestamp';
      expect(reasonOf({ scheme, secret, headers: { ...headers, [name]: String(now) }, body, now: clock })).toBe('invalid_signature');
    });

    it(`${scheme}: rejects a missing or malformed timestamp header`, () => {
      const headers = signed(scheme, [secret]);
      const name = scheme === 'standard' ? 'webhook-timestamp' : 'X-Webhook-Timestamp';
      const { [name]: _dropped, ...without } = headers;
      expect(reasonOf({ scheme, secret, headers: without, body, now: clock })).toBe('missing_header');
      expect(reasonOf({ scheme, secret, headers: { ...headers, [name]: '1.5e9' }, body, now: clock })).toBe('missing_header');
    });
  }

  it('hmac-sha256-hex: the timestamp is not signed, so it is not checked (even absent or ancient)', () => {
    const scheme = 'hmac-sha256-hex';
    const headers = signed(scheme, [secret], now - 86_400);
    expect(verifyWebhook({ scheme, secret, headers, body, now: clock })).toEqual(payload);
    const { 'X-Webhook-Timestamp': _t, 'X-Webhook-Id': _i, ...onlySignature } = headers;
    expect(verifyWebhook({ scheme, secret, headers: onlySignature, body, now: clock })).toEqual(payload);
  });

  it('uses the real clock when none is injected', () => {
    const headers = signed('standard', [secret], Math.floor(Date.now() / 1000));
    expect(verifyWebhook({ secret, headers, body })).toEqual(payload);
    expect(reasonOf({ secret, headers: signed('standard', [secret], now - 10 * 365 * 86_400), body })).toBe('timestamp_too_old');
  });
});

describe('verifyWebhook, the Standard Webhooks known vector', () => {
  const vector = {
    secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    headers: {
      'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek',
      'webhook-timestamp': '1614265330',
      'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    },
    body: '{"test": 2432232314}',
  };

  it('verifies with the clock at the vector time', () => {
    const result = verifyWebhook({ ...vector, now: () => 1614265330 * 1000 + 5000 });
    expect(result).toEqual({ test: 2432232314 });
  });

  it('is too old today', () => {
    expect(reasonOf({ ...vector })).toBe('timestamp_too_old');
  });

  it('skips other signature versions and keeps looking', () => {
    const headers = {
      ...vector.headers,
      'webhook-signature': `v1a,AAAA v2,xyz ${vector.headers['webhook-signature']}`,
    };
    expect(verifyWebhook({ ...vector, headers, now: () => 1614265330_000 })).toEqual({ test: 2432232314 });
  });
});

describe('verifyWebhook, rotation', () => {
  for (const scheme of SIGNATURE_SCHEMES) {
    it(`${scheme}: a header with two signatures verifies against the old or the new secret`, () => {
      const [oldSecret, newSecret] = [generateSecret(), generateSecret()];
      const headers = signed(scheme, [newSecret, oldSecret]);
      expect(verifyWebhook({ scheme, headers, body, now: clock, secret: oldSecret })).toEqual(payload);
      expect(verifyWebhook({ scheme, headers, body, now: clock, secret: newSecret })).toEqual(payload);
      expect(reasonOf({ scheme, headers, body, now: clock, secret: generateSecret() })).toBe('invalid_signature');
    });

    it(`${scheme}: a verifier holding a secret list accepts a signature by any of them`, () => {
      const [oldSecret, newSecret] = [generateSecret(), generateSecret()];
      const secrets = [newSecret, oldSecret];
      expect(verifyWebhook({ scheme, secrets, headers: signed(scheme, [oldSecret]), body, now: clock })).toEqual(payload);
      expect(verifyWebhook({ scheme, secrets, headers: signed(scheme, [newSecret]), body, now: clock })).toEqual(payload);
      expect(
        verifyWebhook({ scheme, secret: newSecret, secrets: [oldSecret], headers: signed(scheme, [oldSecret]), body, now: clock }),
      ).toEqual(payload);
      expect(reasonOf({ scheme, secrets, headers: signed(scheme, [generateSecret()]), body, now: clock })).toBe('invalid_signature');
    });
  }
});

describe('verifyWebhook, header shapes', () => {
  const secret = generateSecret();

  it('Node IncomingMessage headers: lowercase keys, string values (standard)', () => {
    const headers: IncomingHttpHeaders = {
      host: 'receiver.example',
      'content-type': 'application/json',
      ...signed('standard', [secret]),
    };
    expect(verifyWebhook({ headers, body, secret, now: clock })).toEqual(payload);
  });

  it('Node IncomingMessage headers: lowercased prefix headers (hex schemes)', () => {
    for (const scheme of ['hmac-sha256-hex', 'hmac-sha256-hex-timestamped'] as const) {
      const headers: IncomingHttpHeaders = {};
      for (const [name, value] of Object.entries(signed(scheme, [secret], now, 'X-UGen'))) {
        headers[name.toLowerCase()] = value;
      }
      expect(verifyWebhook({ scheme, headerPrefix: 'X-UGen', headers, body, secret, now: clock })).toEqual(payload);
    }
  });

  it('mixed-case keys and array values (repeated signature headers)', () => {
    const [a, b] = [generateSecret(), generateSecret()];
    const standardA = signed('standard', [a]);
    const headers = {
      'Webhook-Id': standardA['webhook-id'],
      'WEBHOOK-TIMESTAMP': [standardA['webhook-timestamp']!],
      'Webhook-Signature': [signStandard(b, 'evt_01', now, body), standardA['webhook-signature']!],
    };
    expect(verifyWebhook({ headers, body, secret: a, now: clock })).toEqual(payload);

    const hexHeaders = { 'x-webhook-signature': [signHmacHex(b, body), signHmacHex(a, body)] };
    expect(verifyWebhook({ scheme: 'hmac-sha256-hex', headers: hexHeaders, body, secret: a })).toEqual(payload);
  });

  it('Fetch Headers, including repeated signature headers joined with ", "', () => {
    const [a, b] = [generateSecret(), generateSecret()];
    const headers = new Headers(signed('standard', [a]));
    expect(verifyWebhook({ headers, body, secret: a, now: clock })).toEqual(payload);

    const joined = new Headers({ 'webhook-id': 'evt_01', 'webhook-timestamp': String(now) });
    joined.append('webhook-signature', signStandard(b, 'evt_01', now, body));
    joined.append('webhook-signature', signStandard(a, 'evt_01', now, body));
    expect(joined.get('webhook-signature')).toContain(', ');
    expect(verifyWebhook({ headers: joined, body, secret: a, now: clock })).toEqual(payload);

    const hex = new Headers();
    hex.append('X-UGen-Timestamp', String(now));
    hex.append('X-UGen-Signature', signHmacHex(b, body, now));
    hex.append('X-UGen-Signature', signHmacHex(a, body, now));
    expect(
      verifyWebhook({ scheme: 'hmac-sha256-hex-timestamped', headerPrefix: 'X-UGen', headers: hex, body, secret: a, now: clock }),
    ).toEqual(payload);
  });

  it('accepts uppercase hex signatures', () => {
    const headers = { 'X-Webhook-Signature': signHmacHex(secret, body).toUpperCase() };
    expect(verifyWebhook({ scheme: 'hmac-sha256-hex', headers, body, secret })).toEqual(payload);
  });

  it('the wrong prefix means the headers are missing', () => {
    const headers = signed('hmac-sha256-hex', [secret], now, 'X-Adsumo');
    expect(reasonOf({ scheme: 'hmac-sha256-hex', headers, body, secret })).toBe('missing_header');
    expect(verifyWebhook({ scheme: 'hmac-sha256-hex', headerPrefix: 'X-Adsumo', headers, body, secret })).toEqual(payload);
  });

  it('missing standard headers: id, timestamp, signature, or all of them', () => {
    const full = signed('standard', [secret]);
    for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) {
      const { [name]: _dropped, ...headers } = full;
      expect(reasonOf({ headers, body, secret, now: clock })).toBe('missing_header');
      expect(reasonOf({ headers: new Headers(headers), body, secret, now: clock })).toBe('missing_header');
    }
    expect(reasonOf({ headers: {}, body, secret, now: clock })).toBe('missing_header');
    expect(reasonOf({ headers: { ...full, 'webhook-signature': '  ' }, body, secret, now: clock })).toBe('missing_header');
  });
});

describe('verifyWebhook, bodies and errors', () => {
  const secret = generateSecret();

  it('an authentic body that is not JSON is invalid_body', () => {
    const text = 'not json';
    const headers = webhookHeaders({
      scheme: 'standard',
      headerPrefix: 'X-Webhook',
      id: 'evt_01',
      timestamp: now,
      attempt: 1,
      body: text,
      secrets: [secret],
    });
    expect(reasonOf({ headers, body: text, secret, now: clock })).toBe('invalid_body');
  });

  it('a secret that is not whsec_<base64> is no_secret for the standard scheme', () => {
    expect(reasonOf({ headers: signed('standard', [secret]), body, secret: 'whsec_', now: clock })).toBe('no_secret');
  });

  it('agrees with the standardwebhooks package on what it signs', () => {
    const lib = new StandardWebhook(secret);
    const ts = Math.floor(Date.now() / 1000);
    const headers = {
      'webhook-id': 'msg_1',
      'webhook-timestamp': String(ts),
      'webhook-signature': lib.sign('msg_1', new Date(ts * 1000), body),
    };
    expect(verifyWebhook({ headers, body, secret })).toEqual(payload);
  });

  it('WebhookVerificationError is an Error with name, reason and cause', () => {
    const error = new WebhookVerificationError('invalid_body', 'bad', { cause: new SyntaxError('x') });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('WebhookVerificationError');
    expect(error.reason).toBe('invalid_body');
    expect(error.cause).toBeInstanceOf(SyntaxError);
  });

  it('the generic parameter types the payload', () => {
    const result = verifyWebhook<typeof payload>({ headers: signed('standard', [secret]), body, secret, now: clock });
    expect(result.data.id).toBe('vid_1');
  });
});
