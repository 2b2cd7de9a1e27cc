// Tenant API keys: `hk_` + a 10-character lookup prefix + 43 characters of secret (32 random
// bytes). Only the SHA-256 of the whole key is stored; the prefix finds the row, and the hash is
// compared in constant time. The admin key is compared the same way.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export interface IssuedApiKey {
  key: string;
  prefix: string;
  hash: string;
}

/**
 * Bearer keys of one kind (`hk_` tenant keys, `hps_` portal session tokens): `{tag}_` + a
 * 10-character lookup prefix + 43 characters of secret (32 random bytes).
 */
export function prefixedKeys(tag: string) {
  const pattern = new RegExp(`^${tag}_([0-9a-zA-Z_-]{10})_[0-9a-zA-Z_-]{43}$`);
  return {
    issue(): IssuedApiKey {
      const prefix = randomBytes(8).toString('base64url').slice(0, 10);
      const key = `${tag}_${prefix}_${randomBytes(32).toString('base64url')}`;
      return { key, prefix, hash: hashKey(key) };
    },
    /** The lookup prefix of a well-formed key of this kind, or undefined. */
    prefixOf: (key: string): string | undefined => pattern.exec(key)?.[1],
  };
}

const tenantKeys = prefixedKeys('hk');
export const issueApiKey = tenantKeys.issue;
/** The lookup prefix of a well-formed tenant key, or undefined. */
export const apiKeyPrefix = tenantKeys.prefixOf;

export function hashKey(key: string): string {
  return sha256(key).toString('hex');
}

/** Constant-time check of a presented key against a stored SHA-256 hex digest. */
export function keyMatchesHash(key: string, storedHash: string): boolean {
  const presented = sha256(key);
  const stored = Buffer.from(storedHash, 'hex');
  return stored.length === presented.length && timingSafeEqual(presented, stored);
}

export function sha256(key: string): Buffer {
  return createHash('sha256').update(key).digest();
}

/** Constant-time check of a presented key against the SHA-256 digest of the expected one. */
export function keyMatchesDigest(key: string, digest: Buffer): boolean {
  return timingSafeEqual(sha256(key), digest);
}
