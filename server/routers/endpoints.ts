// endpoints.* procedures: a tenant's receiver URLs. Tenant-scoped: a tenant key acts on its own
// endpoints, the admin key names the tenant. The rules (URL safety, headers, event-type filter,
// limit) live in the service; these schemas only bound the shapes.
import { z } from 'zod';
import { deletedSchema } from '../../shared/api/common.js';
import {
  createdEndpointSchema,
  endpointPageSchema,
  endpointRecoveredSchema,
  endpointSchema,
  endpointSecretSchema,
  endpointStatsSchema,
  testEventSentSchema,
} from '../../shared/api/endpoint.js';
import { MAX_FILTER_ENTRY_LENGTH } from '../../shared/event-type-filter.js';
import {
  endpointIdSchema,
  endpointSecretSchema as existingSecretSchema,
  FIRST_PAGE,
  flag,
  metadataSchema,
  pageFields,
  payloadFilterSchema,
  orderingSchema,
  rateLimitSchema,
  safeText,
} from '../../shared/schemas.js';
import { MAX_URL_LENGTH } from '../../shared/url-rules.js';
import { recoverEndpoint, sendTestEvent } from '../endpoints/recovery.js';
import { getEndpointStats } from '../endpoints/stats.js';
import { createEndpoint, deleteEndpoint, getEndpoint, listEndpoints, rotateEndpointSecret, updateEndpoint } from '../endpoints/service.js';
import { rateLimitedProcedure, router, tenantInput, tenantScopedProcedure } from '../trpc.js';
import { graceSecondsSchema } from './tenants.js';

const MAX_FILTER_ENTRIES = 100;

// Over-long URLs get judgeUrl's own message, so the bound here is loose.
const endpointUrl = z
  .string()
  .min(1)
  .max(MAX_URL_LENGTH * 4);
const description = safeText(1000);
const eventTypesFilter = z.array(z.string().max(MAX_FILTER_ENTRY_LENGTH)).max(MAX_FILTER_ENTRIES);
// Names and values are checked by the service (server/endpoints/headers.ts).
const customHeaders = z.record(z.string(), z.string());

const byId = tenantInput({ endpointId: endpointIdSchema });

export const endpointsRouter = router({
  create: tenantScopedProcedure
    .meta({ openapi: { method: 'POST', path: '/endpoints', tags: ['endpoints'], summary: 'Register an endpoint' } })
    .input(
      tenantInput({
        url: endpointUrl,
        description: description.optional(),
        eventTypes: eventTypesFilter.optional(),
        filter: payloadFilterSchema.nullable().optional(),
        rateLimit: rateLimitSchema.nullable().optional(),
        ordering: orderingSchema.optional(),
        headers: customHeaders.optional(),
        disabled: flag.optional(),
        metadata: metadataSchema.optional(),
        /** An existing secret to keep (moving endpoints from another provider); generated when absent. */
        secret: existingSecretSchema.optional(),
        /** How deliveries are signed, fixed at creation; `ed25519` (standard scheme only): the secret is a `whpk_` public key. */
        signing: z.enum(['hmac', 'ed25519']).optional(),
      }),
    )
    .output(createdEndpointSchema)
    .mutation(({ ctx, input }) => createEndpoint(ctx.deps, ctx.tenantId, input)),

  list: tenantScopedProcedure
    .meta({ openapi: { method: 'GET', path: '/endpoints', tags: ['endpoints'], summary: "List the tenant's endpoints" } })
    .input(tenantInput(pageFields(endpointIdSchema)).default(FIRST_PAGE))
    .output(endpointPageSchema)
    .query(({ ctx, input }) => listEndpoints(ctx.deps, ctx.tenantId, input)),

  get: tenantScopedProcedure
    .meta({ openapi: { method: 'GET', path: '/endpoints/{endpointId}', tags: ['endpoints'], summary: 'Get an endpoint' } })
    .input(byId)
    .output(endpointSchema)
    .query(({ ctx, input }) => getEndpoint(ctx.deps, ctx.tenantId, input.endpointId)),

  update: tenantScopedProcedure
    .meta({ openapi: { method: 'PATCH', path: '/endpoints/{endpointId}', tags: ['endpoints'], summary: 'Update an endpoint' } })
    .input(
      tenantInput({
        endpointId: endpointIdSchema,
        url: endpointUrl.optional(),
        description: description.nullable().optional(),
        eventTypes: eventTypesFilter.optional(),
        /** Null removes the filter. */
        filter: payloadFilterSchema.nullable().optional(),
        /** Null removes the limit. */
        rateLimit: rateLimitSchema.nullable().optional(),
        ordering: orderingSchema.optional(),
        headers: customHeaders.optional(),
        disabled: flag.optional(),
        metadata: metadataSchema.optional(),
      }),
    )
    .output(endpointSchema)
    .mutation(({ ctx, input }) => {
      const { tenantId: _tenantId, endpointId, ...patch } = input;
      return updateEndpoint(ctx.deps, ctx.tenantId, endpointId, patch);
    }),

  delete: tenantScopedProcedure
    .meta({ openapi: { method: 'DELETE', path: '/endpoints/{endpointId}', tags: ['endpoints'], summary: 'Delete an endpoint' } })
    .input(byId)
    .output(deletedSchema)
    .mutation(async ({ ctx, input }) => {
      await deleteEndpoint(ctx.deps, ctx.tenantId, input.endpointId);
      return { deleted: true as const };
    }),

  rotateSecret: tenantScopedProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/endpoints/{endpointId}/rotate-secret',
        tags: ['endpoints'],
        summary: "Rotate an endpoint's secret",
      },
    })
    .input(tenantInput({ endpointId: endpointIdSchema, graceSeconds: graceSecondsSchema }))
    .output(endpointSecretSchema)
    .mutation(({ ctx, input }) => rotateEndpointSecret(ctx.deps, ctx.tenantId, input.endpointId, input.graceSeconds)),

  /** A signed `hookline.test` event to this endpoint alone, whatever its filter. */
  sendTest: rateLimitedProcedure('sendTest')
    .meta({
      openapi: {
        method: 'POST',
        path: '/endpoints/{endpointId}/send-test',
        tags: ['endpoints'],
        summary: 'Send a test event to an endpoint',
      },
    })
    .input(byId)
    .output(testEventSentSchema)
    .mutation(({ ctx, input }) => sendTestEvent(ctx.deps, ctx.tenantId, input.endpointId)),

  /** Attempts per hour (succeeded, failed) since then (default 24 h ago), and the last attempt. */
  stats: tenantScopedProcedure
    .meta({
      openapi: { method: 'GET', path: '/endpoints/{endpointId}/stats', tags: ['endpoints'], summary: "An endpoint's attempts per hour" },
    })
    .input(tenantInput({ endpointId: endpointIdSchema, since: z.iso.datetime({ offset: true }).optional() }))
    .output(endpointStatsSchema)
    .query(({ ctx, input }) => getEndpointStats(ctx.deps, ctx.tenantId, input.endpointId, input.since)),

  /** Re-queues the endpoint's failed deliveries created since then (at most 14 days ago). */
  recover: rateLimitedProcedure('recover')
    .meta({
      openapi: { method: 'POST', path: '/endpoints/{endpointId}/recover', tags: ['endpoints'], summary: 'Send failed deliveries again' },
    })
    .input(tenantInput({ endpointId: endpointIdSchema, since: z.iso.datetime({ offset: true }) }))
    .output(endpointRecoveredSchema)
    .mutation(({ ctx, input }) => recoverEndpoint(ctx.deps, ctx.tenantId, input.endpointId, input.since)),
});
