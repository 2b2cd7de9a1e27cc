// server/worker/retry-wake.ts: a wake-up at each retry's run_at (never before it), coalesced: a
// burst of retries costs one timer and one nudge per distinct time, and the list stays bounded.
import { describe, expect, it } from 'vitest';
import { createRetryWake } from '../../server/worker/retry-wake.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('retry wake', () => {
  it('nudges at each run_at, not before, once per distinct time, earliest first whatever the order added', async () => {
    const nudges: number[] = [];
    const wake = createRetryWake(() => nudges.push(Date.now()), { granularityMs: 10 });
    const start = Date.now();
    const times = [120, 40, 80].map((ms) => new Date(start + ms));
    for (const t of times) wake.at(t);
    expect(wake.pending()).toBe(3);
    await sleep(400);
    expect(nudges).toHaveLength(3);
    [40, 80, 120].forEach((ms, i) => {
      expect(nudges[i]!).toBeGreaterThanOrEqual(start + ms);
      expect(nudges[i]!).toBeLessThan(start + ms + 150); // (a loaded machine delays timers)
    });
    expect(wake.pending()).toBe(0);
    wake.stop();
  });

  it('coalesces a burst of 10,000 retries into a bounded list of distinct times', async () => {
    let nudges = 0;
    const wake = createRetryWake(() => nudges++, { granularityMs: 10, maxPending: 50 });
    const start = Date.now();
    for (let i = 0; i < 10_000; i++) wake.at(new Date(start + 30 + (i % 100)));
    // 100 distinct milliseconds rounded up to 10 ms steps: 10 or 11 wake-ups at most.
    const early = wake.pending();
    expect(early).toBeLessThanOrEqual(11);
    // The list keeps the earliest `maxPending`; later ones are left to the poll.
    for (let i = 0; i < 10_000; i++) wake.at(new Date(start + 1000 + i));
    expect(wake.pending()).toBe(50);
    await sleep(200);
    // Times that came due together share a nudge; the later ones wait.
    expect(nudges).toBeGreaterThanOrEqual(1);
    expect(nudges).toBeLessThanOrEqual(11);
    expect(wake.pending()).toBe(50 - early);
    wake.stop();
    expect(wake.pending()).toBe(0);
  });

  it('a time already past nudges at once; nothing after stop', async () => {
    let nudges = 0;
    const wake = createRetryWake(() => nudges++);
    wake.at(new Date(Date.now() - 1000));
    await sleep(50);
    expect(nudges).toBe(1);
    wake.stop();
    wake.at(new Date(Date.now() + 5));
    await sleep(30);
    expect(nudges).toBe(1);
  });
});
