// Custom header values at rest and on display. A value is often a receiver's credential
// (`Authorization: Bearer …`), so it is kept like a signing secret: each value sealed with the
// secret box (AES-256-GCM under HOOKLINE_ENCRYPTION_KEY) inside the endpoint's `headers` jsonb,
// the names left readable. The API and the CLI show values masked (`Bearer ••••1234`); an update
// that sends a masked value back keeps the stored one, so a client can get → edit → save.
import { InvalidInputError } from '../errors.js';

/**
 * Marks a sealed value: `§` then the secret box's form (`§v1.…`). Header values are visible ASCII
 * (headers.ts), so no plaintext value starts with `§`: rows written before values were sealed are
 * told apart without a flag, and the code migration (db/migrate.ts) seals exactly those.
 */
export const SEALED_HEADER_PREFIX = '§';

/** Shown in place of hidden characters. Not ASCII, so never part of a real header value. */
export const HEADER_MASK = '••••';

/** Characters a credential must have for its last 4 to be shown: at least 12 stay hidden. */
const MIN_LENGTH_TO_SHOW_END = 16;

// Authorization schemes (IANA HTTP Authentication Scheme Registry, plus the common `Token` and
// `ApiKey`): words that say what a credential is without revealing any of it.
const AUTH_SCHEMES = new Set([
  'apikey',
  'aws4-hmac-sha256',
  'basic',
  'bearer',
  'concealed',
  'digest',
  'dpop',
  'gnap',
  'hoba',
  'mutual',
  'negotiate',
  'ntlm',
  'oauth',
  'privatetoken',
  'scram-sha-1',
  'scram-sha-256',
  'token',
  'vapid',
]);

export function isSealedHeaderValue(stored: string): boolean {
  return stored.startsWith(SEALED_HEADER_PREFIX);
}

/** Every value sealed (values already sealed are kept as they are). */
export function sealHeaderValues(headers: Record<string, string>, seal: (plaintext: string) => string): Record<string, string> {
  return mapValues(headers, (value) => (isSealedHeaderValue(value) ? value : `${SEALED_HEADER_PREFIX}${seal(value)}`));
}

/**
 * The plaintext values. A value stored before values were sealed is plaintext already and passes
 * as it is, so every process reads both forms while the code migration has not yet run.
 */
export function openHeaderValues(stored: Record<string, string>, open: (sealedSecret: string) => string): Record<string, string> {
  return mapValues(stored, (value) => (isSealedHeaderValue(value) ? open(value.slice(SEALED_HEADER_PREFIX.length)) : value));
}

/**
 * `Bearer ••••1234`: an authorization scheme word stays, the last 4 characters show when at least
 * 12 others stay hidden, everything else is masked (a short value entirely: `••••`).
 */
export function maskHeaderValue(value: string): string {
  const space = value.indexOf(' ');
  const scheme = space > 0 && AUTH_SCHEMES.has(value.slice(0, space).toLowerCase()) ? value.slice(0, space) : null;
  const credential = scheme === null ? value : value.slice(space + 1);
  const end = credential.length >= MIN_LENGTH_TO_SHOW_END ? credential.slice(-4) : '';
  return `${scheme === null ? '' : `${scheme} `}${HEADER_MASK}${end}`;
}

export function maskHeaderValues(headers: Record<string, string>): Record<string, string> {
  return mapValues(headers, maskHeaderValue);
}

/** Whether a value sent by a client is a mask (it cannot be a real value: the mask is not ASCII). */
export function isMaskedHeaderValue(value: string): boolean {
  return value.includes(HEADER_MASK[0]!);
}

/**
 * Headers sent by a client with each masked value replaced by the stored value it masks, so
 * get → edit → save keeps a credential the client never saw. A masked value must be exactly what
 * get shows for that header now; anything else is InvalidInputError (it would be stored as is).
 * `stored` has lowercase names, plaintext values.
 */
export function unmaskHeaderValues(sent: Record<string, string>, stored: Record<string, string>): Record<string, string> {
  const storedByName = new Map(Object.entries(stored));
  return mapValues(sent, (value, name) => {
    if (!isMaskedHeaderValue(value)) return value;
    const current = storedByName.get(name.toLowerCase());
    if (current === undefined || maskHeaderValue(current) !== value) {
      throw new InvalidInputError(
        `the value of header "${name.toLowerCase()}" is masked but is not the mask of its stored value: send the full value to change it, or the masked value exactly as endpoints.get shows it to keep it`,
      );
    }
    return current;
  });
}

function mapValues(headers: Record<string, string>, map: (value: string, name: string) => string): Record<string, string> {
  // fromEntries defines own properties, so a header named `__proto__` stays an ordinary key.
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, map(value, name)]));
}
