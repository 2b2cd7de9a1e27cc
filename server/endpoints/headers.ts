// Custom headers of an endpoint: extra request headers the tenant wants on every delivery (an
// auth token for their receiver, say). They may not impersonate or disturb what hookline sends:
// no transport or hop-by-hop headers, nothing under `webhook-`, and none of the signature headers
// of any scheme under the configured prefix — so switching HOOKLINE_SIGNATURE_SCHEME later can
// never make a stored custom header collide with a signature.
import { signatureHeaderNames, SIGNATURE_SCHEMES } from '../../shared/signing.js';
import { InvalidInputError } from '../errors.js';

export const MAX_CUSTOM_HEADERS = 20;
export const MAX_HEADER_NAME_LENGTH = 256;
export const MAX_HEADER_VALUE_LENGTH = 4096;

// RFC 9110 §5.6.2 token characters.
const HTTP_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Visible ASCII, space and tab. (CR, LF and NUL would split or truncate the request; other
// control and non-ASCII characters are refused by the HTTP client, or mangled, at delivery time.)
const HEADER_VALUE = /^[\t\x20-\x7e]*$/;

/** Set by the HTTP layer, hop-by-hop (RFC 9110 §7.6.1), or unsupported by the HTTP client (`expect`). */
const FORBIDDEN_NAMES = new Set([
  'connection',
  'keep-alive',
  'te',
  'trailer',
  'trailers',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
  'content-type',
  'content-encoding',
  'user-agent',
  'expect',
]);
const FORBIDDEN_PREFIXES = ['proxy-', 'webhook-'];

/** Every header name a custom header may not use, lowercase, under this header prefix. */
export function reservedHeaderNames(headerPrefix: string): Set<string> {
  const names = new Set(FORBIDDEN_NAMES);
  for (const scheme of SIGNATURE_SCHEMES) {
    for (const name of signatureHeaderNames(scheme, headerPrefix)) names.add(name.toLowerCase());
  }
  return names;
}

/** Why this header name may not be used, or null. `name` is lowercase. */
function forbiddenReason(name: string, reserved: ReadonlySet<string>): string | null {
  if (reserved.has(name)) return `header "${name}" is set by hookline and cannot be a custom header`;
  const prefix = FORBIDDEN_PREFIXES.find((p) => name.startsWith(p));
  if (prefix) return `headers starting with "${prefix}" cannot be custom headers ("${name}")`;
  return null;
}

/**
 * Validates custom headers and returns them with lowercase names. Throws InvalidInputError naming
 * the first offending header.
 */
export function normalizeCustomHeaders(headers: Record<string, string>, headerPrefix: string): Record<string, string> {
  const entries = Object.entries(headers);
  if (entries.length > MAX_CUSTOM_HEADERS) {
    throw new InvalidInputError(`at most ${MAX_CUSTOM_HEADERS} custom headers are allowed (got ${entries.length})`);
  }
  const reserved = reservedHeaderNames(headerPrefix);
  const out: Array<[string, string]> = [];
  const seen = new Set<string>();
  for (const [rawName, value] of entries) {
    if (rawName.length > MAX_HEADER_NAME_LENGTH) {
      throw new InvalidInputError(`header names are at most ${MAX_HEADER_NAME_LENGTH} characters`);
    }
    if (!HTTP_TOKEN.test(rawName)) {
      throw new InvalidInputError(`${JSON.stringify(rawName)} is not a valid HTTP header name`);
    }
    const name = rawName.toLowerCase();
    const reason = forbiddenReason(name, reserved);
    if (reason) throw new InvalidInputError(reason);
    if (seen.has(name)) throw new InvalidInputError(`header "${name}" is given more than once (names are case-insensitive)`);
    seen.add(name);
    if (typeof value !== 'string') throw new InvalidInputError(`the value of header "${name}" must be a string`);
    if (value.length > MAX_HEADER_VALUE_LENGTH) {
      throw new InvalidInputError(`the value of header "${name}" is longer than ${MAX_HEADER_VALUE_LENGTH} characters`);
    }
    if (!HEADER_VALUE.test(value)) {
      throw new InvalidInputError(
        `the value of header "${name}" may contain only visible ASCII characters, spaces and tabs (no CR, LF, NUL or other control characters)`,
      );
    }
    out.push([name, value]);
  }
  // fromEntries defines own properties, so a header named `__proto__` stays an ordinary key.
  return Object.fromEntries(out);
}
