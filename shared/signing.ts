// Webhook signing, shared by the delivery worker (which signs) and the client package (which
// verifies): Standard Webhooks 1.0 and two plain hex-HMAC schemes. Pure; node:crypto only.
//
// Schemes (HOOKLINE_SIGNATURE_SCHEME):
// - 'standard': `webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, the key is
//   the base64-decoded part of the `whsec_` secret.
// - 'hmac-sha256-hex': `{prefix}-Signature: <hex HMAC-SHA256 of the raw body>`, the key is the whole
//   secret string as UTF-8 (what Adsumo, Nouvel and JoggAI receivers expect).
// - 'hmac-sha256-hex-timestamped': as above over `{timestamp}.{body}` (what U-Gen receivers expect).
// During a rotation grace period every valid secret signs: one signature per secret, newest first,
// space-separated in the one header.
//
// Ed25519 (an endpoint created with `signing: "ed25519"`, standard scheme only): its secret is a
// private key `whsk_<base64 of the 32-byte seed>`, which signs `v1a,<base64 Ed25519 signature of
// "{id}.{timestamp}.{body}">`; receivers verify with the public key `whpk_<base64 of the 32-byte raw
// key>` (Standard Webhooks 1.0, asymmetric). In the standard scheme each secret signs by its
// prefix, so a rotation grace period works alike for both kinds.
import { createHmac, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, verify, type KeyObject } from 'node:crypto';

export const SIGNATURE_SCHEMES = ['standard', 'hmac-sha256-hex', 'hmac-sha256-hex-timestamped'] as const;
export type SignatureScheme = (typeof SIGNATURE_SCHEMES)[number];

/** Raw request bodies as signed: the exact bytes sent (a string is taken as UTF-8). */
export type SignableBody = string | Uint8Array;

const SECRET_PREFIX = 'whsec_';

/** A new endpoint or tenant secret: `whsec_` + base64 of 32 random bytes. */
export function generateSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64');
}

/**
 * The HMAC key of the standard scheme: the base64-decoded part after `whsec_` (a secret without the
 * prefix is decoded whole, as the standardwebhooks library does). Throws a TypeError for an empty key.
 */
export function decodeStandardSecret(secret: string): Buffer {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  const key = Buffer.from(encoded, 'base64');
  if (key.length === 0) throw new TypeError('signing secret is empty or not base64 (expected whsec_<base64>)');
  return key;
}

function assertTimestamp(timestamp: number): void {
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
    throw new RangeError(`timestamp must be whole Unix seconds, got ${timestamp}`);
  }
}

export const ED25519_SECRET_KEY_PREFIX = 'whsk_';
export const ED25519_PUBLIC_KEY_PREFIX = 'whpk_';

// DER headers that make a raw 32-byte Ed25519 key a PKCS#8 private key / SPKI public key (RFC 8410).
const PKCS8_ED25519_HEADER = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519_HEADER = Buffer.from('302a300506032b6570032100', 'hex');

/** A new Ed25519 key pair: the private key (`whsk_…`, kept sealed) and the public key (`whpk_…`, shown). */
export function generateEd25519Keys(): { secretKey: string; publicKey: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const seed = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(PKCS8_ED25519_HEADER.length);
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(SPKI_ED25519_HEADER.length);
  return { secretKey: ED25519_SECRET_KEY_PREFIX + seed.toString('base64'), publicKey: ED25519_PUBLIC_KEY_PREFIX + raw.toString('base64') };
}

function decodeRawKey(key: string, prefix: string, what: string): Buffer {
  const raw = key.startsWith(prefix) ? Buffer.from(key.slice(prefix.length), 'base64') : Buffer.alloc(0);
  if (raw.length !== 32) throw new TypeError(`${what} must be ${prefix}<base64 of 32 bytes>`);
  return raw;
}

// Parsing a key costs more than a signature; a process signs with few keys, so they are kept.
const MAX_KEY_OBJECTS = 10_000;
const keyObjects = new Map<string, KeyObject>();

function keyObject(key: string, make: () => KeyObject): KeyObject {
  let object = keyObjects.get(key);
  if (!object) {
    object = make();
    if (keyObjects.size >= MAX_KEY_OBJECTS) keyObjects.clear();
    keyObjects.set(key, object);
  }
  return object;
}

function ed25519PrivateKey(secretKey: string): KeyObject {
  return keyObject(secretKey, () =>
    createPrivateKey({
      key: Buffer.concat([PKCS8_ED25519_HEADER, decodeRawKey(secretKey, ED25519_SECRET_KEY_PREFIX, 'an Ed25519 secret key')]),
      format: 'der',
      type: 'pkcs8',
    }),
  );
}

/** A `whpk_` public key as a KeyObject; throws a TypeError when it is not 32 bytes of base64 after the prefix. */
export function ed25519PublicKey(publicKey: string): KeyObject {
  return keyObject(publicKey, () =>
    createPublicKey({
      key: Buffer.concat([SPKI_ED25519_HEADER, decodeRawKey(publicKey, ED25519_PUBLIC_KEY_PREFIX, 'an Ed25519 public key')]),
      format: 'der',
      type: 'spki',
    }),
  );
}

/** The `whpk_` public key of a `whsk_` private key. */
export function ed25519PublicKeyOf(secretKey: string): string {
  const raw = createPublicKey(ed25519PrivateKey(secretKey)).export({ format: 'der', type: 'spki' }).subarray(SPKI_ED25519_HEADER.length);
  return ED25519_PUBLIC_KEY_PREFIX + raw.toString('base64');
}

/** What Standard Webhooks signs: `{id}.{timestamp}.{body}` as bytes. */
function standardContent(id: string, timestamp: number, body: SignableBody): Buffer {
  assertTimestamp(timestamp);
  return Buffer.concat([Buffer.from(`${id}.${timestamp}.`), typeof body === 'string' ? Buffer.from(body) : body]);
}

/** The raw 64-byte Ed25519 signature of the standard scheme's content. */
export function ed25519Signature(secretKey: string, id: string, timestamp: number, body: SignableBody): Buffer {
  return sign(null, standardContent(id, timestamp, body), ed25519PrivateKey(secretKey));
}

/** Whether `signature` (raw 64 bytes) is the public key's signature of the standard scheme's content. */
export function verifyEd25519Signature(
  publicKey: KeyObject,
  id: string,
  timestamp: number,
  body: SignableBody,
  signature: Uint8Array,
): boolean {
  return verify(null, standardContent(id, timestamp, body), publicKey, signature);
}

/** One Standard Webhooks asymmetric signature: `v1a,<base64>`. */
export function signStandardEd25519(secretKey: string, id: string, timestamp: number, body: SignableBody): string {
  return 'v1a,' + ed25519Signature(secretKey, id, timestamp, body).toString('base64');
}

/** The raw 32-byte HMAC of the standard scheme. `key` is a decoded key or a `whsec_` secret. */
export function standardDigest(key: string | Buffer, id: string, timestamp: number, body: SignableBody): Buffer {
  assertTimestamp(timestamp);
  // Two updates rather than one concatenated string: the body (up to the payload limit) is never copied.
  return createHmac('sha256', typeof key === 'string' ? decodeStandardSecret(key) : key)
    .update(`${id}.${timestamp}.`)
    .update(body)
    .digest();
}

/** The raw 32-byte HMAC of the hex schemes: key = the whole secret as UTF-8; content = body or `{timestamp}.{body}`. */
export function hmacDigest(secret: string, body: SignableBody, timestamp?: number): Buffer {
  if (secret.length === 0) throw new TypeError('signing secret is empty');
  const hmac = createHmac('sha256', secret);
  if (timestamp !== undefined) {
    assertTimestamp(timestamp);
    hmac.update(`${timestamp}.`);
  }
  return hmac.update(body).digest();
}

/** One Standard Webhooks signature: `v1,<base64>`. */
export function signStandard(secret: string, id: string, timestamp: number, body: SignableBody): string {
  return 'v1,' + standardDigest(secret, id, timestamp, body).toString('base64');
}

/** One hex-scheme signature (lowercase hex); pass `timestamp` for 'hmac-sha256-hex-timestamped'. */
export function signHmacHex(secret: string, body: SignableBody, timestamp?: number): string {
  return hmacDigest(secret, body, timestamp).toString('hex');
}

export interface WebhookHeadersOptions {
  scheme: SignatureScheme;
  /** Header prefix of the hex schemes, e.g. `X-Webhook` (ignored by 'standard'). */
  headerPrefix: string;
  /** The event id: the same on every attempt of a delivery. */
  id: string;
  /** Unix seconds of this attempt. */
  timestamp: number;
  /** 1-based attempt number. */
  attempt: number;
  /** The exact bytes sent. */
  body: SignableBody;
  /** Every currently valid secret, newest first; at least one. */
  secrets: readonly string[];
}

/** The signature headers of one attempt (content-type and user-agent are the HTTP layer's). */
export function webhookHeaders(opts: WebhookHeadersOptions): Record<string, string> {
  const { scheme, headerPrefix, id, timestamp, attempt, body, secrets } = opts;
  if (secrets.length === 0) throw new TypeError('webhookHeaders needs at least one secret');
  if (!Number.isSafeInteger(attempt) || attempt < 1) throw new RangeError(`attempt must be 1-based, got ${attempt}`);
  const signatures: string[] = new Array(secrets.length);
  if (scheme === 'standard') {
    for (let i = 0; i < secrets.length; i++) {
      const secret = secrets[i]!;
      signatures[i] = secret.startsWith(ED25519_SECRET_KEY_PREFIX)
        ? signStandardEd25519(secret, id, timestamp, body)
        : signStandard(secret, id, timestamp, body);
    }
    return {
      'webhook-id': id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signatures.join(' '),
      'webhook-attempt': String(attempt),
    };
  }
  const signedTimestamp = scheme === 'hmac-sha256-hex-timestamped' ? timestamp : undefined;
  assertTimestamp(timestamp);
  for (let i = 0; i < secrets.length; i++) signatures[i] = signHmacHex(secrets[i]!, body, signedTimestamp);
  return {
    [`${headerPrefix}-Id`]: id,
    [`${headerPrefix}-Timestamp`]: String(timestamp),
    [`${headerPrefix}-Attempt`]: String(attempt),
    [`${headerPrefix}-Signature`]: signatures.join(' '),
  };
}

/**
 * Every header hookline itself sets on a delivery under this scheme and prefix, lowercase:
 * the four signature headers plus `content-type` and `user-agent`. Endpoint custom headers must not
 * use these names. (Transport headers such as host or content-length are the HTTP layer's concern.)
 */
export function signatureHeaderNames(scheme: SignatureScheme, headerPrefix: string): string[] {
  const names =
    scheme === 'standard'
      ? ['webhook-id', 'webhook-timestamp', 'webhook-signature', 'webhook-attempt']
      : ['Id', 'Timestamp', 'Attempt', 'Signature'].map((suffix) => `${headerPrefix}-${suffix}`.toLowerCase());
  names.push('content-type', 'user-agent');
  return names;
}
