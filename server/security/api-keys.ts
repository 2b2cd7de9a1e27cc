// Tenant API keys: `hk_` + a 10-character lookup prefix + 43 characters of secret (32 random
// bytes). Only the SHA-256 of the whole key is stored; the prefix finds the row, and the hash is
// compared in constant time. The admin key is compared the same way.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export interface IssuedApiKey {
  key: string;
  prefix: string;
  hash: string;
}

const keyPattern = /^hk_([0-9a-zA-Z_-]{10})_[0-9a-zA-Z_-]{43}$/;

export function issueApiKey(): IssuedApiKey {
  const prefix = randomBytes(8).toString('base64url').slice(0, 10);
  const key = `hk_${prefix}_${randomBytes(32).toString('base64url')}`;
  return { key, prefix, hash: hashKey(key) };
}

/** The lookup prefix of a well-formed tenant key, or undefined. */
export function apiKeyPrefix(key: string): string | undefined {
  return keyPattern.exec(key)?.[1];
}

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** Constant-time check of a presented key against a stored SHA-256 hex digest. */
export function keyMatchesHash(key: string, storedHash: string): boolean {
  const presented = createHash('sha256').update(key).digest();
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

/** Constant-time comparison of two keys of any length (both hashed first). */
export function keysEqual(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}
