// server/batcher.ts: calls made while a flush is in flight are flushed together; each caller gets
// its own result or error; batches respect maxBatch and maxInFlight.
import { describe, expect, it } from 'vitest';
import { createBatcher, writeAloneOnItemFailure } from '../../server/batcher.js';

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

describe('createBatcher', () => {
  it('flushes a lone call by itself and calls made in the same turn together', async () => {
    const batches: number[][] = [];
    const double = createBatcher<number, number>(
      async (items) => {
        batches.push(items);
        return items.map((x) => x * 2);
      },
      { maxBatch: 10, maxInFlight: 1 },
    );
    expect(await double(1)).toBe(2);
    expect(await Promise.all([double(2), double(3), double(4)])).toEqual([4, 6, 8]);
    expect(batches).toEqual([[1], [2, 3, 4]]);
  });

  it('gathers the calls that arrive while a flush is in flight into the next one, up to maxBatch', async () => {
    const batches: number[][] = [];
    const first = gate();
    const echo = createBatcher<number, number>(
      async (items) => {
        batches.push(items);
        if (batches.length === 1) await first.opened;
        return items;
      },
      { maxBatch: 3, maxInFlight: 1 },
    );
    const a = echo(0);
    await new Promise((resolve) => setImmediate(resolve)); // the first flush is now in flight
    const rest = [1, 2, 3, 4, 5].map((x) => echo(x));
    await new Promise((resolve) => setImmediate(resolve));
    expect(batches).toEqual([[0]]); // nothing else starts while one flush is in flight
    first.open();
    expect(await Promise.all([a, ...rest])).toEqual([0, 1, 2, 3, 4, 5]);
    expect(batches).toEqual([[0], [1, 2, 3], [4, 5]]);
  });

  it('stops a batch at maxBytes, but always takes its first item', async () => {
    const batches: string[][] = [];
    const echo = createBatcher<string, string>(
      async (items) => {
        batches.push(items);
        return items;
      },
      { maxBatch: 10, maxInFlight: 1, maxBytes: 5, sizeOf: (item) => item.length },
    );
    await Promise.all(['aa', 'bb', 'c', 'dddddddd', 'e'].map((x) => echo(x)));
    expect(batches).toEqual([['aa', 'bb', 'c'], ['dddddddd'], ['e']]);
  });

  it('rejects the callers of a flush that throws synchronously or returns the wrong number of results, and carries on', async () => {
    let calls = 0;
    const odd = createBatcher<number, number>(
      ((items: number[]) => {
        calls++;
        if (calls === 1) throw new Error('thrown before any promise');
        if (calls === 2) return Promise.resolve(items.slice(1));
        return Promise.resolve(items);
      }) as (items: number[]) => Promise<number[]>,
      { maxBatch: 10, maxInFlight: 1 },
    );
    await expect(odd(1)).rejects.toThrow('thrown before any promise');
    await expect(Promise.all([odd(1), odd(2)])).rejects.toThrow('1 results for 2 items');
    expect(await odd(3)).toBe(3);
  });

  it('runs up to maxInFlight flushes at once', async () => {
    let running = 0;
    let most = 0;
    const hold = gate();
    const work = createBatcher<number, number>(
      async (items) => {
        running++;
        most = Math.max(most, running);
        await hold.opened;
        running--;
        return items;
      },
      { maxBatch: 1, maxInFlight: 2 },
    );
    const all = Promise.all([1, 2, 3, 4].map((x) => work(x)));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(running).toBe(2);
    hold.open();
    expect(await all).toEqual([1, 2, 3, 4]);
    expect(most).toBe(2);
  });

  it('rejects only the caller whose result is an Error, and every caller when the flush throws', async () => {
    const picky = createBatcher<number, number>(async (items) => items.map((x) => (x < 0 ? new Error(`negative: ${x}`) : x)), {
      maxBatch: 10,
      maxInFlight: 1,
    });
    const results = await Promise.allSettled([picky(1), picky(-1), picky(2)]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason.message).toBe('negative: -1');

    const broken = createBatcher<number, number>(
      async () => {
        throw new Error('connection lost');
      },
      { maxBatch: 10, maxInFlight: 1 },
    );
    const failed = await Promise.allSettled([broken(1), broken(2)]);
    expect(failed.every((r) => r.status === 'rejected' && r.reason.message === 'connection lost')).toBe(true);
    // It keeps working after a failed flush.
    const ok = createBatcher<number, number>(async (items) => items, { maxBatch: 10, maxInFlight: 1 });
    expect(await ok(7)).toBe(7);
  });
});

describe('writeAloneOnItemFailure', () => {
  const sqlError = (code: string) => Object.assign(new Error(`sqlstate ${code}`), { code });

  it('writes each item alone after a data, constraint or deadlock error, so only the bad one fails', async () => {
    const writes: number[][] = [];
    const flush = writeAloneOnItemFailure(async (items: number[]) => {
      writes.push(items);
      if (items.includes(2)) throw sqlError('23505');
      return items.map((x) => x * 10);
    });
    const results = await flush([1, 2, 3]);
    expect(results[0]).toBe(10);
    expect(results[1]).toBeInstanceOf(Error);
    expect((results[1] as Error).message).toBe('sqlstate 23505');
    expect(results[2]).toBe(30);
    expect(writes).toEqual([[1, 2, 3], [1], [2], [3]]);
    const deadlocked = writeAloneOnItemFailure(async (items: number[]) => {
      if (items.length > 1) throw sqlError('40P01');
      return items;
    });
    expect(await deadlocked([4, 5])).toEqual([4, 5]);
  });

  it('fails the whole batch for any other error, and a batch of one is not written twice', async () => {
    let calls = 0;
    const down = writeAloneOnItemFailure(async (_items: number[]): Promise<number[]> => {
      calls++;
      throw sqlError('08006'); // connection failure
    });
    await expect(down([1, 2])).rejects.toThrow('sqlstate 08006');
    expect(calls).toBe(1);
    const single = writeAloneOnItemFailure(async (_items: number[]): Promise<number[]> => {
      calls++;
      throw sqlError('22P02');
    });
    await expect(single([1])).rejects.toThrow('sqlstate 22P02');
    expect(calls).toBe(2);
  });
});
