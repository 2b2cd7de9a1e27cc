// deliveries.* procedures: what happened to each delivery, attempt by attempt, and sending one again.
// Tenant-scoped: a tenant key reads its own deliveries, the admin key names the tenant.
import { z } from 'zod';
import { deliveryDetailSchema, deliveryPageSchema, deliverySchema } from '../../shared/api/delivery.js';
import {
  deliveryIdSchema,
  endpointIdSchema,
  eventIdSchema,
  eventTypeName,
  FIRST_PAGE,
  listWindow,
  pageFields,
} from '../../shared/schemas.js';
import { retryDelivery } from '../delivery/requeue.js';
import { getDelivery, listDeliveries } from '../events/read.js';
import { rateLimitedProcedure, router, tenantInput, tenantOrAllTenantsProcedure, tenantScopedProcedure } from '../trpc.js';

const byId = tenantInput({ deliveryId: deliveryIdSchema });

export const deliveriesRouter = router({
  /**
   * Oldest first (newest first with `order: 'desc'`); `cursor` is the last id of the previous page.
   * Each names its event's `type`. The admin key may read every tenant's with `allTenants: true`.
   */
  list: tenantOrAllTenantsProcedure
    .meta({
      openapi: {
        method: 'GET',
        path: '/deliveries',
        tags: ['deliveries'],
        summary: "List the tenant's deliveries (the admin key: every tenant's with allTenants=true)",
      },
    })
    .input(
      tenantInput({
        ...listWindow,
        eventType: eventTypeName.optional(),
        eventId: eventIdSchema.optional(),
        endpointId: endpointIdSchema.optional(),
        status: z.enum(['pending', 'succeeded', 'failed']).optional(),
        ...pageFields(deliveryIdSchema),
      }).default({ ...FIRST_PAGE, order: 'asc' }),
    )
    .output(deliveryPageSchema)
    .query(({ ctx, input }) => listDeliveries(ctx.deps, ctx.tenantId, input)),

  get: tenantScopedProcedure
    .meta({ openapi: { method: 'GET', path: '/deliveries/{deliveryId}', tags: ['deliveries'], summary: 'A delivery and its attempts' } })
    .input(byId)
    .output(deliveryDetailSchema)
    .query(({ ctx, input }) => getDelivery(ctx.deps, ctx.tenantId, input.deliveryId)),

  /** Re-queues a succeeded or failed delivery, or a pending one without a job; attempt numbers continue. */
  retry: rateLimitedProcedure('retry')
    .meta({ openapi: { method: 'POST', path: '/deliveries/{deliveryId}/retry', tags: ['deliveries'], summary: 'Send a delivery again' } })
    .input(byId)
    .output(deliverySchema)
    .mutation(({ ctx, input }) => retryDelivery(ctx.deps, ctx.tenantId, input.deliveryId)),
});
