// events.* procedures: the operator sends events for a tenant; tenants read theirs (polling fallback).
import { z } from 'zod';
import { eventTypeName, safeText, tenantIdSchema } from '../../shared/schemas.js';
import { sendEvent } from '../events/send.js';
import { adminProcedure, router } from '../trpc.js';

export const eventsRouter = router({
  send: adminProcedure
    .input(
      z.strictObject({
        tenantId: tenantIdSchema,
        type: eventTypeName,
        payload: z.record(z.string(), z.unknown()),
        idempotencyKey: safeText(200).min(1).optional(),
        url: safeText(2048).optional(),
      }),
    )
    .mutation(({ ctx, input }) => sendEvent(ctx.deps, input.tenantId, input)),
});
