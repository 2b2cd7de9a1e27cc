// Fairness in its three parts: the slot semaphore (server/delivery/slots.ts: caps per tenant and
// per endpoint, endpoints earning slots, who gets a freed slot), the turnover clock
// (server/delivery/pace.ts) on fake timers, and the composition (server/delivery/fairness.ts) with
// a fake step-aside queue: who waits, who steps aside, and when a job that stepped aside is
// brought back. The step-aside SQL and the end-to-end behaviour are tested against PostgreSQL in
// test/fairness.test.ts.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createDeliveryFairness, type DeliveryFairness, type QueuedJob } from '../../server/delivery/fairness.js';
import { createPaceEstimator } from '../../server/delivery/pace.js';
import { createSlotSemaphore, type Slot, type SlotSemaphore } from '../../server/delivery/slots.js';
import type { SteppingAside } from '../../server/delivery/step-aside.js';
import { slotPolicy } from '../../server/worker/settings.js';

/** 8 delivery slots: 4 per tenant, 2 per endpoint while others of its tenant wait. */
const policy = slotPolicy({ workerConcurrency: 8 });

function take(slots: SlotSemaphore, tenantId: string, endpointKey: string): Slot {
  const slot = slots.tryAcquire(tenantId, endpointKey);
  if (!slot) throw new Error(`expected a slot for ${tenantId}/${endpointKey}`);
  return slot;
}

/** Lets an endpoint earn its tenant's slots (an answer does) and holds `n` of them. */
function earn(slots: SlotSemaphore, tenantId: string, endpointKey: string, n: number): Slot[] {
  const held = [take(slots, tenantId, endpointKey)];
  while (held.length < n) {
    held.shift()!.leave('answered');
    held.push(take(slots, tenantId, endpointKey));
    const more = slots.tryAcquire(tenantId, endpointKey);
    if (more) held.push(more);
  }
  return held;
}

/** Whether the promise has settled after the pending microtasks ran. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(() => (done = true));
  await Promise.resolve();
  await Promise.resolve();
  return done;
}

describe('slot policy', () => {
  it('half of the worker per tenant, half of that per endpoint while others wait, twice as many job slots', () => {
    expect(slotPolicy({ workerConcurrency: 100 })).toEqual({
      deliverySlots: 100,
      tenantSlots: 50,
      sharedEndpointSlots: 25,
      firstEndpointSlots: 1,
      jobSlots: 200,
    });
    expect(slotPolicy({ workerConcurrency: 1 })).toMatchObject({ tenantSlots: 1, sharedEndpointSlots: 1 });
  });
});

describe('slot semaphore', () => {
  it('an endpoint starts with one slot; an answer earns it all of its tenant’s', () => {
    const slots = createSlotSemaphore({ policy });
    const first = take(slots, 'a', 'e1');
    expect(slots.tryAcquire('a', 'e1')).toBeNull();
    expect(slots.blockedAt('a', 'e1')).toBe('endpoint');
    first.leave('answered');
    for (let i = 0; i < 4; i++) take(slots, 'a', 'e1');
    expect(slots.inFlight()).toBe(4);
    // The tenant's cap (half of 8) holds whatever it earned.
    expect(slots.blockedAt('a', 'e1')).toBe('tenant');
  });

  it('a timeout halves what an endpoint earned; a hanging endpoint keeps one slot', () => {
    const slots = createSlotSemaphore({ policy });
    const held = earn(slots, 'a', 'e1', 4);
    expect(slots.endpointCap('a', 'e1')).toBe(4);
    held.pop()!.leave('timed-out');
    expect(slots.endpointCap('a', 'e1')).toBe(2);
    held.pop()!.leave('timed-out');
    held.pop()!.leave('timed-out');
    expect(slots.endpointCap('a', 'e1')).toBe(1);
  });

  it("one tenant's hanging endpoints cannot take the slots of its healthy endpoint", () => {
    const slots = createSlotSemaphore({ policy });
    // Three endpoints that never answer hold one slot each, however many jobs they have.
    for (const e of ['h1', 'h2', 'h3']) {
      take(slots, 'a', e);
      expect(slots.tryAcquire('a', e)).toBeNull();
    }
    // The healthy endpoint of the same tenant still gets the tenant's fourth slot.
    take(slots, 'a', 'ok').leave('answered');
    expect(slots.tryAcquire('a', 'ok')).not.toBeNull();
  });

  it('while another endpoint of its tenant waits, an endpoint holds at most half of the tenant’s slots', async () => {
    const slots = createSlotSemaphore({ policy });
    const busy = earn(slots, 'a', 'busy', 4); // alone, it may use all 4 of the tenant's
    expect(slots.endpointCap('a', 'busy')).toBe(4);
    const other = [slots.wait('a', 'other'), slots.wait('a', 'other')];
    const busyWaits = slots.wait('a', 'busy');
    expect(slots.endpointCap('a', 'busy')).toBe(2);
    busy.pop()!.leave('answered'); // the freed slot goes to `other`
    const otherSlot = await other[0]!.slot;
    expect(otherSlot).not.toBeNull();
    // `other` holds all it has earned and cannot use another slot yet: busy may use the tenant's again.
    expect(slots.endpointCap('a', 'busy')).toBe(4);
    busy.pop()!.leave('answered');
    expect(await busyWaits.slot).not.toBeNull();
    otherSlot!.leave('answered'); // other answered while using all it had: it earns a second slot
    expect(await other[1]!.slot).not.toBeNull();
  });

  it('never holds more deliveries than slots: freed slots go to the waiting tenants in turn', async () => {
    const slots = createSlotSemaphore({ policy: slotPolicy({ workerConcurrency: 3 }) }); // 1 per tenant
    const a = take(slots, 'a', 'e');
    const b = take(slots, 'b', 'e');
    const c = take(slots, 'c', 'e');
    const bWaits = slots.wait('b', 'e2');
    const dWaits = slots.wait('d', 'e');
    const aWaits = slots.wait('a', 'e2');
    a.leave('answered'); // b is at its cap; d waited before a
    expect(await dWaits.slot).not.toBeNull();
    expect(await settled(bWaits.slot)).toBe(false);
    b.leave('answered'); // b, passed over at its cap, went behind a
    expect(await aWaits.slot).not.toBeNull();
    expect(await settled(bWaits.slot)).toBe(false);
    c.leave('answered');
    expect(await bWaits.slot).not.toBeNull();
    expect(slots.inFlight()).toBe(3);
  });

  it('a cancelled wait gives up its place; close gives every waiting job null and no more slots', async () => {
    const slots = createSlotSemaphore({ policy });
    take(slots, 'a', 'e');
    const cancelled = slots.wait('a', 'e');
    expect(cancelled.cancel()).toBe(true);
    expect(await cancelled.slot).toBeNull();
    const waiting = slots.wait('a', 'e');
    slots.close();
    expect(await waiting.slot).toBeNull();
    expect(slots.waiting()).toBe(0);
    expect(slots.tryAcquire('b', 'e')).toBeNull();
  });
});

describe('turnover clock', () => {
  beforeEach(() => vi.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => vi.useRealTimers());

  it('a key is turning over for a window after it was first seen or last released', () => {
    const pace = createPaceEstimator({ windowMs: 250, returnAfterMs: 2000, random: () => 0.5 });
    expect(pace.turningOver('a')).toBe(false);
    pace.seen('a');
    expect(pace.turningOver('a')).toBe(true);
    vi.advanceTimersByTime(250);
    pace.seen('a'); // seeing it again is no evidence of turnover
    expect(pace.turningOver('a')).toBe(false);
    pace.released('a');
    vi.advanceTimersByTime(249);
    expect(pace.turningOver('a')).toBe(true);
  });

  it('a job stepping aside returns by itself after the timeout plus up to half of it at random (three times that when its slots hang)', () => {
    const pace = createPaceEstimator({ windowMs: 250, returnAfterMs: 2000, random: () => 0.5 });
    expect(pace.returnAt(true) - Date.now()).toBe(2500);
    expect(pace.returnAt(false) - Date.now()).toBe(7500);
  });
});

describe('delivery fairness', () => {
  beforeEach(() => vi.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => vi.useRealTimers());

  function setup(workerConcurrency = 8) {
    const steppedAside: SteppingAside[] = [];
    const broughtBack: Array<{ id: string; runAt: Date }> = [];
    /** What the queue's statements wait for, and how many bring-backs fail (the database away). */
    const queueState = { stepAsideDone: Promise.resolve(), failingBringBacks: 0 };
    let nextId = 1000;
    const fairness = createDeliveryFairness({
      policy: slotPolicy({ workerConcurrency }),
      pace: createPaceEstimator({ windowMs: 250, returnAfterMs: 2000, random: () => 0 }),
      windowMs: 250,
      queue: {
        async stepAside(item) {
          steppedAside.push(item);
          await queueState.stepAsideDone;
          return String(nextId++);
        },
        async bringBack(item) {
          if (queueState.failingBringBacks > 0) {
            queueState.failingBringBacks--;
            throw new Error('connect ECONNREFUSED');
          }
          broughtBack.push(item);
        },
      },
    });
    let n = 0;
    const job = (tenantId: string, endpointId: string): QueuedJob => ({
      id: String(++n),
      payload: { deliveryId: `dlv_${n}`, tenantId, endpointId, attempt: 1 },
      endpointKey: endpointId,
      runAt: new Date(Date.now() - 1000),
      priority: 0,
    });
    return { fairness, steppedAside, broughtBack, job, queueState };
  }

  /** A hanging endpoint of tenant `a` holding its slot, and its next job set aside (after waiting a window). */
  async function hangingWithOneSetAside(
    fairness: DeliveryFairness,
    job: (tenantId: string, endpointId: string) => QueuedJob,
  ): Promise<Slot> {
    const hanging = (await fairness.admit(job('a', 'hang')))!;
    const waited = fairness.admit(job('a', 'hang'));
    await vi.advanceTimersByTimeAsync(500);
    expect(await waited).toBeNull();
    return hanging;
  }

  it('a slot freed while a job was stepping aside brings it back as soon as its statement returns', async () => {
    const { fairness, broughtBack, job, queueState } = setup();
    const hanging = await hangingWithOneSetAside(fairness, job);
    let statementReturns!: () => void;
    queueState.stepAsideDone = new Promise((resolve) => {
      statementReturns = resolve;
    });
    const stepping = fairness.admit(job('a', 'hang')); // steps aside at once; its statement is slow
    hanging.leave('timed-out'); // meanwhile the slot frees: the job set aside before comes back
    expect(broughtBack).toHaveLength(1);
    statementReturns();
    expect(await stepping).toBeNull();
    // Nothing else is in flight, so no release follows: it comes back now, not at its fallback time.
    expect(broughtBack.map((b) => b.id)).toEqual(['1000', '1001']);
    expect(fairness.setAside()).toBe(0);
  });

  it('a job whose bring-back failed is set aside again, and the next release brings it back', async () => {
    const { fairness, broughtBack, job, queueState } = setup();
    const hanging = await hangingWithOneSetAside(fairness, job);
    queueState.failingBringBacks = 1;
    hanging.leave('timed-out');
    await vi.advanceTimersByTimeAsync(0);
    expect(broughtBack).toHaveLength(0);
    expect(fairness.setAside()).toBe(1);
    (await fairness.admit(job('a', 'hang')))!.leave('answered');
    expect(broughtBack.map((b) => b.id)).toEqual(['1000']);
  });

  it('an endpoint whose slot does not turn over: its next jobs step aside, and come back when its slot frees', async () => {
    const { fairness, steppedAside, broughtBack, job } = setup();
    const hanging = (await fairness.admit(job('a', 'hang')))!;
    // A first sighting counts as turnover for one window: the next job waits, then steps aside.
    const waited = fairness.admit(job('a', 'hang'));
    await vi.advanceTimersByTimeAsync(500);
    expect(await waited).toBeNull();
    const first = job('a', 'hang');
    expect(await fairness.admit(first)).toBeNull(); // at once now: the slot has not turned over
    expect(steppedAside).toHaveLength(2);
    // Away for three timeouts (the fallback, if nothing brings it back sooner), at its own priority.
    expect(steppedAside[1]).toMatchObject({ job: first.payload, priority: 0 });
    expect(steppedAside[1]!.runAt.getTime()).toBe(Date.now() + 6000);
    expect(fairness.setAside()).toBe(2);
    // Another endpoint of the same tenant is not held back.
    expect(await fairness.admit(job('a', 'ok'))).not.toBeNull();

    hanging.leave('timed-out'); // the hanging endpoint's slot frees: its jobs set aside come back
    expect(broughtBack).toHaveLength(2);
    // Not to their old place in the queue: a hanging endpoint's come back spread over two windows.
    expect(broughtBack[0]!.runAt.getTime()).toBe(Date.now()); // (random() is 0 here)
    expect(fairness.setAside()).toBe(0);
  });

  it('stepping aside while its tenant turns over: away one timeout if its endpoint answers, three if it has not answered', async () => {
    const { fairness, steppedAside, job } = setup(); // 4 slots per tenant, 16 job slots
    // Tenant a: four endpoints that have not answered hold its slots; one times out and another takes it.
    const held = await Promise.all(Array.from({ length: 4 }, (_, i) => fairness.admit(job('a', `h${i}`))));
    await vi.advanceTimersByTimeAsync(1000);
    held[0]!.leave('timed-out');
    await fairness.admit(job('a', 'h4'));
    // a's slots turn over: new endpoints' jobs wait, up to its slots; the next steps aside.
    const waitingA = Array.from({ length: 4 }, (_, i) => fairness.admit(job('a', `w${i}`)));
    const hangingJob = job('a', 'w4');
    expect(await fairness.admit(hangingJob)).toBeNull();
    // Its tenant's freed slots go to the jobs brought back: one coming back by itself would only step aside again.
    expect(steppedAside.at(-1)).toMatchObject({ job: hangingJob.payload });
    expect(steppedAside.at(-1)!.runAt.getTime()).toBe(Date.now() + 6000);

    // Tenant b: one endpoint that answers, all of b's slots busy and its waiting room full.
    (await fairness.admit(job('b', 'ok')))!.leave('answered');
    for (let i = 0; i < 4; i++) await fairness.admit(job('b', 'ok'));
    const waitingB = Array.from({ length: 12 }, () => fairness.admit(job('b', 'ok')));
    const answeringJob = job('b', 'ok');
    expect(await fairness.admit(answeringJob)).toBeNull();
    expect(steppedAside.at(-1)).toMatchObject({ job: answeringJob.payload });
    expect(steppedAside.at(-1)!.runAt.getTime()).toBe(Date.now() + 2000);
    await fairness.close();
    await Promise.all([...waitingA, ...waitingB]);
  });

  it("a tenant's freed slots are kept for its jobs brought back: its next fan-out does not take them first", async () => {
    const { fairness, steppedAside, broughtBack, job } = setup(); // 4 slots per tenant
    (await fairness.admit(job('a', 'ok')))!.leave('answered'); // an endpoint of a that answers
    const held = await Promise.all(Array.from({ length: 4 }, (_, i) => fairness.admit(job('a', `h${i}`))));
    await vi.advanceTimersByTimeAsync(1000);
    for (let i = 0; i < 4; i++) expect(await fairness.admit(job('a', `h${i}`))).toBeNull();
    expect(steppedAside).toHaveLength(4);
    for (const slot of held) slot!.leave('timed-out');
    // One job brought back per freed slot.
    expect(broughtBack).toHaveLength(4);
    // A new endpoint's job (a fan-out arriving) steps aside: the four free slots are promised.
    expect(await fairness.admit(job('a', 'new'))).toBeNull();
    expect(steppedAside).toHaveLength(5);
    // An endpoint that answers is not held back by them.
    const answering = await fairness.admit(job('a', 'ok'));
    expect(answering).not.toBeNull();
    answering!.leave('answered');
    // The jobs brought back arrive and get the slots.
    for (const back of broughtBack) {
      const endpointId = steppedAside[Number(back.id) - 1000]!.job.endpointId!; // (ids are handed out from 1000)
      const slot = await fairness.admit({ ...job('a', endpointId), id: back.id });
      expect(slot).not.toBeNull();
    }
    expect(fairness.inFlight()).toBe(4);
    await fairness.close();
  });

  it('a job waits while the slots keeping it out turn over, and gets the next one', async () => {
    const { fairness, steppedAside, job } = setup();
    const held = (await fairness.admit(job('a', 'e')))!;
    const waiting = fairness.admit(job('a', 'e'));
    await vi.advanceTimersByTimeAsync(200);
    held.leave('none'); // released without an answer: it earns no more slots
    const next = await waiting;
    expect(next).not.toBeNull();
    // Released 100 ms ago: the endpoint turns over, so the next job waits again past the window.
    await vi.advanceTimersByTimeAsync(100);
    const again = fairness.admit(job('a', 'e'));
    await vi.advanceTimersByTimeAsync(200);
    next!.leave('answered');
    expect(await again).not.toBeNull();
    expect(steppedAside).toHaveLength(0);
  });

  it('jobs of endpoints that have not answered yet: a tenant has at most as many waiting as it has slots; more step aside', async () => {
    const { fairness, steppedAside, job } = setup(); // 4 slots per tenant
    for (let i = 0; i < 4; i++) await fairness.admit(job('a', `e${i}`)); // the tenant's 4 slots
    const waiting = Array.from({ length: 6 }, (_, i) => fairness.admit(job('a', `w${i}`)));
    await vi.advanceTimersByTimeAsync(0);
    expect(fairness.waiting()).toBe(4);
    expect(steppedAside).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(500);
    await Promise.all(waiting);
  });

  it('close: waiting jobs step aside to run at once, jobs set aside are brought back at once', async () => {
    const { fairness, steppedAside, broughtBack, job } = setup();
    await fairness.admit(job('a', 'e'));
    await vi.advanceTimersByTimeAsync(300);
    const setAside = job('a', 'e');
    expect(await fairness.admit(setAside)).toBeNull();
    vi.advanceTimersByTime(100);
    const waitingJob = job('b', 'e');
    for (let i = 0; i < 4; i++) await fairness.admit(job('b', `x${i}`)); // b's 4 of 8 slots
    for (let i = 0; i < 2; i++) await fairness.admit(job(`c${i}`, 'e')); // 7 of 8
    const waiting = fairness.admit(waitingJob); // b at its cap, b turning over (new): waits
    await vi.advanceTimersByTimeAsync(0);
    expect(fairness.waiting()).toBe(1);
    await fairness.close();
    expect(await waiting).toBeNull();
    const last = steppedAside.at(-1)!;
    expect(last.job).toEqual(waitingJob.payload);
    expect(last.runAt).toEqual(waitingJob.runAt);
    expect(broughtBack.map((b) => b.runAt)).toEqual([setAside.runAt]);
    expect(fairness.setAside()).toBe(0);
  });
});
