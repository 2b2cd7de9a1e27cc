// Tenant fairness decisions (server/delivery/fairness.ts) on a controlled clock: who gets a slot,
// who waits for one, and who steps aside at once. The end-to-end behaviour (a black-holed tenant
// next to a healthy one, through the real worker) is in resilience.test.ts.
import { describe, expect, it } from 'vitest';
import { createTenantFairness, type Slot } from '../../server/delivery/fairness.js';
import type { AppDeps } from '../../server/deps.js';

function setup() {
  let clock = 1_000_000;
  const fairness = createTenantFairness({} as AppDeps, { maxPerTenant: 2, waitMs: 100, now: () => clock });
  return { fairness, advance: (ms: number) => (clock += ms) };
}

async function take(fairness: ReturnType<typeof setup>['fairness'], tenantId: string): Promise<Slot> {
  const slot = await fairness.enter(tenantId);
  if (!slot) throw new Error('expected a slot');
  return slot;
}

describe('tenant fairness', () => {
  it('gives slots up to the cap per tenant, independently of other tenants', async () => {
    const { fairness } = setup();
    await take(fairness, 'a');
    await take(fairness, 'a');
    await take(fairness, 'b');
    expect(fairness.inFlight()).toBe(3);
  });

  it('lets a job over the cap of a tenant that has just started wait, and hands it the next free slot', async () => {
    const { fairness } = setup();
    const first = await take(fairness, 'a');
    await take(fairness, 'a');
    const waiting = fairness.enter('a');
    first.leave();
    expect(await waiting).not.toBeNull();
    expect(fairness.inFlight()).toBe(2);
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

  it("lets as many jobs wait as the tenant released slots in the last window", async () => {
    const { fairness, advance } = setup();
    const held = [await take(fairness, 'a'), await take(fairness, 'a')];
    advance(150);
    // One release (and re-take) in this window: one job may wait, the next steps aside.
    held.shift()!.leave();
    held.push(await take(fairness, 'a'));
    const waiting = fairness.enter('a');
    expect(await fairness.enter('a')).toBeNull();
    held.shift()!.leave();
    const slot = await waiting;
    expect(slot).not.toBeNull();
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
});
