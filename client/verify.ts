// Receiver-side verification of hookline's webhooks, for the people who receive them: checks the
// signature (any scheme, any number of secrets and signatures), the timestamp where it is signed,
// and returns the parsed payload. Imports only node:crypto and the shared signing code. One verifier
// per scheme (`schemeVerifiers`): a scheme hookline signs with and this file misses does not compile.
import { timingSafeEqual } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import {
  decodeStandardSecret,
  ed25519PublicKey,
  ED25519_PUBLIC_KEY_PREFIX,
  hmacDigest,
  standardDigest,
  verifyEd25519Signature,
  type SignatureScheme as SigningScheme,
} from '../shared/signing.js';

/** The scheme of a deployment (HOOKLINE_SIGNATURE_SCHEME): every scheme hookline signs with. */
export type SignatureScheme = 'standard' | 'hmac-sha256-hex' | 'hmac-sha256-hex-timestamped';

/** Why a webhook was rejected; stable, for code to branch on. */
export type WebhookVerificationReason =
  /** A required header is absent, or the timestamp header is not Unix seconds. */
  | 'missing_header'
  /** No signature in the header matches any of the secrets (tampered body, wrong secret, forgery). */
  | 'invalid_signature'
  /** Authentic, but the signed timestamp is older than the tolerance (a replay, or a stalled queue). */
  | 'timestamp_too_old'
  /** Authentic, but the signed timestamp is further ahead than the tolerance (clock skew). */
  | 'timestamp_in_future'
  /** Authentic, but the body is not JSON. */
  | 'invalid_body'
  /** No usable secret was given to the verifier (a configuration error on the receiving side). */
  | 'no_secret';

export class WebhookVerificationError extends Error {
  override readonly name = 'WebhookVerificationError';
  readonly reason: WebhookVerificationReason;

  constructor(reason: WebhookVerificationReason, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.reason = reason;
  }
}

/** Node/Express `req.headers` (any key case, array values) or a Fetch `Headers` (anything with `get`). */
export type WebhookRequestHeaders =
  | { get(name: string): string | null | undefined }
  | Readonly<Record<string, string | readonly string[] | undefined>>;

export interface VerifyWebhookOptions {
  /** The raw request body, exactly as received (never re-serialized JSON). */
  body: string | Uint8Array;
  headers: WebhookRequestHeaders;
  /**
   * The endpoint secret (`whsec_…`, or the public key `whpk_…` of an Ed25519 endpoint); or `secrets`
   * for several (during a rotation). At least one is needed.
   */
  secret?: string;
  secrets?: readonly string[];
  /** Default 'standard'; must match the server's HOOKLINE_SIGNATURE_SCHEME. */
  scheme?: SignatureScheme;
  /** Default 'X-Webhook'; must match the server's HOOKLINE_HEADER_PREFIX (hex schemes only). */
  headerPrefix?: string;
  /** Largest accepted distance between the signed timestamp and now, in seconds. Default 300. */
  toleranceSeconds?: number;
  /** Current time in milliseconds (tests inject a clock). Default Date.now. */
  now?: () => number;
}

const STANDARD_SIGNATURE_PATTERN = /^[A-Za-z0-9+/]{43}=$/;
const HEX_SIGNATURE_PATTERN = /^[0-9a-fA-F]{64}$/;
const TIMESTAMP_PATTERN = /^\d{1,15}$/;

/**
 * Verifies one delivery and returns its parsed JSON payload; throws WebhookVerificationError
 * (see `reason`) otherwise.
 */
export function verifyWebhook<T = unknown>(opts: VerifyWebhookOptions): T {
  const scheme = opts.scheme ?? 'standard';
  const prefix = opts.headerPrefix ?? 'X-Webhook';
  const toleranceSeconds = opts.toleranceSeconds ?? 300;
  if (!(toleranceSeconds >= 0)) throw new RangeError(`toleranceSeconds must be >= 0, got ${toleranceSeconds}`);

  if (!Object.hasOwn(schemeVerifiers, scheme)) throw new RangeError(`unknown signature scheme "${scheme}"`);
  const secrets = collectSecrets(opts);
  const { authentic, signedTimestamp } = schemeVerifiers[scheme]({
    body: opts.body,
    header: headerReader(opts.headers),
    prefix,
    secrets,
  });
  if (!authentic) {
    throw new WebhookVerificationError('invalid_signature', 'no signature matches the secret(s)');
  }

  // Checked after the signature, so a timestamp reason always describes an authentic request.
  if (signedTimestamp !== undefined) {
    const nowSeconds = Math.floor((opts.now ?? Date.now)() / 1000);
    if (nowSeconds - signedTimestamp > toleranceSeconds) {
      throw new WebhookVerificationError(
        'timestamp_too_old',
        `webhook timestamp is ${nowSeconds - signedTimestamp}s old (tolerance ${toleranceSeconds}s)`,
      );
    }
    if (signedTimestamp - nowSeconds > toleranceSeconds) {
      throw new WebhookVerificationError(
        'timestamp_in_future',
        `webhook timestamp is ${signedTimestamp - nowSeconds}s in the future (tolerance ${toleranceSeconds}s)`,
      );
    }
  }

  const body = opts.body;
  const text = typeof body === 'string' ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new WebhookVerificationError('invalid_body', 'webhook body is not valid JSON', { cause: error });
  }
}

/** What a scheme's verifier reads: the raw body, the headers, and every secret to try. */
interface SignedRequest {
  body: string | Uint8Array;
  header: HeaderLookup;
  /** HOOKLINE_HEADER_PREFIX, for the schemes whose headers carry it. */
  prefix: string;
  secrets: readonly string[];
}

/** Whether a signature in the request is one of the secrets', and the timestamp it covers (if any). */
interface SchemeVerdict {
  authentic: boolean;
  signedTimestamp: number | undefined;
}

type SchemeVerifier = (request: SignedRequest) => SchemeVerdict;

// Exactly the schemes of shared/signing.ts: one missing here, or one too many, does not compile.
const schemeVerifiers: Record<SignatureScheme, SchemeVerifier> = {
  standard: verifyStandard,
  'hmac-sha256-hex': (request) => verifyHex(request, { timestamped: false }),
  'hmac-sha256-hex-timestamped': (request) => verifyHex(request, { timestamped: true }),
} satisfies Record<SigningScheme, SchemeVerifier>;

/**
 * Standard Webhooks: `v1,<base64 HMAC>` signatures of `{id}.{timestamp}.{body}` under `whsec_`
 * secrets, and `v1a,<base64 Ed25519 signature>` of the same content under `whpk_` public keys.
 * Entries of a version not known are skipped.
 */
function verifyStandard({ body, header, secrets }: SignedRequest): SchemeVerdict {
  const id = requireHeader(header, 'webhook-id');
  const timestamp = parseTimestamp(requireHeader(header, 'webhook-timestamp'), 'webhook-timestamp');
  const signatures = requireHeader(header, 'webhook-signature');
  const hmacKeys: Buffer[] = [];
  const publicKeys: KeyObject[] = [];
  for (const secret of secrets) {
    try {
      if (secret.startsWith(ED25519_PUBLIC_KEY_PREFIX)) publicKeys.push(ed25519PublicKey(secret));
      else hmacKeys.push(decodeStandardSecret(secret));
    } catch (error) {
      throw new WebhookVerificationError('no_secret', 'a secret is neither a whsec_<base64> secret nor a whpk_<base64> public key', {
        cause: error,
      });
    }
  }
  const expected = hmacKeys.map((key) => standardDigest(key, id, timestamp, body));
  let authentic = anyMatch(expected, parseStandardSignatures(signatures));
  if (publicKeys.length > 0) {
    // Every pair is checked (no early exit), as anyMatch does; a public-key check reveals no secret anyway.
    for (const signature of parseEd25519Signatures(signatures)) {
      for (const key of publicKeys) if (verifyEd25519Signature(key, id, timestamp, body, signature)) authentic = true;
    }
  }
  return { authentic, signedTimestamp: timestamp };
}

/** `{prefix}-Signature: <hex HMAC>` of the body, or of `{timestamp}.{body}` when timestamped. */
function verifyHex({ body, header, prefix, secrets }: SignedRequest, { timestamped }: { timestamped: boolean }): SchemeVerdict {
  const signatures = requireHeader(header, `${prefix}-Signature`);
  // Plain 'hmac-sha256-hex' signs the body alone: its {prefix}-Timestamp header is not covered by
  // the signature (anyone replaying the request can rewrite it), so it proves nothing and is
  // deliberately not checked. Receivers needing replay protection should deduplicate on {prefix}-Id
  // or use a timestamped scheme.
  const signedTimestamp = timestamped ? parseTimestamp(requireHeader(header, `${prefix}-Timestamp`), `${prefix}-Timestamp`) : undefined;
  const expected = secrets.map((secret) => hmacDigest(secret, body, signedTimestamp));
  return { authentic: anyMatch(expected, parseHexSignatures(signatures)), signedTimestamp };
}

function collectSecrets(opts: VerifyWebhookOptions): string[] {
  const secrets: string[] = [];
  if (opts.secret) secrets.push(opts.secret);
  if (opts.secrets) for (const secret of opts.secrets) if (secret) secrets.push(secret);
  if (secrets.length === 0) throw new WebhookVerificationError('no_secret', 'no secret given to verify the webhook with');
  return secrets;
}

type HeaderLookup = (name: string) => string | undefined;

function headerReader(headers: WebhookRequestHeaders): HeaderLookup {
  if (typeof (headers as { get?: unknown }).get === 'function') {
    const fetchHeaders = headers as { get(name: string): string | null | undefined };
    return (name) => fetchHeaders.get(name) ?? undefined;
  }
  const record = headers as Readonly<Record<string, string | readonly string[] | undefined>>;
  return (name) => {
    const lower = name.toLowerCase();
    let value = record[lower];
    if (value === undefined) {
      // Not Node's lowercase form: look for the name in any case.
      for (const key of Object.keys(record)) {
        if (key.toLowerCase() === lower && record[key] !== undefined) {
          value = record[key];
          break;
        }
      }
    }
    // Repeated headers arrive as arrays; a list header (the signatures) is the union of all of them.
    return typeof value === 'string' || value === undefined ? value : value.join(' ');
  };
}

function requireHeader(lookup: HeaderLookup, name: string): string {
  const value = lookup(name)?.trim();
  if (!value) throw new WebhookVerificationError('missing_header', `missing ${name} header`);
  return value;
}

function parseTimestamp(value: string, name: string): number {
  if (!TIMESTAMP_PATTERN.test(value)) {
    throw new WebhookVerificationError('missing_header', `${name} header is not Unix seconds`);
  }
  return Number(value);
}

/** Signature list tokens; a Fetch `Headers` joins repeated headers with ", ", so commas between tokens are tolerated. */
function tokens(header: string): string[] {
  return header.split(/\s+/).map((token) => (token.endsWith(',') ? token.slice(0, -1) : token));
}

/** `v1,<base64>` entries → raw 32-byte MACs; other versions (e.g. v1a) and malformed entries are skipped. */
function parseStandardSignatures(header: string): Buffer[] {
  const out: Buffer[] = [];
  for (const token of tokens(header)) {
    if (!token.startsWith('v1,')) continue;
    const encoded = token.slice(3);
    if (STANDARD_SIGNATURE_PATTERN.test(encoded)) out.push(Buffer.from(encoded, 'base64'));
  }
  return out;
}

const ED25519_SIGNATURE_PATTERN = /^[A-Za-z0-9+/]{86}==$/;

/** `v1a,<base64>` entries → raw 64-byte Ed25519 signatures; malformed entries are skipped. */
function parseEd25519Signatures(header: string): Buffer[] {
  const out: Buffer[] = [];
  for (const token of tokens(header)) {
    if (!token.startsWith('v1a,')) continue;
    const encoded = token.slice(4);
    if (ED25519_SIGNATURE_PATTERN.test(encoded)) out.push(Buffer.from(encoded, 'base64'));
  }
  return out;
}

/** Hex signatures → raw 32-byte MACs (either case accepted); malformed entries are skipped. */
function parseHexSignatures(header: string): Buffer[] {
  const out: Buffer[] = [];
  for (const token of header.split(/[\s,]+/)) {
    if (HEX_SIGNATURE_PATTERN.test(token)) out.push(Buffer.from(token, 'hex'));
  }
  return out;
}

/**
 * Whether any expected MAC equals any received one. Every pair is compared with timingSafeEqual on
 * equal-length (32-byte) buffers, and the loop never stops early, so timing says nothing about
 * how much of a signature was right or which secret matched.
 */
function anyMatch(expected: readonly Buffer[], candidates: readonly Buffer[]): boolean {
  let matched = false;
  for (const mac of expected) {
    for (const candidate of candidates) {
      if (candidate.length === mac.length && timingSafeEqual(candidate, mac)) matched = true;
    }
  }
  return matched;
}
