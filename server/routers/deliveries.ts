// deliveries.* procedures: what happened to each delivery, attempt by attempt, and sending one again.
// Tenant-scoped: a tenant key reads its own deliveries, the admin key names the tenant.
import { z } from 'zod';
import { deliveryIdSchema, endpointIdSchema, eventIdSchema, eventTypeName, listWindow, pageLimit } from '../../shared/schemas.js';
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
    .input(
      tenantInput({
        ...listWindow,
        eventType: eventTypeName.optional(),
        eventId: eventIdSchema.optional(),
        endpointId: endpointIdSchema.optional(),
        status: z.enum(['pending', 'succeeded', 'failed']).optional(),
        cursor: deliveryIdSchema.optional(),
        limit: pageLimit,
      }).default({ limit: 50, order: 'asc' }),
    )
    .query(({ ctx, input }) => listDeliveries(ctx.deps, ctx.tenantId, input)),

  get: tenantScopedProcedure.input(byId).query(({ ctx, input }) => getDelivery(ctx.deps, ctx.tenantId, input.deliveryId)),

  /** Re-queues a succeeded or failed delivery, or a pending one without a job; attempt numbers continue. */
  retry: rateLimitedProcedure('retry').input(byId).mutation(({ ctx, input }) => retryDelivery(ctx.deps, ctx.tenantId, input.deliveryId)),
});
