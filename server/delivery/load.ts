// Reads everything one attempt needs in a single query: the delivery, its event's stored bytes,
// and the destination (an endpoint, or the event's one-off URL signed with the tenant's secret).
import type { AppDeps } from '../deps.js';

export interface DeliveryToSend {
  id: string;
  tenantId: string;
  eventId: string;
  endpointId: string | null;
  status: 'pending' | 'succeeded' | 'failed';
  attemptCount: number;
  url: string;
  body: string;
  customHeaders: Record<string, string>;
  /** Every secret valid now, newest first (two during a rotation grace period). */
  secrets: string[];
  endpointDisabled: boolean;
}

interface Row {
  id: string;
  tenant_id: string;
  event_id: string;
  endpoint_id: string | null;
  status: DeliveryToSend['status'];
  attempt_count: number;
  body: string;
  url: string;
  headers: Record<string, string> | null;
  disabled: boolean;
  secret: string;
  previous_secret: string | null;
  previous_valid: boolean;
}

export async function loadDelivery(deps: AppDeps, deliveryId: string): Promise<DeliveryToSend | undefined> {
  const [row] = await deps.sql<Row[]>`
    select d.id, d.tenant_id, d.event_id, d.endpoint_id, d.status, d.attempt_count,
           e.payload as body,
           coalesce(ep.url, e.url) as url,
           ep.headers,
           coalesce(ep.disabled, false) as disabled,
           case when d.endpoint_id is null then t.signing_secret else ep.secret end as secret,
           case when d.endpoint_id is null then t.previous_signing_secret else ep.previous_secret end as previous_secret,
           coalesce(case when d.endpoint_id is null then t.previous_signing_secret_expires_at
                         else ep.previous_secret_expires_at end > now(), false) as previous_valid
      from deliveries d
      join events e on e.id = d.event_id
      join tenants t on t.id = d.tenant_id
      left join endpoints ep on ep.id = d.endpoint_id
     where d.id = ${deliveryId}`;
  if (!row) return undefined;
  const secrets = [deps.secretBox.open(row.secret)];
  if (row.previous_secret && row.previous_valid) secrets.push(deps.secretBox.open(row.previous_secret));
  return {
    id: row.id,
    tenantId: row.tenant_id,
    eventId: row.event_id,
    endpointId: row.endpoint_id,
    status: row.status,
    attemptCount: row.attempt_count,
    url: row.url,
    body: row.body,
    customHeaders: row.headers ?? {},
    secrets,
    endpointDisabled: row.disabled,
  };
}
