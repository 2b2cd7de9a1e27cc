// events.* procedures: the operator sends events for a tenant; tenants read theirs (polling fallback).
import { z } from 'zod';
import { eventIdSchema, eventTypeName, listWindow, pageLimit, safeText, tenantIdSchema } from '../../shared/schemas.js';
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

export const eventsRouter = router({
  send: adminProcedure.input(sendInput).mutation(({ ctx, input }) => sendEvent(ctx.deps, input.tenantId, input)),

  /** 1 to 1,000 events.send inputs → one result per item, in order; a bad item fails only itself. */
  sendBatch: adminProcedure
    .input(z.strictObject({ events: z.array(sendInput).min(1).max(MAX_BATCH_EVENTS) }))
    .mutation(({ ctx, input }) => sendEventBatch(ctx.deps, input.events, trpcCodeOf)),

  /**
   * Oldest first (or newest first with `order: 'desc'`), by id; `cursor` is the last id of the
   * previous page (keyset, stable while events arrive). Poll with `since`, then keep the last id
   * seen as `cursor`. Events appear here about a second after they are sent (see
   * EVENT_LIST_SETTLE_MS). The admin key may read every tenant's with `allTenants: true`.
   */
  list: tenantOrAllTenantsProcedure
    .input(
      tenantInput({
        ...listWindow,
        type: eventTypeName.optional(),
        cursor: eventIdSchema.optional(),
        limit: pageLimit,
      }).default({ limit: 50, order: 'asc' }),
    )
    .query(({ ctx, input }) => listEvents(ctx.deps, ctx.tenantId, input)),

  /** One event with the status of each of its deliveries. */
  get: tenantScopedProcedure
    .input(tenantInput({ eventId: eventIdSchema }))
    .query(({ ctx, input }) => getEvent(ctx.deps, ctx.tenantId, input.eventId)),
});
