// eventTypes.* procedures: the operator manages the global catalog; any authenticated caller reads it.
import { z } from 'zod';
import { eventTypeName, safeText } from '../../shared/schemas.js';
import { archiveEventType, listEventTypes, upsertEventType } from '../event-types/service.js';
import { adminProcedure, authedProcedure, router } from '../trpc.js';

// Any JSON object; its size and content are checked by the service.
const jsonSchemaObject = z.record(z.string(), z.unknown());

export const eventTypesRouter = router({
  upsert: adminProcedure
    .input(
      z.strictObject({
        name: eventTypeName,
        description: safeText(1000).nullable().optional(),
        schema: jsonSchemaObject.nullable().optional(),
      }),
    )
    .mutation(({ ctx, input }) => upsertEventType(ctx.deps, input)),

  archive: adminProcedure
    .input(z.strictObject({ name: eventTypeName }))
    .mutation(({ ctx, input }) => archiveEventType(ctx.deps, input.name)),

  list: authedProcedure
    .input(z.strictObject({ includeArchived: z.boolean().default(false) }).default({ includeArchived: false }))
    .query(({ ctx, input }) => listEventTypes(ctx.deps, input)),
});
