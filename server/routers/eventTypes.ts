// eventTypes.* procedures: the operator manages the global catalog; any authenticated caller reads it.
import { z } from 'zod';
import { eventTypeListSchema, eventTypeSchema } from '../../shared/api/event-type.js';
import { eventTypeName, flag, safeText } from '../../shared/schemas.js';
import { archiveEventType, listEventTypes, upsertEventType } from '../event-types/service.js';
import { adminProcedure, authedProcedure, router } from '../trpc.js';

// Any JSON object; its size and content are checked by the service.
const jsonSchemaObject = z.record(z.string(), z.unknown());

export const eventTypesRouter = router({
  upsert: adminProcedure
    .meta({ openapi: { method: 'POST', path: '/event-types', tags: ['event types'], summary: 'Create or update an event type' } })
    .input(
      z.strictObject({
        name: eventTypeName,
        description: safeText(1000).nullable().optional(),
        schema: jsonSchemaObject.nullable().optional(),
      }),
    )
    .output(eventTypeSchema)
    .mutation(({ ctx, input }) => upsertEventType(ctx.deps, input)),

  archive: adminProcedure
    .meta({ openapi: { method: 'POST', path: '/event-types/{name}/archive', tags: ['event types'], summary: 'Archive an event type' } })
    .input(z.strictObject({ name: eventTypeName }))
    .output(eventTypeSchema)
    .mutation(({ ctx, input }) => archiveEventType(ctx.deps, input.name)),

  list: authedProcedure
    .meta({ openapi: { method: 'GET', path: '/event-types', tags: ['event types'], summary: 'The event type catalog' } })
    .input(z.strictObject({ includeArchived: flag.default(false) }).default({ includeArchived: false }))
    .output(eventTypeListSchema)
    .query(({ ctx, input }) => listEventTypes(ctx.deps, input)),
});
