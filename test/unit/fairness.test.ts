// Delivery slots and tenant fairness (server/delivery/fairness.ts) on a controlled clock: who gets a
// slot, who waits for one and is served in turn, and who steps aside at once. Re-queueing itself
// (SQL) is tested against PostgreSQL in resilience.test.ts, with the end-to-end behaviour.
import { describe, expect, it } from 'vitest';
import { createTenantFairness, type Slot, type TenantFairnessOptions } from '../../server/delivery/fairness.js';
import type { AppDeps } from '../../server/deps.js';

function setup(options: Partial<TenantFairnessOptions> = {}) {
  let clock = 1_000_000;
  const fairness = createTenantFairness({} as AppDeps, {
    slots: 4,
    maxPerTenant: 2,
    attemptTimeoutMs: 1000,
    waitMs: 100,
    now: () => clock,
    ...options,
  });
  return { fairness, advance: (ms: number) => (clock += ms) };
}

async function take(fairness: ReturnType<typeof setup>['fairness'], tenantId: string): Promise<Slot> {
  const slot = await fairness.enter(tenantId);
  if (!slot) throw new Error('expected a slot');
  return slot;
}

/** Whether the promise has settled after the pending microtasks ran. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(() => (done = true));
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

describe('delivery slots and tenant fairness', () => {
  it('gives slots up to the cap per tenant, independently of other tenants', async () => {
    const { fairness } = setup();
    await take(fairness, 'a');
    await take(fairness, 'a');
    await take(fairness, 'b');
    expect(fairness.inFlight()).toBe(3);
    expect(fairness.waiting()).toBe(0);
  });

  it('lets a job over the cap of a tenant that has just started wait, and hands it the next free slot', async () => {
    const { fairness } = setup();
    const first = await take(fairness, 'a');
    await take(fairness, 'a');
    const waiting = fairness.enter('a');
    expect(await settled(waiting)).toBe(false);
    expect(fairness.waiting()).toBe(1);
    first.leave();
    expect(await waiting).not.toBeNull();
    expect(fairness.inFlight()).toBe(2);
    expect(fairness.waiting()).toBe(0);
  });

  it('never holds more deliveries than slots: with all taken, jobs wait and are served tenant by tenant', async () => {
    const { fairness } = setup({ slots: 3, maxPerTenant: 2 });
    const a1 = await take(fairness, 'a');
    const a2 = await take(fairness, 'a');
    const b1 = await take(fairness, 'b');
    const bWaits = fairness.enter('b'); // all 3 slots taken, b is under its cap
    const aWaits = fairness.enter('a'); // a is at its cap
    const cWaits = fairness.enter('c');
    expect(fairness.waiting()).toBe(3);
    a1.leave(); // a is now under its cap too, but b has waited longest
    expect(await bWaits).not.toBeNull();
    expect(await settled(aWaits)).toBe(false);
    b1.leave();
    expect(await aWaits).not.toBeNull(); // a's turn comes before c's
    a2.leave();
    expect(await cWaits).not.toBeNull();
    expect(fairness.inFlight()).toBe(3);
  });

  it("passes over a tenant at its cap: a freed slot goes to the next tenant's job", async () => {
    const { fairness } = setup({ slots: 3, maxPerTenant: 2 });
    await take(fairness, 'a');
    await take(fairness, 'a');
    const b1 = await take(fairness, 'b');
    const aWaits = fairness.enter('a'); // a at its cap: waits for one of its own slots
    const cWaits = fairness.enter('c'); // all slots taken
    b1.leave();
    expect(await cWaits).not.toBeNull();
    expect(await settled(aWaits)).toBe(false);
  });

  it('re-queues at once the jobs over the cap of a tenant whose slots have not turned over', async () => {
    const { fairness, advance } = setup();
    await take(fairness, 'a');
    await take(fairness, 'a');
    advance(150); // past the start-up allowance, and no slot was released: its deliveries hang
    expect(await fairness.enter('a')).toBeNull();
    // Another tenant is unaffected.
    expect(await fairness.enter('b')).not.toBeNull();
  });

  it('lets as many jobs wait as the tenant released slots in the last window', async () => {
    const { fairness, advance } = setup();
    const held = [await take(fairness, 'a'), await take(fairness, 'a')];
    advance(150);
    // One release (and re-take) in this window: one job may wait, the next steps aside.
    held.shift()!.leave();
    held.push(await take(fairness, 'a'));
    const waiting = fairness.enter('a');
    expect(await fairness.enter('a')).toBeNull();
    held.shift()!.leave();
    expect(await waiting).not.toBeNull();
  });

  it('forgets old turnover: two windows later without releases, over-cap jobs step aside again', async () => {
    const { fairness, advance } = setup();
    const held = [await take(fairness, 'a'), await take(fairness, 'a')];
    advance(150);
    held.shift()!.leave();
    held.push(await take(fairness, 'a'));
    advance(250);
    expect(await fairness.enter('a')).toBeNull();
  });

  it('a job waits at most twice waitMs, then steps aside', async () => {
    const { fairness } = setup({ waitMs: 20, now: Date.now });
    await take(fairness, 'a');
    await take(fairness, 'a');
    const startedAt = Date.now();
    expect(await fairness.enter('a')).toBeNull();
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(35);
    expect(fairness.waiting()).toBe(0);
  });

  it('close: waiting jobs step aside at once, and no more slots are handed out', async () => {
    const { fairness } = setup();
    await take(fairness, 'a');
    await take(fairness, 'a');
    const waiting = fairness.enter('a');
    fairness.close();
    expect(await waiting).toBeNull();
    expect(fairness.waiting()).toBe(0);
    expect(await fairness.enter('b')).toBeNull();
  });
});
