// What an attempt needs, read in one query for a batch of deliveries (server/delivery/load.ts): the
// delivery, its event's stored bytes, and the destination (its endpoint, or the event's one-off URL
// signed with the tenant's secret), with the secrets as stored (sealed).
import type postgres from 'postgres';
import type { deliveries, endpoints, events } from '../schema.js';

type DeliveryRow = typeof deliveries.$inferSelect;
type EndpointRow = typeof endpoints.$inferSelect;

export interface DeliveryToSendRow extends Pick<DeliveryRow, 'id' | 'tenantId' | 'eventId' | 'endpointId' | 'status' | 'attemptCount'> {
  /** The event's payload, the exact bytes to send. */
  body: (typeof events.$inferSelect)['payload'];
  /** The endpoint's URL, or the event's one-off URL. */
  url: string;
  /** The endpoint's custom headers (values sealed); null for a one-off URL. */
  headers: EndpointRow['headers'] | null;
  /** Whether the endpoint is disabled (false for a one-off URL). */
  disabled: boolean;
  /** Sealed: the endpoint's secret, or the tenant's for a one-off URL. */
  secret: string;
  /** Sealed: the secret before the last rotation, and whether its grace period still runs. */
  previousSecret: string | null;
  previousValid: boolean;
  /** The endpoint's attempts per second at most; null = no limit (and for a one-off URL). */
  rateLimit: EndpointRow['rateLimit'];
  /** Whether the delivery is in a FIFO endpoint's line (db/sql/fifo.ts): it must advance the line when finished. */
  inFifoLine: boolean;
}

/** The deliveries among `ids` that exist, with all an attempt needs (in no particular order). */
export async function loadDeliveriesToSend(sql: postgres.Sql, params: { ids: readonly string[] }): Promise<DeliveryToSendRow[]> {
  return sql<DeliveryToSendRow[]>`
    select d.id, d.tenant_id as "tenantId", d.event_id as "eventId", d.endpoint_id as "endpointId",
           d.status, d.attempt_count as "attemptCount",
           e.payload as body,
           coalesce(ep.url, e.url) as url,
           ep.headers,
           coalesce(ep.disabled, false) as disabled,
           case when d.endpoint_id is null then t.signing_secret else ep.secret end as secret,
           case when d.endpoint_id is null then t.previous_signing_secret else ep.previous_secret end as "previousSecret",
           coalesce(case when d.endpoint_id is null then t.previous_signing_secret_expires_at
                         else ep.previous_secret_expires_at end > now(), false) as "previousValid",
           ep.rate_limit as "rateLimit",
           exists (select 1 from fifo_line l where l.delivery_id = d.id) as "inFifoLine"
      from deliveries d
      join events e on e.id = d.event_id
      join tenants t on t.id = d.tenant_id
      left join endpoints ep on ep.id = d.endpoint_id
     where d.id = any(${params.ids as string[]}::text[])`;
}
