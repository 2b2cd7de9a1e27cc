// Reads everything an attempt needs: the delivery, its event's stored bytes, and the destination
// (an endpoint, or the event's one-off URL signed with the tenant's secret). The loads of the
// attempts that start together (graphile-worker hands out a fetched batch of jobs in one turn)
// share one query: on this kind of machine a round trip costs far more than the rows it reads.
import { createBatcher, toError } from '../batcher.js';
import type { DeliveryPool, Shared } from '../deps.js';
import { openHeaderValues } from '../endpoints/header-secrets.js';

export interface DeliveryToSend {
  id: string;
  tenantId: string;
  eventId: string;
  endpointId: string | null;
  status: 'pending' | 'succeeded' | 'failed';
  attemptCount: number;
  url: string;
  body: string;
  /** Plaintext: opened from their sealed form (or as stored, in a row written before sealing). */
  customHeaders: Record<string, string>;
  /** Every secret valid now, newest first (two during a rotation grace period). */
  secrets: string[];
  endpointDisabled: boolean;
}

/** Loads one delivery (undefined when it is gone); concurrent calls share a query. */
export type DeliveryLoader = (deliveryId: string) => Promise<DeliveryToSend | undefined>;

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

/**
 * Decrypted secrets and header values kept per process, by their sealed form (a rotated secret or
 * an edited header is a new key).
 */
const maxOpenedSecrets = 10_000;

export function createDeliveryLoader(deps: DeliveryPool & Pick<Shared, 'secretBox'>): DeliveryLoader {
  // Opening a sealed secret (AES-GCM) costs more than signing with it; the plaintext is what this
  // process signs with anyway, and a sealed value never changes meaning, so it is opened once.
  const opened = new Map<string, string>();
  const open = (sealed: string): string => {
    let plain = opened.get(sealed);
    if (plain === undefined) {
      plain = deps.secretBox.open(sealed);
      if (opened.size >= maxOpenedSecrets) opened.clear();
      opened.set(sealed, plain);
    }
    return plain;
  };

  const toDelivery = (row: Row): DeliveryToSend => {
    const secrets = [open(row.secret)];
    if (row.previous_secret && row.previous_valid) secrets.push(open(row.previous_secret));
    return {
      id: row.id,
      tenantId: row.tenant_id,
      eventId: row.event_id,
      endpointId: row.endpoint_id,
      status: row.status,
      attemptCount: row.attempt_count,
      url: row.url,
      body: row.body,
      customHeaders: row.headers ? openHeaderValues(row.headers, open) : {},
      secrets,
      endpointDisabled: row.disabled,
    };
  };

  return createBatcher<string, DeliveryToSend | undefined>(
    async (ids) => {
      const rows = await deps.sql<Row[]>`
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
         where d.id = any(${ids}::text[])`;
      const byId = new Map(rows.map((row) => [row.id, row]));
      return ids.map((id) => {
        const row = byId.get(id);
        if (!row) return undefined;
        try {
          return toDelivery(row);
        } catch (error) {
          // A secret that will not open is this delivery's trouble, not the batch's.
          return toError(error);
        }
      });
    },
    // Two loads in flight leave the rest of the pool to recording; a batch fills while they run.
    { maxBatch: 100, maxInFlight: 2 },
  );
}
