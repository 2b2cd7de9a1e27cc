// The fan-out statement of events.send (server/events/send.ts): events, their deliveries and the
// deliveries' jobs, for any number of events, in ONE statement (atomic on its own, one round trip
// whatever the fan-out), so an accepted event always has its deliveries and jobs.
import type postgres from 'postgres';
import { ID_ALPHABET, ID_BLOCK_SUFFIX_LENGTH } from '../../shared/ids.js';
import type { deliveries, events } from '../schema.js';
import { claimFifoHeadsSql } from './fifo.js';
import { deliverJobPayload, deliverJobSpec } from './jobs.js';

type EventRow = typeof events.$inferSelect;
type DeliveryRow = typeof deliveries.$inferSelect;

/** One event to write, and where its deliveries go. */
export interface FanOutItem extends Pick<EventRow, 'id' | 'tenantId' | 'type' | 'idempotencyKey' | 'url'> {
  /** The payload, serialized once: the exact bytes every delivery sends (events.payload). */
  body: string;
  /** hookline's own test events: exactly this endpoint, and the type is not looked up in the catalog. */
  onlyEndpointId: string | null;
  /** The deliveries' ids: this prefix (shared/ids.ts newIdBlock), the row number filling the rest. */
  deliveryPrefix: string;
}

/** What the statement wrote for one event: nothing (see below), or the event and its deliveries. */
export interface FanOutResult {
  event: Pick<EventRow, 'id' | 'createdAt'> | undefined;
  deliveries: Array<Pick<DeliveryRow, 'id' | 'eventId' | 'endpointId' | 'createdAt'>>;
}

/**
 * Jobs of one fan-out get priorities 0, 0, …, 1, 1, … (ten per step): a single-endpoint event of
 * another tenant is queued ahead of the tail of a large fan-out instead of behind all of it.
 */
export const JOBS_PER_PRIORITY_STEP = 10;

/**
 * The SQL twin of `matchesEventTypeFilter` (shared/event-type-filter.ts): whether an event of type
 * `type` goes to an endpoint whose filter entries are `filters` (both SQL expressions: a text[]
 * and a text). No entry = every type; an entry is an exact name or `prefix.*`.
 * test/event-type-filter-sql.test.ts runs both on the same cases.
 */
export function eventTypeFilterMatchesSql(filters: string, type: string): string {
  return `(cardinality(${filters}) = 0 or exists (
                   select 1 from unnest(${filters}) as f
                    where f = ${type} or (right(f, 2) = '.*' and starts_with(${type}, left(f, -1)))))`;
}

/**
 * Writes the events of `items`, each with its deliveries and their jobs, in one statement; the
 * results are in the order of `items`. An event is inserted only if its tenant exists and its type
 * is in the catalog (test events skip the catalog), and not when its idempotency key is taken: then
 * its `event` is undefined and the caller finds out why. Its deliveries go to the tenant's enabled
 * endpoints whose filter matches, to its one-off URL, or to exactly the endpoint a test event names.
 */
export async function insertEventsWithDeliveries(sql: postgres.Sql, items: readonly FanOutItem[]): Promise<FanOutResult[]> {
  // Inserted in a fixed order, so two batches that share idempotency keys lock them in the same order.
  const ordered = [...items].sort((a, b) =>
    `${a.tenantId} ${a.idempotencyKey ?? ''}`.localeCompare(`${b.tenantId} ${b.idempotencyKey ?? ''}`),
  );
  const input = ordered.map((item) => ({
    event_id: item.id,
    tenant_id: item.tenantId,
    type: item.type,
    body: item.body,
    idempotency_key: item.idempotencyKey,
    url: item.url,
    only_endpoint_id: item.onlyEndpointId,
    delivery_prefix: item.deliveryPrefix,
  }));
  // Raw statements get timestamps as ISO strings (Drizzle replaces the driver's date handling).
  const [row] = await sql<
    Array<{
      events: Array<{ id: string; created_at: string }> | null;
      deliveries: Array<{ id: string; event_id: string; endpoint_id: string | null; created_at: string }> | null;
    }>
  >`
    with input as (
      select * from json_to_recordset(${JSON.stringify(input)}::json) as i(
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
      select i.event_id, i.tenant_id, i.delivery_prefix, t.endpoint_id, t.fifo,
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
          select null::text as endpoint_id, false as fifo where i.url is not null
          union all
          -- A test event: exactly the named endpoint of the tenant.
          select ep.id, ep.ordering = 'fifo' from endpoints ep
           where i.url is null and i.only_endpoint_id is not null
             and ep.id = i.only_endpoint_id and ep.tenant_id = i.tenant_id
          union all
          -- The tenant's enabled endpoints whose event-type filter matches.
          select ep.id, ep.ordering = 'fifo' from endpoints ep
           where i.url is null and i.only_endpoint_id is null
             and ep.tenant_id = i.tenant_id and not ep.disabled
             and ${sql.unsafe(eventTypeFilterMatchesSql('ep.event_types', 'i.type'))}
             -- Mirrors shared/payload-filter.ts (test/payload-filter.test.ts checks they agree).
             and (ep.filter_program is null or hookline_payload_matches(p.document, ep.filter_program))
        ) as t
    ), delivery as (
      insert into deliveries (id, tenant_id, event_id, endpoint_id)
      select target.delivery_prefix || ${sql.unsafe(DELIVERY_ID_SUFFIX)},
             target.tenant_id, target.event_id, target.endpoint_id
        from target
      returning id, tenant_id, event_id, endpoint_id, created_at
    ), fifo as (
      -- Deliveries to FIFO endpoints join their endpoint's line, in event-id order (db/sql/fifo.ts);
      -- only one that finds its line empty (its head) gets a job now.
      select target.delivery_prefix || ${sql.unsafe(DELIVERY_ID_SUFFIX)} as id, target.endpoint_id, target.event_id as seq
        from target
       where target.fifo
    ), fifo_joined as (
      ${sql.unsafe(FIFO_CLAIM.line)}
    ), fifo_head as (
      ${sql.unsafe(FIFO_CLAIM.heads)}
    ), job as (
      -- Jobs of one fan-out get priorities 0, 0, …, 1, 1, … (ten per step). They are numbered
      -- again rather than joined back to target: a join on the nullable endpoint id (one-off
      -- URLs) can only be a nested loop, 1,000 × 1,000 rows for a 1,000-wide fan-out.
      select 1 from graphile_worker.add_jobs(array(
        select ${sql.unsafe(FAN_OUT_JOB_SPEC)}
          from (select id, tenant_id, endpoint_id, row_number() over (partition by event_id order by id) - 1 as n
                  from delivery
                 where not exists (select 1 from fifo)
                    or delivery.id not in (select id from fifo)
                    or delivery.id in (select delivery_id from fifo_head)) as d))
    )
    select (select json_agg(event) from event) as events,
           (select json_agg(delivery order by delivery.id) from delivery) as deliveries,
           (select count(*) from job) as jobs`;
  const results = new Map<string, FanOutResult>(items.map((item) => [item.id, { event: undefined, deliveries: [] }]));
  for (const event of row?.events ?? []) {
    results.get(event.id)!.event = { id: event.id, createdAt: new Date(event.created_at) };
  }
  for (const d of row?.deliveries ?? []) {
    results
      .get(d.event_id)!
      .deliveries.push({ id: d.id, eventId: d.event_id, endpointId: d.endpoint_id, createdAt: new Date(d.created_at) });
  }
  return items.map((item) => results.get(item.id)!);
}

/** A FIFO delivery's place in its endpoint's line, and the head claimed for it (db/sql/fifo.ts). */
const FIFO_CLAIM = claimFifoHeadsSql('fifo');

/** The job of each delivery `d` of the fan-out: attempt 1, priority by its place `d.n`. */
const FAN_OUT_JOB_SPEC = deliverJobSpec({
  payload: deliverJobPayload({ deliveryId: 'd.id', tenantId: 'd.tenant_id', endpointId: 'd.endpoint_id', attempt: '1' }),
  priority: `least(d.n / ${JOBS_PER_PRIORITY_STEP}, 1000)`,
});

/** SQL for the last characters of a delivery id: the row number `target.n` in the id alphabet. */
const DELIVERY_ID_SUFFIX = Array.from({ length: ID_BLOCK_SUFFIX_LENGTH }, (_, i) => ID_BLOCK_SUFFIX_LENGTH - 1 - i)
  .map((digit) => `substr('${ID_ALPHABET}', ((target.n >> ${5 * digit}) & 31)::int + 1, 1)`)
  .join(' || ');
