// Portal session tokens: `hps_` + a 10-character lookup prefix + 43 characters of secret (32
// random bytes), issued and checked exactly as tenant API keys are (server/security/api-keys.ts):
// only the SHA-256 of the whole token is stored, found by its prefix, compared in constant time.
import { prefixedKeys } from '../security/api-keys.js';

export interface IssuedSessionToken {
  token: string;
  prefix: string;
  hash: string;
}

const sessionTokens = prefixedKeys('hps');

export function issueSessionToken(): IssuedSessionToken {
  const { key, prefix, hash } = sessionTokens.issue();
  return { token: key, prefix, hash };
}

/** The lookup prefix of a well-formed session token, or undefined (then it is no session token). */
export const sessionTokenPrefix = sessionTokens.prefixOf;
