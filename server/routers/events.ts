// events.* procedures: the operator sends events for a tenant; tenants read theirs (polling fallback).
import { z } from 'zod';
import { eventDetailSchema, eventPageSchema, sentEventSchema } from '../../shared/api/event.js';
import { eventIdSchema, eventTypeName, pageLimit, safeText, tenantIdSchema } from '../../shared/schemas.js';
import { getEvent, listEvents } from '../events/read.js';
import { sendEvent } from '../events/send.js';
import { adminProcedure, router, tenantInput, tenantScopedProcedure } from '../trpc.js';

/** REST only: `POST /api/v1/events` reads this header into `idempotencyKey` (server/http/rest.ts). */
const idempotencyKeyHeader = z.object({ 'Idempotency-Key': z.string().optional() });

export const eventsRouter = router({
  send: adminProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/events',
        tags: ['events'],
        summary: 'Send an event to a tenant',
        description: 'An `Idempotency-Key` header is the same as `idempotencyKey`: retrying with it never makes a second event.',
        requestHeaders: idempotencyKeyHeader,
      },
    })
    .input(
      z.strictObject({
        tenantId: tenantIdSchema,
        type: eventTypeName,
        payload: z.record(z.string(), z.unknown()),
        idempotencyKey: safeText(200).min(1).optional(),
        url: safeText(2048).optional(),
      }),
    )
    .output(sentEventSchema)
    .mutation(({ ctx, input }) => sendEvent(ctx.deps, input.tenantId, input)),

  /**
   * Oldest first, ascending by id; `cursor` is the last id of the previous page (keyset, stable
   * while events arrive). Poll with `since`, then keep the last id seen as `cursor`. Events appear
   * here about a second after they are sent (see EVENT_LIST_SETTLE_MS).
   */
  list: tenantScopedProcedure
    .meta({ openapi: { method: 'GET', path: '/events', tags: ['events'], summary: "List the tenant's events" } })
    .input(
      tenantInput({
        since: z.iso.datetime({ offset: true }).optional(),
        type: eventTypeName.optional(),
        cursor: eventIdSchema.optional(),
        limit: pageLimit,
      }).default({ limit: 50 }),
    )
    .output(eventPageSchema)
    .query(({ ctx, input }) => listEvents(ctx.deps, ctx.tenantId, input)),

  /** One event with the status of each of its deliveries. */
  get: tenantScopedProcedure
    .meta({ openapi: { method: 'GET', path: '/events/{eventId}', tags: ['events'], summary: 'An event and its deliveries' } })
    .input(tenantInput({ eventId: eventIdSchema }))
    .output(eventDetailSchema)
    .query(({ ctx, input }) => getEvent(ctx.deps, ctx.tenantId, input.eventId)),
});
