// endpoints.stats' reads (server/endpoints/stats.ts): an endpoint's attempts per hour and its last
// attempt. Attempts are reached through the endpoint's deliveries (deliveries_endpoint_id_idx, then
// attempts_delivery_id_idx), and only deliveries from `oldestDeliveryId` on, never by scanning
// every tenant's attempts.
import { and, desc, eq, gt, gte, sql } from 'drizzle-orm';
import { attempts, deliveries } from '../schema.js';
import type { Selector } from './executor.js';

type AttemptRow = typeof attempts.$inferSelect;

export interface EndpointAttempts {
  tenantId: string;
  endpointId: string;
  /** Only attempts of deliveries with ids from this one on (time-ordered ids: created since then). */
  oldestDeliveryId: string;
}

/** An attempt succeeded when the endpoint answered 2xx (server/delivery/outcome.ts). */
const succeeded = sql`${attempts.statusCode} between 200 and 299`;

const ofEndpoint = (params: EndpointAttempts) =>
  and(eq(deliveries.tenantId, params.tenantId), eq(deliveries.endpointId, params.endpointId));

/** Attempts started since `since`, counted per hour (UTC, ISO keys like `2026-01-01T10:00:00.000Z`); hours without any are absent. */
export async function countAttemptsPerHour(
  db: Selector,
  params: EndpointAttempts & { since: Date },
): Promise<Array<{ hour: string; succeeded: number; failed: number }>> {
  const hour = sql<string>`to_char(date_trunc('hour', ${attempts.startedAt} at time zone 'UTC'), 'YYYY-MM-DD"T"HH24:00:00.000"Z"')`;
  return db
    .select({
      hour,
      succeeded: sql<number>`(count(*) filter (where ${succeeded}))::int`,
      failed: sql<number>`(count(*) filter (where not coalesce(${succeeded}, false)))::int`,
    })
    .from(attempts)
    .innerJoin(deliveries, eq(deliveries.id, attempts.deliveryId))
    .where(and(ofEndpoint(params), gte(deliveries.id, params.oldestDeliveryId), gte(attempts.startedAt, params.since)))
    .groupBy(hour);
}

export type LastAttempt = Pick<AttemptRow, 'statusCode' | 'error' | 'errorMessage' | 'durationMs'> & { at: AttemptRow['startedAt'] };

const lastColumns = {
  at: attempts.startedAt,
  statusCode: attempts.statusCode,
  error: attempts.error,
  errorMessage: attempts.errorMessage,
  durationMs: attempts.durationMs,
};

/**
 * The endpoint's last attempt: the latest among deliveries from `oldestDeliveryId` on; when they
 * have none, the last attempt of the newest delivery that had one.
 */
export async function findLastAttempt(db: Selector, params: EndpointAttempts): Promise<LastAttempt | undefined> {
  const [recent] = await db
    .select(lastColumns)
    .from(attempts)
    .innerJoin(deliveries, eq(deliveries.id, attempts.deliveryId))
    .where(and(ofEndpoint(params), gte(deliveries.id, params.oldestDeliveryId)))
    .orderBy(desc(attempts.startedAt))
    .limit(1);
  if (recent) return recent;
  const [older] = await db
    .select(lastColumns)
    .from(attempts)
    .where(
      eq(
        attempts.deliveryId,
        db
          .select({ id: deliveries.id })
          .from(deliveries)
          .where(and(ofEndpoint(params), gt(deliveries.attemptCount, 0)))
          .orderBy(desc(deliveries.id))
          .limit(1),
      ),
    )
    .orderBy(desc(attempts.number))
    .limit(1);
  return older;
}
