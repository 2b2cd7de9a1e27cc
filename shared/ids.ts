// Object ids: a type prefix and a time-ordered body (48-bit milliseconds + 80 random bits, Crockford
// base32), so ids sort by creation time and serve directly as keyset-pagination cursors.
import { randomBytes } from 'node:crypto';

/** Crockford base32, lowercase: the characters of every id body, in sort order. */
export const ID_ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

export const ID_PREFIXES = {
  tenant: 'tnt',
  endpoint: 'ep',
  event: 'evt',
  delivery: 'dlv',
  attempt: 'att',
  portalSession: 'ps',
} as const;

export type IdKind = keyof typeof ID_PREFIXES;

let lastMs = 0;
let lastRandom: Buffer = Buffer.alloc(10);

// Random bits are drawn 4 KiB at a time and handed out 10 bytes per id: a draw is a system call,
// and one per id was ~3 % of the API's CPU per events.send (`npm run bench -- ingest`).
const RANDOM_POOL_BYTES = 4096;
let randomPool: Buffer = Buffer.alloc(0);
let randomPoolOffset = 0;

/** 10 fresh random bytes (a view of the pool; the pool is replaced when used up, never rewritten). */
function randomTenBytes(): Buffer {
  if (randomPoolOffset + 10 > randomPool.length) {
    randomPool = randomBytes(RANDOM_POOL_BYTES);
    randomPoolOffset = 0;
  }
  const bytes = randomPool.subarray(randomPoolOffset, randomPoolOffset + 10);
  randomPoolOffset += 10;
  return bytes;
}

/** `value` (a whole number below 2^(5·length), at most 2^53) as `length` characters, most significant first. */
function encodeBase32(value: number, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) {
    out = ID_ALPHABET[value % 32] + out;
    value = Math.floor(value / 32);
  }
  return out;
}

function encodeTime(ms: number): string {
  return encodeBase32(ms, 10);
}

/** 10 bytes (80 bits) as 16 characters of the id alphabet, most significant first. */
export function encodeRandom(bytes: Buffer): string {
  // 40 bits (5 bytes → 8 characters) at a time: 40 bits fit a double exactly, so this needs no
  // BigInt (an attempt id is made for every attempt recorded).
  return encodeBase32(bytes.readUIntBE(0, 5), 8) + encodeBase32(bytes.readUIntBE(5, 5), 8);
}

function nextRandom(ms: number): Buffer {
  // Within one millisecond, increment instead of drawing anew so ids stay strictly increasing per process.
  if (ms === lastMs) {
    const next = Buffer.from(lastRandom);
    for (let i = next.length - 1; i >= 0; i--) {
      next[i] = (next[i]! + 1) & 0xff;
      if (next[i] !== 0) break;
    }
    lastRandom = next;
  } else {
    lastMs = ms;
    lastRandom = randomTenBytes();
  }
  return lastRandom;
}

export function newId(kind: IdKind, now = Date.now()): string {
  return `${ID_PREFIXES[kind]}_${encodeTime(now)}${encodeRandom(nextRandom(now))}`;
}

/**
 * A block of ids for rows created together (one fan-out): a fresh id whose last `suffixLength`
 * characters are left for the row's number (in the same alphabet), so the block's ids are
 * distinct, valid and ordered, and a database statement can number its rows itself.
 */
/** How many characters of a block's ids are left for the row number (32⁴ rows). */
export const ID_BLOCK_SUFFIX_LENGTH = 4;

export function newIdBlock(
  kind: IdKind,
  suffixLength = ID_BLOCK_SUFFIX_LENGTH,
  now = Date.now(),
): { prefix: string; suffixLength: number } {
  // Fresh random bits every time: incrementing (as newId does within a millisecond) would change
  // only the characters the suffix replaces, and two blocks would share a prefix.
  const random = encodeRandom(randomTenBytes()).slice(0, 16 - suffixLength);
  return { prefix: `${ID_PREFIXES[kind]}_${encodeTime(now)}${random}`, suffixLength };
}

/** The smallest id of a kind created at or after `time`: a lower bound for "since" queries. */
export function idFloor(kind: IdKind, time: Date): string {
  return `${ID_PREFIXES[kind]}_${encodeTime(time.getTime())}${'0'.repeat(16)}`;
}

export function idPattern(kind: IdKind): RegExp {
  return new RegExp(`^${ID_PREFIXES[kind]}_[0-9a-hjkmnp-tv-z]{26}$`);
}
