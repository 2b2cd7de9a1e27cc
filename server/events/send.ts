// events.send: accept an event for a tenant and fan it out — the event (payload serialized once,
// stored as the exact bytes to send), one delivery per matching enabled endpoint (or one to a
// one-off URL) and one job per delivery. All of it is ONE SQL statement (atomic on its own, one
// round trip whatever the fan-out), so an accepted event always has its deliveries and jobs.
import { and, eq } from 'drizzle-orm';
import { deliveries, events, tenants } from '../../db/schema.js';
import { idAlphabet, idBlockSuffixLength, newId, newIdBlock } from '../../shared/ids.js';
import { judgeUrl, refusalMessage } from '../../shared/url-rules.js';
import { createBatcher, writeAloneOnItemFailure } from '../batcher.js';
import { deliverJobMaxAttempts } from '../delivery/jobs.js';
import type { ApiPool, Shared } from '../deps.js';
import { InvalidInputError, NotFoundError, PayloadTooLargeError } from '../errors.js';
import { payloadChecker } from '../event-types/payload-check.js';
import { presentDelivery, presentEvent, type Delivery, type Event } from './present.js';

/** What a send uses: the process' pool and the configured limits and URL rules. */
export type SendDeps = ApiPool & Pick<Shared, 'config' | 'logger'>;

export interface SendEventInput {
  type: string;
  payload: Record<string, unknown>;
  idempotencyKey?: string | undefined;
  url?: string | undefined;
}

export const idempotencyWindowMs = 24 * 3_600_000;

type Created = { event: Event; deliveries: Delivery[] };

/**
 * Jobs of one fan-out get priorities 0, 0, …, 1, 1, … (ten per step): a single-endpoint event of
 * another tenant is queued ahead of the tail of a large fan-out instead of behind all of it.
 */
const jobsPerPriorityStep = 10;

export async function sendEvent(
  deps: SendDeps,
  tenantId: string,
  input: SendEventInput,
): Promise<Created> {
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

export async function createEventWithDeliveries(
  deps: SendDeps,
  tenantId: string,
  spec: EventSpec,
): Promise<Created> {
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
  const [tenant] = await deps.db.select({ id: tenants.id }).from(tenants).where(eq(tenants.id, tenantId));
  if (!tenant) throw new NotFoundError('tenant not found');
  throw new InvalidInputError(`event type "${spec.type}" is not registered (or is archived)`);
}

/** One event of a fan-out batch, as the statement reads it (json_to_recordset). */
interface FanOutItem {
  event_id: string;
  tenant_id: string;
  type: string;
  body: string;
  idempotency_key: string | null;
  url: string | null;
  only_endpoint_id: string | null;
  delivery_prefix: string;
}

/** What the statement wrote for one event: nothing (see createEventWithDeliveries), or the event and its deliveries. */
interface FanOutResult {
  event: { id: string; created_at: string } | undefined;
  deliveries: Array<{ id: string; event_id: string; endpoint_id: string | null; created_at: string }>;
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
      writeAloneOnItemFailure((items) => fanOut(deps, items)),
      {
        maxBatch: 100,
        maxBytes: 1_048_576,
        sizeOf: (item) => item.body.length,
        // Leaves most of the pool to the API's other queries.
        maxInFlight: 3,
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
    event_id: eventId,
    tenant_id: tenantId,
    type: spec.type,
    body: spec.body,
    idempotency_key: spec.idempotencyKey ?? null,
    url: spec.url ?? null,
    only_endpoint_id: spec.onlyEndpointId ?? null,
    delivery_prefix: deliveryIds.prefix,
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
    createdAt: new Date(inserted.created_at),
  });
  const created = written.deliveries.map((d) =>
    presentDelivery({
      id: d.id,
      tenantId,
      eventId,
      endpointId: d.endpoint_id,
      status: 'pending',
      attemptCount: 0,
      nextAttemptAt: null,
      lastError: null,
      createdAt: new Date(d.created_at),
      updatedAt: new Date(d.created_at),
    }),
  );
  return { event, deliveries: created };
}

/**
 * Events, their deliveries and the deliveries' jobs, for any number of events, in ONE statement.
 * An event is inserted only if its tenant exists and its type is in the catalog (test events skip
 * the catalog), and not when its idempotency key is taken; the caller finds out why from what is
 * missing. Its deliveries go to the matching enabled endpoints, to its one-off URL, or to exactly
 * the endpoint a test event names.
 */
async function fanOut(deps: SendDeps, items: FanOutItem[]): Promise<FanOutResult[]> {
  const { sql } = deps;
  // Inserted in a fixed order, so two batches that share idempotency keys lock them in the same order.
  const ordered = [...items].sort((a, b) =>
    `${a.tenant_id} ${a.idempotency_key ?? ''}`.localeCompare(`${b.tenant_id} ${b.idempotency_key ?? ''}`),
  );
  const [row] = await sql<Array<{ events: Array<NonNullable<FanOutResult['event']>> | null; deliveries: FanOutResult['deliveries'] | null }>>`
    with input as (
      select * from json_to_recordset(${JSON.stringify(ordered)}::json) as i(
        event_id text, tenant_id text, type text, body text, idempotency_key text, url text,
        only_endpoint_id text, delivery_prefix text)
    ), event as (
      insert into events (id, tenant_id, type, payload, idempotency_key, url)
      select i.event_id, i.tenant_id, i.type, i.body, i.idempotency_key, i.url
        from input i
       where exists (select 1 from tenants where id = i.tenant_id)
         and (i.only_endpoint_id is not null
              or exists (select 1 from event_types where name = i.type and archived_at is null))
      on conflict (tenant_id, idempotency_key) do nothing
      returning id, created_at
    ), target as (
      select i.event_id, i.tenant_id, i.delivery_prefix, t.endpoint_id,
             row_number() over (partition by i.event_id order by t.endpoint_id) - 1 as n
        from input i
        join event e on e.id = i.event_id
        -- The payload parsed once per event (OFFSET 0 keeps it from being re-parsed per endpoint),
        -- only when endpoints may have payload filters to judge.
        cross join lateral (
          select case when i.url is null and i.only_endpoint_id is null then i.body::jsonb end as document offset 0
        ) as p
        cross join lateral (
          -- A one-off URL: one delivery without an endpoint.
          select null::text as endpoint_id where i.url is not null
          union all
          -- A test event: exactly the named endpoint of the tenant.
          select ep.id from endpoints ep
           where i.url is null and i.only_endpoint_id is not null
             and ep.id = i.only_endpoint_id and ep.tenant_id = i.tenant_id
          union all
          -- Mirrors shared/event-type-filter.ts: no filter = every type; exact names; prefix.*.
          select ep.id from endpoints ep
           where i.url is null and i.only_endpoint_id is null
             and ep.tenant_id = i.tenant_id and not ep.disabled
             and (cardinality(ep.event_types) = 0 or exists (
                   select 1 from unnest(ep.event_types) as f
                    where f = i.type or (right(f, 2) = '.*' and starts_with(i.type, left(f, -1)))))
             -- Mirrors shared/payload-filter.ts (test/payload-filter.test.ts checks they agree).
             and (ep.filter_program is null or hookline_payload_matches(p.document, ep.filter_program))
        ) as t
    ), delivery as (
      insert into deliveries (id, tenant_id, event_id, endpoint_id)
      select target.delivery_prefix || ${sql.unsafe(deliveryIdSuffix)},
             target.tenant_id, target.event_id, target.endpoint_id
        from target
      returning id, tenant_id, event_id, endpoint_id, created_at
    ), job as (
      -- Jobs of one fan-out get priorities 0, 0, …, 1, 1, … (ten per step). They are numbered
      -- again rather than joined back to target: a join on the nullable endpoint id (one-off
      -- URLs) can only be a nested loop, 1,000 × 1,000 rows for a 1,000-wide fan-out.
      select 1 from graphile_worker.add_jobs(array(
        select row('deliver',
                   json_build_object('deliveryId', d.id, 'tenantId', d.tenant_id, 'endpointId', d.endpoint_id, 'attempt', 1),
                   null, null, ${deliverJobMaxAttempts}::int,
                   null, least(d.n / ${jobsPerPriorityStep}, 1000)::int, null)::graphile_worker.job_spec
          from (select id, tenant_id, endpoint_id, row_number() over (partition by event_id order by id) - 1 as n
                  from delivery) as d))
    )
    select (select json_agg(event) from event) as events,
           (select json_agg(delivery order by delivery.id) from delivery) as deliveries,
           (select count(*) from job) as jobs`;
  const results = new Map<string, FanOutResult>(items.map((item) => [item.event_id, { event: undefined, deliveries: [] }]));
  for (const event of row?.events ?? []) results.get(event.id)!.event = event;
  for (const delivery of row?.deliveries ?? []) results.get(delivery.event_id)!.deliveries.push(delivery);
  return items.map((item) => results.get(item.event_id)!);
}

/** SQL for the last characters of a delivery id: the row number `target.n` in the id alphabet. */
const deliveryIdSuffix = Array.from({ length: idBlockSuffixLength }, (_, i) => idBlockSuffixLength - 1 - i)
  .map((digit) => `substr('${idAlphabet}', ((target.n >> ${5 * digit}) & 31)::int + 1, 1)`)
  .join(' || ');

/**
 * The event an idempotency key already named within the window, with its deliveries; 'expired'
 * when the key was older than the window (and is now free again).
 */
async function findIdempotentEvent(
  deps: SendDeps,
  tenantId: string,
  key: string,
): Promise<Created | 'expired' | undefined> {
  const [existing] = await deps.db
    .select()
    .from(events)
    .where(and(eq(events.tenantId, tenantId), eq(events.idempotencyKey, key)));
  if (!existing) return undefined;
  if (existing.createdAt.getTime() <= Date.now() - idempotencyWindowMs) {
    // An expired key may be used again: the old event keeps its history, not the key.
    await deps.db.update(events).set({ idempotencyKey: null }).where(eq(events.id, existing.id));
    return 'expired';
  }
  const rows = await deps.db.select().from(deliveries).where(eq(deliveries.eventId, existing.id)).orderBy(deliveries.id);
  return { event: presentEvent(existing), deliveries: rows.map(presentDelivery) };
}
