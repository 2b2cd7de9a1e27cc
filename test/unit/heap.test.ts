// server/heap.ts: the long-running processes grow the V8 heap by half its live size at most,
// unless the operator started Node with heap flags of their own.
import { describe, expect, it } from 'vitest';
import { heapGrowthFlag } from '../../server/heap.js';

describe('heap growth', () => {
  it('limits heap growth by default', () => {
    expect(heapGrowthFlag([], undefined)).toBe('--heap-growing-percent=50');
    expect(heapGrowthFlag(['--enable-source-maps'], '--dns-result-order=ipv4first')).toBe('--heap-growing-percent=50');
  });

  it("leaves the heap to the operator's own flags, on the command line or in NODE_OPTIONS", () => {
    expect(heapGrowthFlag(['--max-old-space-size=512'], undefined)).toBeUndefined();
    expect(heapGrowthFlag([], '--max-old-space-size=192')).toBeUndefined();
    expect(heapGrowthFlag([], '--trace-gc --heap-growing-percent=20')).toBeUndefined();
    expect(heapGrowthFlag(['--max-semi-space-size=64'], '')).toBeUndefined();
    expect(heapGrowthFlag(['--max_old_space_size=512'], undefined)).toBeUndefined();
  });
});
