// Reads everything an attempt needs: the delivery, its event's stored bytes, and the destination
// (an endpoint, or the event's one-off URL signed with the tenant's secret). The loads of the
// attempts that start together (graphile-worker hands out a fetched batch of jobs in one turn)
// share one query: on this kind of machine a round trip costs far more than the rows it reads.
import { loadDeliveriesToSend, type DeliveryToSendRow } from '../../db/sql/deliveries-to-send.js';
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
  /** At most this many attempts per second to the endpoint; null = no limit. */
  rateLimit: number | null;
  /** In a FIFO endpoint's line: once finished, the line's next delivery gets its job (db/sql/fifo.ts). */
  inFifoLine: boolean;
}

/** Loads one delivery (undefined when it is gone); concurrent calls share a query. */
export type DeliveryLoader = (deliveryId: string) => Promise<DeliveryToSend | undefined>;

/**
 * Decrypted secrets and header values kept per process, by their sealed form (a rotated secret or
 * an edited header is a new key).
 */
const MAX_OPENED_SECRETS = 10_000;

export function createDeliveryLoader(deps: DeliveryPool & Pick<Shared, 'secretBox'>): DeliveryLoader {
  // Opening a sealed secret (AES-GCM) costs more than signing with it; the plaintext is what this
  // process signs with anyway, and a sealed value never changes meaning, so it is opened once.
  const opened = new Map<string, string>();
  const open = (sealed: string): string => {
    let plain = opened.get(sealed);
    if (plain === undefined) {
      plain = deps.secretBox.open(sealed);
      if (opened.size >= MAX_OPENED_SECRETS) opened.clear();
      opened.set(sealed, plain);
    }
    return plain;
  };

  const toDelivery = (row: DeliveryToSendRow): DeliveryToSend => {
    const secrets = [open(row.secret)];
    if (row.previousSecret && row.previousValid) secrets.push(open(row.previousSecret));
    return {
      id: row.id,
      tenantId: row.tenantId,
      eventId: row.eventId,
      endpointId: row.endpointId,
      status: row.status,
      attemptCount: row.attemptCount,
      url: row.url,
      body: row.body,
      customHeaders: row.headers ? openHeaderValues(row.headers, open) : {},
      secrets,
      endpointDisabled: row.disabled,
      rateLimit: row.rateLimit,
      inFifoLine: row.inFifoLine,
    };
  };

  return createBatcher<string, DeliveryToSend | undefined>(
    async (ids) => {
      const rows = await loadDeliveriesToSend(deps.sql, { ids });
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
