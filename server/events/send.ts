// events.send: accept an event for a tenant and fan it out — the event (payload serialized once,
// stored as the exact bytes to send), one delivery per matching enabled endpoint (or one to a
// one-off URL) and one job per delivery. All of it is ONE SQL statement (atomic on its own, one
// round trip whatever the fan-out), so an accepted event always has its deliveries and jobs.
import { and, eq } from 'drizzle-orm';
import { deliveries, events, tenants } from '../../db/schema.js';
import { newId, newIdBlock } from '../../shared/ids.js';
import { judgeUrl } from '../../shared/url-rules.js';
import { deliverJobMaxAttempts } from '../delivery/jobs.js';
import type { AppDeps } from '../deps.js';
import { InvalidInputError, NotFoundError, PayloadTooLargeError } from '../errors.js';
import { presentDelivery, presentEvent, type Delivery, type Event } from './present.js';

export interface SendEventInput {
  type: string;
  payload: Record<string, unknown>;
  idempotencyKey?: string | undefined;
  url?: string | undefined;
}

export const idempotencyWindowMs = 24 * 3_600_000;

/**
 * Jobs of one fan-out get priorities 0, 0, …, 1, 1, … (ten per step): a single-endpoint event of
 * another tenant is queued ahead of the tail of a large fan-out instead of behind all of it.
 */
const jobsPerPriorityStep = 10;

export async function sendEvent(
  deps: AppDeps,
  tenantId: string,
  input: SendEventInput,
): Promise<{ event: Event; deliveries: Delivery[] }> {
  const body = JSON.stringify(input.payload);
  const size = Buffer.byteLength(body);
  if (size > deps.config.maxPayloadBytes) {
    throw new PayloadTooLargeError(`payload is ${size} bytes serialized; the limit is ${deps.config.maxPayloadBytes} (HOOKLINE_MAX_PAYLOAD_BYTES)`);
  }
  let url: string | undefined;
  if (input.url !== undefined) {
    const verdict = judgeUrl(input.url, deps.config.urlPolicy);
    if (!verdict.ok) throw new InvalidInputError(`url: ${verdict.reason}`);
    url = verdict.url.href;
  }
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
  deps: AppDeps,
  tenantId: string,
  spec: EventSpec,
): Promise<{ event: Event; deliveries: Delivery[] }> {
  if (spec.idempotencyKey !== undefined) {
    const earlier = await findIdempotentEvent(deps, tenantId, spec.idempotencyKey);
    if (earlier) return earlier;
  }
  const created = await insertEventAndFanOut(deps, tenantId, spec);
  if (created) return created;

  // Nothing was inserted: say why.
  if (spec.idempotencyKey !== undefined) {
    const winner = await findIdempotentEvent(deps, tenantId, spec.idempotencyKey);
    if (winner) return winner; // a concurrent send with the same key committed first
  }
  const [tenant] = await deps.db.select({ id: tenants.id }).from(tenants).where(eq(tenants.id, tenantId));
  if (!tenant) throw new NotFoundError('tenant not found');
  throw new InvalidInputError(`event type "${spec.type}" is not registered (or is archived)`);
}

interface FanOutRow {
  event: { id: string; created_at: string } | null;
  deliveries: Array<{ id: string; endpoint_id: string | null; created_at: string }> | null;
}

async function insertEventAndFanOut(
  deps: AppDeps,
  tenantId: string,
  spec: EventSpec,
): Promise<{ event: Event; deliveries: Delivery[] } | undefined> {
  const { sql } = deps;
  const eventId = newId('event');
  // Delivery ids: one time-ordered block per fan-out, the row number filling its last characters.
  const deliveryIds = newIdBlock('delivery');
  const catalogCheck =
    spec.onlyEndpointId !== undefined
      ? sql`true`
      : sql`exists (select 1 from event_types where name = ${spec.type} and archived_at is null)`;
  const targets =
    spec.url !== undefined
      ? sql`select null::text as id`
      : spec.onlyEndpointId !== undefined
        ? sql`select id from endpoints where id = ${spec.onlyEndpointId} and tenant_id = ${tenantId}`
        : // Mirrors shared/event-type-filter.ts: no filter = every type; exact names; `prefix.*`.
          sql`select id from endpoints
               where tenant_id = ${tenantId} and not disabled
                 and (cardinality(event_types) = 0 or exists (
                   select 1 from unnest(event_types) as f
                    where f = ${spec.type} or (right(f, 2) = '.*' and starts_with(${spec.type}, left(f, -1)))))`;

  const [row] = await sql<FanOutRow[]>`
    with event as (
      insert into events (id, tenant_id, type, payload, idempotency_key, url)
      select ${eventId}, ${tenantId}, ${spec.type}, ${spec.body}, ${spec.idempotencyKey ?? null}, ${spec.url ?? null}
       where exists (select 1 from tenants where id = ${tenantId}) and ${catalogCheck}
      on conflict (tenant_id, idempotency_key) do nothing
      returning id, created_at
    ), target as (
      select t.id, row_number() over (order by t.id) - 1 as n
        from (${targets}) as t
       where exists (select 1 from event)
    ), delivery as (
      insert into deliveries (id, tenant_id, event_id, endpoint_id)
      select ${deliveryIds.prefix} || ${sql.unsafe(base32Suffix('target.n', deliveryIds.suffixLength))}, ${tenantId}, ${eventId}, target.id
        from target
      returning id, endpoint_id, created_at
    ), job as (
      select 1 from graphile_worker.add_jobs(array(
        select row('deliver',
                   json_build_object('deliveryId', delivery.id, 'tenantId', ${tenantId}::text, 'attempt', 1),
                   null, null, ${deliverJobMaxAttempts}::int,
                   null, least(delivery.n / ${jobsPerPriorityStep}, 1000)::int, null)::graphile_worker.job_spec
          -- Numbered again rather than joined back to target: a join on the nullable endpoint id
          -- (one-off URLs) can only be a nested loop, 1,000 × 1,000 rows for a 1,000-wide fan-out.
          from (select id, row_number() over (order by id) - 1 as n from delivery) as delivery))
    )
    select (select row_to_json(event) from event) as event,
           (select json_agg(delivery order by delivery.id) from delivery) as deliveries,
           (select count(*) from job) as jobs`;

  if (!row?.event) return undefined;
  const event: Event = presentEvent({
    id: row.event.id,
    tenantId,
    type: spec.type,
    payload: spec.body,
    idempotencyKey: spec.idempotencyKey ?? null,
    url: spec.url ?? null,
    createdAt: new Date(row.event.created_at),
  });
  const created = (row.deliveries ?? []).map((d) =>
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

/** SQL for the last `length` characters of a delivery id: the row number in the id alphabet. */
function base32Suffix(column: string, length: number): string {
  const alphabet = `'0123456789abcdefghjkmnpqrstvwxyz'`;
  const chars: string[] = [];
  for (let i = length - 1; i >= 0; i--) chars.push(`substr(${alphabet}, ((${column} >> ${5 * i}) & 31)::int + 1, 1)`);
  return chars.join(' || ');
}

/** The event an idempotency key already named within the window, with its deliveries. */
async function findIdempotentEvent(
  deps: AppDeps,
  tenantId: string,
  key: string,
): Promise<{ event: Event; deliveries: Delivery[] } | undefined> {
  const [existing] = await deps.db
    .select()
    .from(events)
    .where(and(eq(events.tenantId, tenantId), eq(events.idempotencyKey, key)));
  if (!existing) return undefined;
  if (existing.createdAt.getTime() <= Date.now() - idempotencyWindowMs) {
    // An expired key may be used again: the old event keeps its history, not the key.
    await deps.db.update(events).set({ idempotencyKey: null }).where(eq(events.id, existing.id));
    return undefined;
  }
  const rows = await deps.db.select().from(deliveries).where(eq(deliveries.eventId, existing.id)).orderBy(deliveries.id);
  return { event: presentEvent(existing), deliveries: rows.map(presentDelivery) };
}
