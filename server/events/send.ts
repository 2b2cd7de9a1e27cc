// events.send: accept an event for a tenant and fan it out — the event (payload serialized once,
// stored as the exact bytes to send), one delivery per matching enabled endpoint (or one to a
// one-off URL) and one job per delivery, all in one transaction with a bounded number of statements.
import { and, eq, isNull, sql } from 'drizzle-orm';
import { deliveries, endpoints, eventTypes, events, tenants } from '../../db/schema.js';
import { isUniqueViolation } from '../../db/errors.js';
import { newId } from '../../shared/ids.js';
import { judgeUrl } from '../../shared/url-rules.js';
import { addDeliverJobsSql } from '../delivery/jobs.js';
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
  const [tenant] = await deps.db.select({ id: tenants.id }).from(tenants).where(eq(tenants.id, tenantId));
  if (!tenant) throw new NotFoundError('tenant not found');
  const [eventType] = await deps.db
    .select({ name: eventTypes.name })
    .from(eventTypes)
    .where(and(eq(eventTypes.name, input.type), isNull(eventTypes.archivedAt)));
  if (!eventType) throw new InvalidInputError(`event type "${input.type}" is not registered (or is archived)`);

  return createEventWithDeliveries(deps, tenantId, { type: input.type, body, idempotencyKey: input.idempotencyKey, url });
}

/**
 * The fan-out transaction, also used for hookline's own test events (endpoints.sendTest), which
 * target one endpoint and skip the catalog.
 */
export async function createEventWithDeliveries(
  deps: AppDeps,
  tenantId: string,
  spec: { type: string; body: string; idempotencyKey?: string | undefined; url?: string | undefined; onlyEndpointId?: string },
): Promise<{ event: Event; deliveries: Delivery[] }> {
  for (let tries = 0; ; tries++) {
    try {
      return await deps.db.transaction(async (tx) => {
        if (spec.idempotencyKey !== undefined) {
          const [existing] = await tx
            .select()
            .from(events)
            .where(and(eq(events.tenantId, tenantId), eq(events.idempotencyKey, spec.idempotencyKey)));
          if (existing && existing.createdAt.getTime() > Date.now() - idempotencyWindowMs) {
            const rows = await tx.select().from(deliveries).where(eq(deliveries.eventId, existing.id));
            return { event: presentEvent(existing), deliveries: rows.map(presentDelivery) };
          }
          // An expired key may be used again: the old event keeps its history, not the key.
          if (existing) await tx.update(events).set({ idempotencyKey: null }).where(eq(events.id, existing.id));
        }

        const [event] = await tx
          .insert(events)
          .values({
            id: newId('event'),
            tenantId,
            type: spec.type,
            payload: spec.body,
            idempotencyKey: spec.idempotencyKey ?? null,
            url: spec.url ?? null,
          })
          .returning();

        let targets: Array<string | null>;
        if (spec.url !== undefined) {
          targets = [null];
        } else if (spec.onlyEndpointId !== undefined) {
          targets = [spec.onlyEndpointId];
        } else {
          // Mirrors shared/event-type-filter.ts: empty = all, exact name, or `prefix.*`.
          const matching = await tx
            .select({ id: endpoints.id })
            .from(endpoints)
            .where(
              and(
                eq(endpoints.tenantId, tenantId),
                eq(endpoints.disabled, false),
                sql`(cardinality(${endpoints.eventTypes}) = 0 or exists (
                  select 1 from unnest(${endpoints.eventTypes}) as f
                  where f = ${spec.type} or (right(f, 2) = '.*' and starts_with(${spec.type}, left(f, -1)))))`,
              ),
            )
            .orderBy(endpoints.id);
          targets = matching.map((m) => m.id);
        }

        const rows =
          targets.length === 0
            ? []
            : await tx
                .insert(deliveries)
                .values(targets.map((endpointId) => ({ id: newId('delivery'), tenantId, eventId: event!.id, endpointId })))
                .returning();
        if (rows.length > 0) {
          await tx.execute(addDeliverJobsSql(rows.map((d) => ({ deliveryId: d.id, tenantId, attempt: 1 }))));
        }
        return { event: presentEvent(event!), deliveries: rows.map(presentDelivery) };
      });
    } catch (error) {
      // Two sends with the same idempotency key raced; the loser returns the winner's event.
      if (spec.idempotencyKey !== undefined && isUniqueViolation(error) && tries === 0) continue;
      throw error;
    }
  }
}
