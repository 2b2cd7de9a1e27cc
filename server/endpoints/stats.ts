// endpoints.stats: what the portal charts for one endpoint — attempts per hour (succeeded, failed)
// since a time, and the endpoint's last attempt. Tenant-scoped like every endpoint read.
//
// Bounded work: attempts are reached through the endpoint's deliveries (deliveries_endpoint_id_idx,
// then attempts_delivery_id_idx), never by scanning every tenant's attempts. Only deliveries created
// since `since` minus the whole retry schedule (and an hour) are read: an attempt in the window
// belongs to one of them, unless it is a manual retry or recover of an older delivery, which this
// chart leaves out. The read runs under HOOKLINE_READ_TIMEOUT like every list.
import { endpoints } from '../../db/schema.js';
import { countAttemptsPerHour, findLastAttempt } from '../../db/sql/endpoint-stats.js';
import { findEndpoint } from '../../db/sql/endpoints.js';
import { idFloor } from '../../shared/ids.js';
import type { ApiPool, Shared } from '../deps.js';
import { InvalidInputError, NotFoundError } from '../errors.js';
import { readWithTimeout } from '../limits/read-timeout.js';

export interface EndpointStats {
  endpointId: string;
  since: string;
  /** One entry per hour (UTC) from the hour of `since` to the current one, oldest first. */
  hours: Array<{ hour: string; succeeded: number; failed: number }>;
  lastAttempt: { at: string; statusCode: number | null; error: string | null; errorMessage: string | null; durationMs: number } | null;
}

const HOUR_MS = 3_600_000;
const MAX_SPAN_MS = 31 * 24 * HOUR_MS;

export async function getEndpointStats(
  deps: ApiPool & Pick<Shared, 'config'>,
  tenantId: string,
  endpointId: string,
  sinceIso: string | undefined,
): Promise<EndpointStats> {
  const now = Date.now();
  const since = sinceIso !== undefined ? new Date(sinceIso) : new Date(now - 24 * HOUR_MS);
  if (since.getTime() < now - MAX_SPAN_MS) throw new InvalidInputError('since: at most 31 days ago (one entry per hour)');
  const retrySpanMs = deps.config.retryScheduleMs.reduce((total, ms) => total + ms, 0);
  const oldestDelivery = idFloor('delivery', new Date(since.getTime() - retrySpanMs - HOUR_MS));
  return readWithTimeout(deps, async (db) => {
    const endpoint = await findEndpoint(db, tenantId, endpointId, { id: endpoints.id });
    if (!endpoint) throw new NotFoundError('endpoint not found');
    const scope = { tenantId, endpointId, oldestDeliveryId: oldestDelivery };
    const counts = await countAttemptsPerHour(db, { ...scope, since });
    const last = await findLastAttempt(db, scope);
    const byHour = new Map(counts.map((c) => [c.hour, c]));
    const hours: EndpointStats['hours'] = [];
    for (let t = Math.floor(since.getTime() / HOUR_MS) * HOUR_MS; t <= now; t += HOUR_MS) {
      const key = new Date(t).toISOString();
      hours.push({ hour: key, succeeded: byHour.get(key)?.succeeded ?? 0, failed: byHour.get(key)?.failed ?? 0 });
    }
    return {
      endpointId,
      since: since.toISOString(),
      hours,
      lastAttempt: last ? { ...last, at: last.at.toISOString() } : null,
    };
  });
}
