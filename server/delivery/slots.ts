// The delivery slots of one worker process, shared at two levels: tenants, then each tenant's
// endpoints (the caps are the slot policy in worker/settings.ts). Deliveries are I/O-bound and a
// worker holds many in flight; these caps keep one tenant, or one endpoint of a tenant, from
// holding the slots the others need.
//
// A job that finds no slot may queue for one here; a freed slot goes to the tenants with queued
// jobs in turn, and inside the tenant to its endpoints in turn, passing over whoever is at a cap.
// An endpoint earns its slots: it starts with `firstEndpointSlots`, an answer earns it all of its
// tenant's (a backlog to a 100 ms endpoint is served at full speed after its first answer), and a
// timeout halves what it has. So a hanging endpoint keeps one slot, and a tenant's hanging
// endpoints leave its other endpoints room.
// Pure bookkeeping: no clock, no I/O.
import type { SlotPolicy } from '../worker/settings.js';

/** How a delivery that held a slot ended: it got an answer, it timed out, or it sent nothing. */
export type SlotEnd = 'answered' | 'timed-out' | 'none';

export interface Slot {
  leave(end: SlotEnd): void;
}

/** The level whose cap keeps a job from a slot. */
export type SlotLevel = 'worker' | 'tenant' | 'endpoint';

export interface SlotWait {
  /** A slot once one is handed over; null when the wait was cancelled or the semaphore closed. */
  slot: Promise<Slot | null>;
  /** Gives up the place in line; false when the slot was already handed over. */
  cancel(): boolean;
}

export interface SlotSemaphore {
  /** A slot now if one is free for this endpoint and nobody of the endpoint is queued before it. */
  tryAcquire(tenantId: string, endpointKey: string): Slot | null;
  /** Which cap keeps this endpoint from a slot now; null when it could take one. */
  blockedAt(tenantId: string, endpointKey: string): SlotLevel | null;
  /** Which cap keeps every endpoint of the tenant from a slot now ('worker' or 'tenant'); null if none does. */
  tenantBlockedAt(tenantId: string): SlotLevel | null;
  /** Queues for a slot, behind the endpoint's jobs already queued. */
  wait(tenantId: string, endpointKey: string): SlotWait;
  inFlight(): number;
  waiting(): number;
  waitingOf(tenantId: string): number;
  /** Slots the tenant holds. */
  heldOf(tenantId: string): number;
  waitingOfEndpoint(tenantId: string, endpointKey: string): number;
  /** The slots the endpoint may hold now (earned, and its share while others of its tenant wait). */
  endpointCap(tenantId: string, endpointKey: string): number;
  /** Every queued job gets null; no slot is handed out any more. */
  close(): void;
}

export interface SlotSemaphoreOptions {
  policy: SlotPolicy;
  /** Called after a slot was released and handed on (if anyone could take it). */
  onRelease?: (tenantId: string, endpointKey: string) => void;
}

type Waiter = (slot: Slot | null) => void;

const REMEMBERED_IDLE_ENDPOINTS = 10_000;

interface EndpointState {
  key: string;
  tenant: TenantState;
  held: number;
  /** Slots earned by answering (firstEndpointSlots … tenantSlots). */
  earned: number;
  waiters: Waiter[];
  /** In its tenant's `turn` (once at most). */
  inTurn: boolean;
}

interface TenantState {
  id: string;
  held: number;
  waiting: number;
  /** Endpoints with jobs waiting that could use another slot of their own (held < earned). */
  hungry: number;
  endpoints: Map<string, EndpointState>;
  /** Endpoints with queued jobs, in the order they are served. */
  turn: EndpointState[];
  inTurn: boolean;
}

export function createSlotSemaphore(options: SlotSemaphoreOptions): SlotSemaphore {
  const { policy } = options;
  const tenants = new Map<string, TenantState>();
  /** Tenants with queued jobs, in the order they are served. */
  const turn: TenantState[] = [];
  let held = 0;
  let waiting = 0;
  let closed = false;

  function endpointOf(tenantId: string, endpointKey: string): EndpointState {
    let tenant = tenants.get(tenantId);
    if (!tenant) {
      tenant = { id: tenantId, held: 0, waiting: 0, hungry: 0, endpoints: new Map(), turn: [], inTurn: false };
      tenants.set(tenantId, tenant);
    }
    let endpoint = tenant.endpoints.get(endpointKey);
    if (endpoint) idleEarners.delete(endpoint);
    else {
      endpoint = { key: endpointKey, tenant, held: 0, earned: policy.firstEndpointSlots, waiters: [], inTurn: false };
      tenant.endpoints.set(endpointKey, endpoint);
    }
    return endpoint;
  }

  /**
   * Idle endpoints that earned more than their first slots, least recently used first: what they
   * earned is kept for when their next jobs come (at most `REMEMBERED_IDLE_ENDPOINTS` of them).
   */
  const idleEarners = new Set<EndpointState>();

  function forgetIfIdle(endpoint: EndpointState) {
    if (endpoint.held > 0 || endpoint.waiters.length > 0) return;
    if (endpoint.earned <= policy.firstEndpointSlots) return drop(endpoint);
    idleEarners.delete(endpoint);
    idleEarners.add(endpoint);
    if (idleEarners.size > REMEMBERED_IDLE_ENDPOINTS) {
      const oldest = idleEarners.values().next().value!;
      idleEarners.delete(oldest);
      drop(oldest);
    }
  }

  function drop(endpoint: EndpointState) {
    const { tenant } = endpoint;
    if (tenant.endpoints.get(endpoint.key) === endpoint) tenant.endpoints.delete(endpoint.key);
    if (tenant.endpoints.size === 0 && tenants.get(tenant.id) === tenant) tenants.delete(tenant.id);
  }

  const isHungry = (endpoint: EndpointState) => endpoint.waiters.length > 0 && endpoint.held < endpoint.earned;

  /** Changes an endpoint's counts, keeping its tenant's count of hungry endpoints true. */
  function change(endpoint: EndpointState, mutate: () => void) {
    const was = isHungry(endpoint);
    mutate();
    const is = isHungry(endpoint);
    if (is !== was) endpoint.tenant.hungry += is ? 1 : -1;
  }

  /** Its earned slots; half of the tenant's while another endpoint of the tenant waits and could use one. */
  function capOf(endpoint: EndpointState): number {
    const othersWait = endpoint.tenant.hungry > (isHungry(endpoint) ? 1 : 0);
    return Math.min(endpoint.earned, othersWait ? policy.sharedEndpointSlots : policy.tenantSlots);
  }

  function levelBlocking(endpoint: EndpointState): SlotLevel | null {
    if (held >= policy.deliverySlots) return 'worker';
    if (endpoint.tenant.held >= policy.tenantSlots) return 'tenant';
    if (endpoint.held >= capOf(endpoint)) return 'endpoint';
    return null;
  }

  function grant(endpoint: EndpointState): Slot {
    const { tenant } = endpoint;
    held++;
    tenant.held++;
    change(endpoint, () => endpoint.held++);
    let left = false;
    return {
      leave(end) {
        if (left) return;
        left = true;
        held--;
        tenant.held--;
        change(endpoint, () => {
          endpoint.held--;
          if (end === 'answered') endpoint.earned = policy.tenantSlots;
          else if (end === 'timed-out') endpoint.earned = Math.max(policy.firstEndpointSlots, Math.floor(endpoint.earned / 2));
        });
        handOut();
        forgetIfIdle(endpoint);
        options.onRelease?.(tenant.id, endpoint.key);
      },
    };
  }

  /** The tenant's next endpoint in turn that may take a slot (left out of `turn`), if any. */
  function nextEndpoint(tenant: TenantState): EndpointState | undefined {
    for (let passed = 0; passed < tenant.turn.length; ) {
      const endpoint = tenant.turn.shift()!;
      if (endpoint.waiters.length === 0) {
        endpoint.inTurn = false; // its queued jobs gave up meanwhile
        continue;
      }
      if (endpoint.held < capOf(endpoint)) return endpoint;
      tenant.turn.push(endpoint);
      passed++;
    }
    return undefined;
  }

  /** Gives free slots to queued jobs: tenant after tenant, endpoint after endpoint. */
  function handOut() {
    if (closed) return;
    for (let passed = 0; held < policy.deliverySlots && passed < turn.length; ) {
      const tenant = turn.shift()!;
      if (tenant.waiting === 0) {
        tenant.inTurn = false;
        continue;
      }
      const endpoint = tenant.held < policy.tenantSlots ? nextEndpoint(tenant) : undefined;
      if (!endpoint) {
        turn.push(tenant);
        passed++;
        continue;
      }
      passed = 0;
      let waiter!: Waiter;
      change(endpoint, () => (waiter = endpoint.waiters.shift()!));
      tenant.waiting--;
      waiting--;
      if (endpoint.waiters.length > 0) tenant.turn.push(endpoint);
      else endpoint.inTurn = false;
      if (tenant.waiting > 0) turn.push(tenant);
      else tenant.inTurn = false;
      waiter(grant(endpoint));
    }
  }

  return {
    tryAcquire(tenantId, endpointKey) {
      if (closed) return null;
      const endpoint = endpointOf(tenantId, endpointKey);
      if (endpoint.waiters.length > 0 || levelBlocking(endpoint) !== null) {
        forgetIfIdle(endpoint);
        return null;
      }
      return grant(endpoint);
    },
    blockedAt(tenantId, endpointKey) {
      const endpoint = endpointOf(tenantId, endpointKey);
      const level = levelBlocking(endpoint);
      forgetIfIdle(endpoint);
      return level;
    },
    wait(tenantId, endpointKey) {
      if (closed) return { slot: Promise.resolve(null), cancel: () => false };
      const endpoint = endpointOf(tenantId, endpointKey);
      const { tenant } = endpoint;
      let settled = false;
      let resolve!: (slot: Slot | null) => void;
      const slot = new Promise<Slot | null>((r) => (resolve = r));
      const waiter: Waiter = (given) => {
        if (settled) return given?.leave('none');
        settled = true;
        resolve(given);
      };
      change(endpoint, () => endpoint.waiters.push(waiter));
      tenant.waiting++;
      waiting++;
      if (!endpoint.inTurn) {
        endpoint.inTurn = true;
        tenant.turn.push(endpoint);
      }
      if (!tenant.inTurn) {
        tenant.inTurn = true;
        turn.push(tenant);
      }
      handOut();
      return {
        slot,
        cancel() {
          if (settled) return false;
          const index = endpoint.waiters.indexOf(waiter);
          if (index >= 0) {
            change(endpoint, () => endpoint.waiters.splice(index, 1));
            tenant.waiting--;
            waiting--;
          }
          settled = true;
          resolve(null);
          forgetIfIdle(endpoint);
          // With one endpoint fewer waiting, the others' shares may have grown.
          handOut();
          return true;
        },
      };
    },
    inFlight: () => held,
    waiting: () => waiting,
    tenantBlockedAt(tenantId) {
      if (held >= policy.deliverySlots) return 'worker';
      if ((tenants.get(tenantId)?.held ?? 0) >= policy.tenantSlots) return 'tenant';
      return null;
    },
    waitingOf: (tenantId) => tenants.get(tenantId)?.waiting ?? 0,
    heldOf: (tenantId) => tenants.get(tenantId)?.held ?? 0,
    waitingOfEndpoint: (tenantId, endpointKey) => tenants.get(tenantId)?.endpoints.get(endpointKey)?.waiters.length ?? 0,
    endpointCap(tenantId, endpointKey) {
      const endpoint = tenants.get(tenantId)?.endpoints.get(endpointKey);
      return endpoint ? capOf(endpoint) : policy.firstEndpointSlots;
    },
    close() {
      closed = true;
      for (const tenant of turn.splice(0)) {
        tenant.inTurn = false;
        for (const endpoint of tenant.turn.splice(0)) {
          endpoint.inTurn = false;
          let waiters: Waiter[] = [];
          change(endpoint, () => (waiters = endpoint.waiters.splice(0)));
          for (const waiter of waiters) {
            tenant.waiting--;
            waiting--;
            waiter(null);
          }
        }
      }
    },
  };
}
