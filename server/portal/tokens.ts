// Portal session tokens: `hps_` + a 10-character lookup prefix + 43 characters of secret (32
// random bytes), issued and checked exactly as tenant API keys are (server/security/api-keys.ts):
// only the SHA-256 of the whole token is stored, found by its prefix, compared in constant time.
import { randomBytes } from 'node:crypto';
import { hashKey } from '../security/api-keys.js';

export interface IssuedSessionToken {
  token: string;
  prefix: string;
  hash: string;
}

const tokenPattern = /^hps_([0-9a-zA-Z_-]{10})_[0-9a-zA-Z_-]{43}$/;

export function issueSessionToken(): IssuedSessionToken {
  const prefix = randomBytes(8).toString('base64url').slice(0, 10);
  const token = `hps_${prefix}_${randomBytes(32).toString('base64url')}`;
  return { token, prefix, hash: hashKey(token) };
}

/** The lookup prefix of a well-formed session token, or undefined (then it is no session token). */
export function sessionTokenPrefix(token: string): string | undefined {
  return tokenPattern.exec(token)?.[1];
}
