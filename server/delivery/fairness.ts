// Fairness inside one worker process: which job gets a delivery slot now, which waits for one in
// memory, and which steps aside (goes back to the queue) until a slot frees up for it.
//
// - The slots and who gets a freed one: delivery/slots.ts (tenants, then endpoints, in turn).
// - Whether to wait: delivery/pace.ts. graphile-worker runs twice as many jobs as there are slots
//   (worker/settings.ts), so a job can wait in memory while other jobs are still fetched. It waits
//   only while the slots keeping it out are turning over (one released in the last window, or new),
//   and while there is room: an endpoint that answers (it earned more than its first slot) may
//   fill the job slots its tenant cannot have in flight, so its backlog waits in memory; the jobs
//   of endpoints that have not answered yet (new, or hanging) wait only while their tenant has
//   fewer waiting than slots, and a hanging endpoint's one at most. So hanging endpoints' jobs
//   never fill the job slots, and the queue moves on to other jobs. Otherwise it steps aside, and so does a waiting job whose slots stop turning over.
// - Stepping aside: delivery/step-aside.ts, injected. The job is re-added to the queue for later,
//   and brought back to its old place in the queue as soon as a slot frees up for it: when a slot
//   of its endpoint, its tenant or the worker is released and its tenant has room for it to wait.
//   Nothing is paced by history, so a fresh worker runs at full speed from its first second. The
//   later time is only the fallback for a worker that stopped or died before bringing it back; a
//   stopping worker brings back every job it set aside, at once.
import type { SlotPolicy } from '../worker/settings.js';
import type { DeliverJob } from './jobs.js';
import type { PaceEstimator } from './pace.js';
import { createSlotSemaphore, type Slot, type SlotLevel } from './slots.js';
import type { StepAsideQueue } from './step-aside.js';

export type { Slot, SlotEnd } from './slots.js';

/** A job as graphile-worker hands it over. */
export interface QueuedJob {
  id: string;
  payload: DeliverJob;
  /** The endpoint it counts against (jobs.ts `fairnessKeyOf`). */
  endpointKey: string;
  runAt: Date;
  priority: number;
}

export interface DeliveryFairness {
  /** A delivery slot for the job, now or after a wait; null when the job stepped aside. */
  admit(job: QueuedJob): Promise<Slot | null>;
  /** Deliveries in flight. */
  inFlight(): number;
  /** Jobs waiting in memory for a slot. */
  waiting(): number;
  /** Jobs that stepped aside and are to be brought back by this worker. */
  setAside(): number;
  /** Hands out no more slots: waiting jobs step aside, and every job set aside goes back to the queue to run now. */
  close(): Promise<void>;
}

export interface DeliveryFairnessOptions {
  policy: SlotPolicy;
  pace: PaceEstimator;
  queue: StepAsideQueue;
  /** How long a waiting job keeps its place without the slots keeping it out turning over. */
  windowMs: number;
  /** Errors of the step-aside statements (the job then runs again after graphile-worker's retry delay). */
  onError?: (error: unknown) => void;
}

interface SetAsideJob {
  /** The id of the job row re-added to the queue. */
  id: string;
  tenantId: string;
  endpointKey: string;
  /** Its old place in the queue. */
  runAt: Date;
  /** When it comes back by itself; forgotten after that. */
  returnsAt: number;
}

/** The jobs of one tenant set aside, per endpoint, and the endpoints in turn. */
interface TenantSetAside {
  byEndpoint: Map<string, SetAsideJob[]>;
  turn: string[];
  count: number;
}

export function createDeliveryFairness(options: DeliveryFairnessOptions): DeliveryFairness {
  const { policy, pace, queue, windowMs } = options;
  const slots = createSlotSemaphore({ policy, onRelease: released });
  const setAside = new Map<string, TenantSetAside>();
  /** Tenants with jobs set aside, in turn for a worker slot freed by another tenant. */
  const tenantTurn = new Set<string>();
  /** Jobs brought back and not yet seen again: they count as waiting for their tenant meanwhile. */
  const comingBack = new Map<string, { tenantId: string; endpointKey: string; until: number }>();
  /** Per tenant, and per endpoint (key `tenant endpoint`). */
  const comingBackCount = new Map<string, number>();
  let setAsideCount = 0;
  let closed = false;

  const workerKey = 'worker';
  const tenantKey = (tenantId: string) => `t:${tenantId}`;
  const endpointKeyOf = (tenantId: string, endpointKey: string) => `e:${tenantId}:${endpointKey}`;
  function keyAt(level: SlotLevel, tenantId: string, endpointKey: string): string {
    if (level === 'worker') return workerKey;
    if (level === 'tenant') return tenantKey(tenantId);
    return endpointKeyOf(tenantId, endpointKey);
  }

  /** Whether a job of this endpoint could take a slot now, or wait for one that is likely soon. */
  function mayHaveSlotSoon(tenantId: string, endpointKey: string): boolean {
    const level = slots.blockedAt(tenantId, endpointKey);
    return level === null || pace.turningOver(keyAt(level, tenantId, endpointKey));
  }

  /** Jobs a tenant may have waiting (or coming back): the job slots it cannot have in flight. */
  const tenantRoom = Math.max(1, policy.jobSlots - policy.tenantSlots);

  /**
   * Room to wait. An endpoint that answers (it earned more than its first slot) may fill its
   * tenant's room, so its backlog waits in memory instead of going round the queue. One that has
   * not, while it turns over (new: no evidence yet), as many as the tenant's slots; otherwise
   * (hanging) as many as it may hold, one: hanging endpoints' jobs never fill the job slots.
   */
  function hasRoom(tenantId: string, endpointKey: string, counting: 'waiting' | 'waiting and coming back'): boolean {
    const coming = counting === 'waiting' ? 0 : (comingBackCount.get(`${tenantId} ${endpointKey}`) ?? 0);
    const endpointWaiting = slots.waitingOfEndpoint(tenantId, endpointKey) + coming;
    const cap = slots.endpointCap(tenantId, endpointKey);
    if (cap > policy.firstEndpointSlots) return tenantHasRoom(tenantId, counting, tenantRoom) && endpointWaiting < tenantRoom;
    const room = pace.turningOver(endpointKeyOf(tenantId, endpointKey)) ? policy.tenantSlots : cap;
    return tenantHasRoom(tenantId, counting, policy.tenantSlots) && endpointWaiting < room;
  }

  function tenantHasRoom(tenantId: string, counting: 'waiting' | 'waiting and coming back', room = tenantRoom): boolean {
    const coming = counting === 'waiting' ? 0 : (comingBackCount.get(tenantId) ?? 0);
    return slots.waitingOf(tenantId) + coming < room;
  }

  /** Whether the endpoint has answered (it earned more than its first slot): not new, not hanging. */
  function isAnswering(tenantId: string, endpointKey: string): boolean {
    return slots.endpointCap(tenantId, endpointKey) > policy.firstEndpointSlots;
  }

  /** The tenant's slots neither held nor promised: to jobs waiting for one, or to jobs brought back and not yet here. */
  function unclaimedSlots(tenantId: string): number {
    return policy.tenantSlots - slots.heldOf(tenantId) - slots.waitingOf(tenantId) - (comingBackCount.get(tenantId) ?? 0);
  }

  /**
   * No more of an endpoint's jobs come back than have room to wait: one for a hanging endpoint.
   * The job of an endpoint that has not answered comes back only for a slot of its tenant that
   * nobody else claims: it is not worth waiting for, and one brought back to find its slot taken
   * only steps aside again.
   */
  function mayBringBack(tenantId: string, endpointKey: string): boolean {
    if (!isAnswering(tenantId, endpointKey) && unclaimedSlots(tenantId) <= 0) return false;
    return hasRoom(tenantId, endpointKey, 'waiting and coming back') && mayHaveSlotSoon(tenantId, endpointKey);
  }

  function countComingBack(entry: { tenantId: string; endpointKey: string }, delta: number) {
    for (const key of [entry.tenantId, `${entry.tenantId} ${entry.endpointKey}`]) {
      const n = (comingBackCount.get(key) ?? 0) + delta;
      if (n > 0) comingBackCount.set(key, n);
      else comingBackCount.delete(key);
    }
  }

  /** A job seen again is no longer coming back; true if it was brought back. */
  function arrived(jobId: string): boolean {
    const entry = comingBack.get(jobId);
    if (!entry) return false;
    comingBack.delete(jobId);
    countComingBack(entry, -1);
    return true;
  }

  /** Jobs brought back that another worker took (or that vanished) stop holding their tenant's room. */
  function expireComingBack(at: number) {
    for (const [id, entry] of comingBack) {
      if (entry.until > at) continue;
      comingBack.delete(id);
      countComingBack(entry, -1);
    }
  }

  function released(tenantId: string, endpointKey: string) {
    pace.released(workerKey);
    pace.released(tenantKey(tenantId));
    pace.released(endpointKeyOf(tenantId, endpointKey));
    bringBackFor(tenantId);
    // The worker was full: its freed slot may go to another tenant's job set aside, one tenant per release, in turn.
    if (slots.inFlight() + 1 >= policy.deliverySlots && slots.inFlight() + comingBack.size < policy.deliverySlots) {
      for (const next of [...tenantTurn]) {
        // To the back of the line, whether it gets the slot or not.
        tenantTurn.delete(next);
        tenantTurn.add(next);
        if (next !== tenantId) {
          bringBackFor(next);
          break;
        }
      }
    }
  }

  /** Brings back the tenant's jobs set aside that may have a slot soon, while its tenant has room for them to wait. */
  function bringBackFor(tenantId: string) {
    const tenant = setAside.get(tenantId);
    if (!tenant || closed) return;
    // All of the tenant's endpoints are kept out by a cap that does not turn over: nothing to look at.
    const level = slots.tenantBlockedAt(tenantId);
    if (level !== null && !pace.turningOver(keyAt(level, tenantId, ''))) return;
    const at = pace.now();
    expireComingBack(at);
    let checked = 0;
    while (tenant.turn.length > 0 && checked < tenant.turn.length && tenantHasRoom(tenantId, 'waiting and coming back')) {
      const endpointKey = tenant.turn.shift()!;
      const jobs = dropReturned(tenant, endpointKey, at);
      if (jobs.length === 0) {
        tenant.byEndpoint.delete(endpointKey);
        continue;
      }
      tenant.turn.push(endpointKey);
      if (!mayBringBack(tenantId, endpointKey)) {
        checked++;
        continue;
      }
      checked = 0;
      const job = jobs.shift()!;
      forgetSetAside(tenant, tenantId, endpointKey, jobs);
      // An answering endpoint's job goes back to its old place in the queue. Jobs of endpoints that
      // have not answered (hanging ones whose attempts all timed out together) come back spread
      // over eight windows (2 s), not as one burst of new attempts that takes the worker from others.
      const spread = !isAnswering(tenantId, endpointKey);
      const runAt = spread ? new Date(pace.spread(8 * windowMs)) : job.runAt;
      // Its slot is kept for it until it is due, and four windows more (it may be taken by another worker).
      const entry = { tenantId, endpointKey, until: Math.max(at, runAt.getTime()) + 4 * windowMs };
      comingBack.set(job.id, entry);
      countComingBack(entry, 1);
      queue.bringBack({ id: job.id, runAt }).catch((error: unknown) => {
        options.onError?.(error);
        // Not brought back (the database away): set aside again, for the next release to retry.
        if (closed || !comingBack.delete(job.id)) return;
        countComingBack(entry, -1);
        remember(job);
      });
    }
    if (tenant.count === 0) forgetTenant(tenantId);
  }

  function forgetTenant(tenantId: string) {
    setAside.delete(tenantId);
    tenantTurn.delete(tenantId);
  }

  /** The endpoint's jobs set aside that have not come back by themselves yet. */
  function dropReturned(tenant: TenantSetAside, endpointKey: string, at: number): SetAsideJob[] {
    const jobs = tenant.byEndpoint.get(endpointKey) ?? [];
    let returned = 0;
    while (returned < jobs.length && jobs[returned]!.returnsAt <= at) returned++;
    if (returned > 0) {
      jobs.splice(0, returned);
      tenant.count -= returned;
      setAsideCount -= returned;
    }
    return jobs;
  }

  function forgetSetAside(tenant: TenantSetAside, tenantId: string, endpointKey: string, jobs: SetAsideJob[]) {
    tenant.count--;
    setAsideCount--;
    if (jobs.length === 0) {
      tenant.byEndpoint.delete(endpointKey);
      tenant.turn.splice(tenant.turn.indexOf(endpointKey), 1);
    }
    if (tenant.count === 0) forgetTenant(tenantId);
  }

  function remember(job: SetAsideJob) {
    let tenant = setAside.get(job.tenantId);
    if (!tenant) {
      tenant = { byEndpoint: new Map(), turn: [], count: 0 };
      setAside.set(job.tenantId, tenant);
      tenantTurn.add(job.tenantId);
    }
    let jobs = tenant.byEndpoint.get(job.endpointKey);
    if (!jobs) {
      jobs = [];
      tenant.byEndpoint.set(job.endpointKey, jobs);
      tenant.turn.push(job.endpointKey);
    }
    jobs.push(job);
    tenant.count++;
    setAsideCount++;
  }

  async function stepAside(job: QueuedJob): Promise<null> {
    const { tenantId } = job.payload;
    // A stopping worker sends its jobs back to run at once, for the workers that go on. Otherwise
    // the time is only the fallback should this worker die: a freed slot brings the job back
    // sooner. It is short only for a job likely to get a slot soon, of an endpoint that answers. A
    // job of an endpoint that has not answered (new, or hanging) stays away longer even while its
    // tenant's slots turn over: those slots go to the jobs brought back, so one that came back by
    // itself would only step aside again (a noisy tenant's jobs stepping aside in the window after
    // its timeouts came back together ten seconds later, at its next timeout wave, and nearly all
    // of them stepped aside again).
    const soon = mayHaveSlotSoon(tenantId, job.endpointKey) && isAnswering(tenantId, job.endpointKey);
    const runAt = closed ? job.runAt : new Date(pace.returnAt(soon));
    const id = await queue.stepAside({ job: job.payload, priority: job.priority, runAt });
    if (closed) {
      if (runAt !== job.runAt) await queue.bringBack({ id, runAt: job.runAt });
      return null;
    }
    remember({ id, tenantId, endpointKey: job.endpointKey, runAt: job.runAt, returnsAt: runAt.getTime() });
    // A slot freed while the statement ran found nothing set aside to bring back. With none of its
    // tenant's deliveries in flight no release follows, and the job would wait for its fallback
    // time (up to 45 s). (Only then: while the tenant has deliveries in flight, their releases
    // bring it back, and bringing it back at once churns a noisy tenant's jobs at others' expense.)
    if (slots.heldOf(tenantId) === 0 && slots.blockedAt(tenantId, job.endpointKey) === null) bringBackFor(tenantId);
    return null;
  }

  async function waitForSlot(job: QueuedJob): Promise<Slot | null> {
    const { tenantId } = job.payload;
    const wait = slots.wait(tenantId, job.endpointKey);
    // Checked once a window: a job whose blocking slots stopped turning over steps aside.
    const timer = setInterval(() => {
      const level = slots.blockedAt(tenantId, job.endpointKey);
      // Its place in the room frees up for a job set aside that may have a slot soon.
      if (level !== null && !pace.turningOver(keyAt(level, tenantId, job.endpointKey)) && wait.cancel()) bringBackFor(tenantId);
    }, windowMs);
    try {
      return await wait.slot;
    } finally {
      clearInterval(timer);
    }
  }

  return {
    async admit(job) {
      const { tenantId } = job.payload;
      const broughtBack = arrived(job.id);
      if (closed) return stepAside(job);
      pace.seen(workerKey);
      pace.seen(tenantKey(tenantId));
      pace.seen(endpointKeyOf(tenantId, job.endpointKey));
      // The tenant's free slots are kept for its jobs brought back: another job of an endpoint that
      // has not answered does not take them first (a hanging tenant's next fan-out would, and the
      // jobs brought back would only step aside again).
      if (!broughtBack && comingBackCount.has(tenantId) && !isAnswering(tenantId, job.endpointKey)) {
        expireComingBack(pace.now());
        if (unclaimedSlots(tenantId) <= 0) return stepAside(job);
      }
      const slot = slots.tryAcquire(tenantId, job.endpointKey);
      if (slot) return slot;
      // (Jobs coming back are not counted here: they are in the queue, so what arrives first waits.)
      if (mayHaveSlotSoon(tenantId, job.endpointKey) && hasRoom(tenantId, job.endpointKey, 'waiting')) {
        const waited = await waitForSlot(job);
        if (waited) return waited;
      }
      return stepAside(job);
    },
    inFlight: () => slots.inFlight(),
    waiting: () => slots.waiting(),
    setAside: () => setAsideCount,
    async close() {
      closed = true;
      slots.close();
      const jobs = [...setAside.values()].flatMap((tenant) => [...tenant.byEndpoint.values()].flat());
      setAside.clear();
      tenantTurn.clear();
      setAsideCount = 0;
      await Promise.all(jobs.map((job) => queue.bringBack({ id: job.id, runAt: job.runAt })));
    },
  };
}
