// events.* procedures: the operator sends events for a tenant; tenants read theirs (polling fallback).
import { z } from 'zod';
import { eventDetailSchema, eventPageSchema, sentBatchSchema, sentEventSchema } from '../../shared/api/event.js';
import { eventIdSchema, eventTypeName, FIRST_PAGE, listWindow, pageFields, safeText, tenantIdSchema } from '../../shared/schemas.js';
import { getEvent, listEvents } from '../events/read.js';
import { MAX_BATCH_EVENTS, sendEventBatch } from '../events/send-batch.js';
import { sendEvent } from '../events/send.js';
import { adminProcedure, router, tenantInput, tenantOrAllTenantsProcedure, tenantScopedProcedure, trpcCodeOf } from '../trpc.js';

const sendInput = z.strictObject({
  tenantId: tenantIdSchema,
  type: eventTypeName,
  payload: z.record(z.string(), z.unknown()),
  idempotencyKey: safeText(200).min(1).optional(),
  url: safeText(2048).optional(),
});

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
    .input(sendInput)
    .output(sentEventSchema)
    .mutation(({ ctx, input }) => sendEvent(ctx.deps, input.tenantId, input)),

  /** 1 to 1,000 events.send inputs → one result per item, in order; a bad item fails only itself. */
  sendBatch: adminProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/events/batch',
        tags: ['events'],
        summary: 'Send up to 1,000 events',
        description:
          'One result per item, in order; a bad item fails only itself. An `Idempotency-Key` header keys every item without a key of its own (`{key}:{index}`), so retrying the whole batch accepts nothing twice.',
        requestHeaders: idempotencyKeyHeader,
      },
    })
    .input(z.strictObject({ events: z.array(sendInput).min(1).max(MAX_BATCH_EVENTS) }))
    .output(sentBatchSchema)
    .mutation(({ ctx, input }) => sendEventBatch(ctx.deps, input.events, trpcCodeOf)),

  /**
   * Oldest first (or newest first with `order: 'desc'`), by id; `cursor` is the last id of the
   * previous page (keyset, stable while events arrive). Poll with `since`, then keep the last id
   * seen as `cursor`. Events appear here about a second after they are sent (see
   * EVENT_LIST_SETTLE_MS). The admin key may read every tenant's with `allTenants: true`.
   */
  list: tenantOrAllTenantsProcedure
    .meta({
      openapi: {
        method: 'GET',
        path: '/events',
        tags: ['events'],
        summary: "List the tenant's events (the admin key: every tenant's with allTenants=true)",
      },
    })
    .input(
      tenantInput({
        ...listWindow,
        type: eventTypeName.optional(),
        ...pageFields(eventIdSchema),
      }).default({ ...FIRST_PAGE, order: 'asc' }),
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
