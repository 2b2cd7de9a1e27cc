// Ids: valid, time-ordered, strictly increasing within a process, and fan-out blocks never collide.
import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { encodeRandom, ID_ALPHABET, idFloor, idPattern, newId, newIdBlock } from '../../shared/ids.js';

describe('ids', () => {
  it('are valid and strictly increasing, even within one millisecond', () => {
    const now = Date.now();
    const ids = Array.from({ length: 1000 }, () => newId('event', now));
    for (const id of ids) expect(id).toMatch(idPattern('event'));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('sort by creation time, and idFloor bounds them', () => {
    const early = newId('delivery', Date.UTC(2026, 0, 1));
    const late = newId('delivery', Date.UTC(2026, 0, 2));
    expect(early < late).toBe(true);
    const floor = idFloor('delivery', new Date(Date.UTC(2026, 0, 2)));
    expect(early < floor && floor <= late).toBe(true);
  });

  it('blocks made in the same millisecond have distinct prefixes and make valid ids', () => {
    const now = Date.now();
    const prefixes = new Set(Array.from({ length: 10_000 }, () => newIdBlock('delivery', 4, now).prefix));
    expect(prefixes.size).toBe(10_000);
    const block = newIdBlock('delivery');
    expect(`${block.prefix}00zz`).toMatch(idPattern('delivery'));
  });

  it('encode 80 random bits as 16 base32 characters, most significant first', () => {
    const reference = (bytes: Buffer) => {
      let bits = BigInt(`0x${bytes.toString('hex')}`);
      let out = '';
      for (let i = 0; i < 16; i++) {
        out = ID_ALPHABET[Number(bits & 31n)] + out;
        bits >>= 5n;
      }
      return out;
    };
    expect(encodeRandom(Buffer.alloc(10))).toBe('0'.repeat(16));
    expect(encodeRandom(Buffer.alloc(10, 0xff))).toBe('z'.repeat(16));
    for (let i = 0; i < 1000; i++) {
      const bytes = randomBytes(10);
      expect(encodeRandom(bytes)).toBe(reference(bytes));
    }
  });
});
