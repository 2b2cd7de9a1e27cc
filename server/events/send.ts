// events.send: accept an event for a tenant and fan it out — the event (payload serialized once,
// stored as the exact bytes to send), one delivery per matching enabled endpoint (or one to a
// one-off URL) and one job per delivery. All of it is ONE SQL statement (db/sql/fan-out.ts: atomic
// on its own, one round trip whatever the fan-out), so an accepted event always has its deliveries
// and jobs. This file holds the rules: size and URL checks, batching, idempotency, errors.
import { tenants } from '../../db/schema.js';
import { listEventDeliveries } from '../../db/sql/deliveries.js';
import { clearIdempotencyKey, findEventByIdempotencyKey } from '../../db/sql/events.js';
import { insertEventsWithDeliveries, type FanOutItem, type FanOutResult } from '../../db/sql/fan-out.js';
import { findTenant } from '../../db/sql/tenants.js';
import { newId, newIdBlock } from '../../shared/ids.js';
import { judgeUrl, refusalMessage } from '../../shared/url-rules.js';
import { createBatcher, writeAloneOnItemFailure } from '../batcher.js';
import { SEND_POOL_SIZE, type ApiPool, type SendPool, type Shared } from '../deps.js';
import { InvalidInputError, NotFoundError, PayloadTooLargeError } from '../errors.js';
import { payloadChecker } from '../event-types/payload-check.js';
import { presentDelivery, presentEvent, type Delivery, type Event } from './present.js';

/** What a send uses: the process' pool, the send pool, and the configured limits and URL rules. */
export type SendDeps = ApiPool & SendPool & Pick<Shared, 'config' | 'logger'>;

export interface SendEventInput {
  type: string;
  payload: Record<string, unknown>;
  idempotencyKey?: string | undefined;
  url?: string | undefined;
}

export const IDEMPOTENCY_WINDOW_MS = 24 * 3_600_000;

type Created = { event: Event; deliveries: Delivery[] };

export async function sendEvent(deps: SendDeps, tenantId: string, input: SendEventInput): Promise<Created> {
  const body = JSON.stringify(input.payload);
  const size = Buffer.byteLength(body);
  if (size > deps.config.maxPayloadBytes) {
    throw new PayloadTooLargeError(
      `the payload is ${size} bytes serialized, over the limit of ${deps.config.maxPayloadBytes} bytes (HOOKLINE_MAX_PAYLOAD_BYTES)`,
    );
  }
  let url: string | undefined;
  if (input.url !== undefined) {
    const verdict = judgeUrl(input.url, deps.config.urlPolicy);
    if (!verdict.ok) throw new InvalidInputError(`url: ${refusalMessage(verdict)}`);
    url = verdict.url.href;
  }
  // Before the fan-out statement: a payload that breaks its type's schema writes nothing.
  await payloadChecker(deps)(input.type, input.payload);
  return createEventWithDeliveries(deps, tenantId, {
    type: input.type,
    body,
    idempotencyKey: input.idempotencyKey,
    url,
  });
}

export interface EventSpec {
  type: string;
  body: string;
  idempotencyKey?: string | undefined;
  /** A one-off destination instead of the subscribed endpoints. */
  url?: string | undefined;
  /** hookline's own test events: exactly this endpoint, and the type is not looked up in the catalog. */
  onlyEndpointId?: string;
}

export async function createEventWithDeliveries(deps: SendDeps, tenantId: string, spec: EventSpec): Promise<Created> {
  // The idempotency key is checked by the insert itself (on conflict do nothing): a new event
  // costs one round trip, a repeated key a second one to read what the first send accepted.
  const created = await insertEventAndFanOut(deps, tenantId, spec);
  if (created) return created;

  // Nothing was inserted: say why.
  if (spec.idempotencyKey !== undefined) {
    const earlier = await findIdempotentEvent(deps, tenantId, spec.idempotencyKey);
    if (earlier === 'expired') return createEventWithDeliveries(deps, tenantId, spec);
    if (earlier) return earlier; // sent before, or by a concurrent send that committed first
  }
  const tenant = await findTenant(deps.db, tenantId, { id: tenants.id });
  if (!tenant) throw new NotFoundError('tenant not found');
  throw new InvalidInputError(`event type "${spec.type}" is not registered (or is archived)`);
}

// Concurrent sends of one process share a statement (group commit, see server/batcher.ts): under
// load the commits, the WAL flushes and graphile-worker's NOTIFY are paid once per batch instead
// of once per event. A lone send still goes out at once.
const fanOutBatchers = new WeakMap<SendDeps, (item: FanOutItem) => Promise<FanOutResult>>();

function fanOutBatcher(deps: SendDeps): (item: FanOutItem) => Promise<FanOutResult> {
  let batcher = fanOutBatchers.get(deps);
  if (!batcher) {
    batcher = createBatcher<FanOutItem, FanOutResult>(
      // A deadlock between two batches, or bad data in one event, is one event's trouble.
      writeAloneOnItemFailure((items) => insertEventsWithDeliveries(deps.sendSql, items)),
      {
        maxBatch: 100,
        maxBytes: 1_048_576,
        sizeOf: (item) => item.body.length,
        // One statement per connection of the send pool (server/compose.ts).
        maxInFlight: SEND_POOL_SIZE,
      },
    );
    fanOutBatchers.set(deps, batcher);
  }
  return batcher;
}

async function insertEventAndFanOut(deps: SendDeps, tenantId: string, spec: EventSpec): Promise<Created | undefined> {
  const eventId = newId('event');
  // Delivery ids: one time-ordered block per fan-out, the row number filling its last characters.
  const deliveryIds = newIdBlock('delivery');
  const written = await fanOutBatcher(deps)({
    id: eventId,
    tenantId,
    type: spec.type,
    body: spec.body,
    idempotencyKey: spec.idempotencyKey ?? null,
    url: spec.url ?? null,
    onlyEndpointId: spec.onlyEndpointId ?? null,
    deliveryPrefix: deliveryIds.prefix,
  });
  const inserted = written.event;
  if (!inserted) return undefined;
  const event: Event = presentEvent({
    id: eventId,
    tenantId,
    type: spec.type,
    payload: spec.body,
    idempotencyKey: spec.idempotencyKey ?? null,
    url: spec.url ?? null,
    createdAt: inserted.createdAt,
  });
  const created = written.deliveries.map((d) =>
    presentDelivery({
      id: d.id,
      tenantId,
      eventId,
      endpointId: d.endpointId,
      status: 'pending',
      attemptCount: 0,
      nextAttemptAt: null,
      lastError: null,
      createdAt: d.createdAt,
      updatedAt: d.createdAt,
    }),
  );
  return { event, deliveries: created };
}

/**
 * The event an idempotency key already named within the window, with its deliveries; 'expired'
 * when the key was older than the window (and is now free again).
 */
async function findIdempotentEvent(deps: SendDeps, tenantId: string, key: string): Promise<Created | 'expired' | undefined> {
  const existing = await findEventByIdempotencyKey(deps.db, tenantId, key);
  if (!existing) return undefined;
  if (existing.createdAt.getTime() <= Date.now() - IDEMPOTENCY_WINDOW_MS) {
    // An expired key may be used again: the old event keeps its history, not the key.
    await clearIdempotencyKey(deps.db, existing.id);
    return 'expired';
  }
  const rows = await listEventDeliveries(deps.db, { eventId: existing.id });
  return { event: presentEvent(existing), deliveries: rows.map(presentDelivery) };
}
