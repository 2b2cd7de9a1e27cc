// tenants.* procedures: the admin manages tenants; a tenant reads itself and rotates its signing secret.
import { z } from 'zod';
import { deletedSchema } from '../../shared/api/common.js';
import {
  createdTenantSchema,
  tenantApiKeySchema,
  tenantPageSchema,
  tenantSchema,
  tenantSigningSecretSchema,
} from '../../shared/api/tenant.js';
import { externalId, FIRST_PAGE, metadataSchema, pageFields, tenantIdSchema, tenantName, wholeNumber } from '../../shared/schemas.js';
import {
  createTenant,
  deleteTenant,
  getTenant,
  listTenants,
  rotateTenantApiKey,
  rotateTenantSigningSecret,
  updateTenant,
} from '../tenants/service.js';
import { adminProcedure, router, tenantInput, tenantProcedure, tenantScopedProcedure } from '../trpc.js';

const byId = z.strictObject({ tenantId: tenantIdSchema });
export const graceSecondsSchema = wholeNumber(0, 7 * 86_400).default(86_400);

export const tenantsRouter = router({
  create: adminProcedure
    .meta({ openapi: { method: 'POST', path: '/tenants', tags: ['tenants'], summary: 'Create a tenant' } })
    .input(z.strictObject({ name: tenantName, externalId: externalId.optional(), metadata: metadataSchema.optional() }))
    .output(createdTenantSchema)
    .mutation(({ ctx, input }) => createTenant(ctx.deps, input)),

  list: adminProcedure
    .meta({ openapi: { method: 'GET', path: '/tenants', tags: ['tenants'], summary: 'List tenants' } })
    .input(z.strictObject({ ...pageFields(tenantIdSchema), externalId: externalId.optional() }).default(FIRST_PAGE))
    .output(tenantPageSchema)
    .query(({ ctx, input }) => listTenants(ctx.deps, input)),

  get: adminProcedure
    .meta({ openapi: { method: 'GET', path: '/tenants/{tenantId}', tags: ['tenants'], summary: 'Get a tenant' } })
    .input(byId)
    .output(tenantSchema)
    .query(({ ctx, input }) => getTenant(ctx.deps, input.tenantId)),

  update: adminProcedure
    .meta({ openapi: { method: 'PATCH', path: '/tenants/{tenantId}', tags: ['tenants'], summary: 'Update a tenant' } })
    .input(
      z.strictObject({
        tenantId: tenantIdSchema,
        name: tenantName.optional(),
        externalId: externalId.nullable().optional(),
        metadata: metadataSchema.optional(),
      }),
    )
    .output(tenantSchema)
    .mutation(({ ctx, input }) => updateTenant(ctx.deps, input.tenantId, input)),

  delete: adminProcedure
    .meta({ openapi: { method: 'DELETE', path: '/tenants/{tenantId}', tags: ['tenants'], summary: 'Delete a tenant and all it owns' } })
    .input(byId)
    .output(deletedSchema)
    .mutation(async ({ ctx, input }) => {
      await deleteTenant(ctx.deps, input.tenantId);
      return { deleted: true as const };
    }),

  rotateApiKey: adminProcedure
    .meta({
      openapi: { method: 'POST', path: '/tenants/{tenantId}/rotate-api-key', tags: ['tenants'], summary: "Replace a tenant's API key" },
    })
    .input(byId)
    .output(tenantApiKeySchema)
    .mutation(({ ctx, input }) => rotateTenantApiKey(ctx.deps, input.tenantId)),

  me: tenantProcedure
    .meta({ openapi: { method: 'GET', path: '/me', tags: ['tenants'], summary: 'The tenant of this key' } })
    .output(tenantSchema)
    .query(({ ctx }) => getTenant(ctx.deps, ctx.tenantId)),

  rotateSigningSecret: tenantScopedProcedure
    .meta({ openapi: { method: 'POST', path: '/signing-secret/rotate', tags: ['tenants'], summary: "Rotate the tenant's signing secret" } })
    .input(tenantInput({ graceSeconds: graceSecondsSchema }))
    .output(tenantSigningSecretSchema)
    .mutation(({ ctx, input }) => rotateTenantSigningSecret(ctx.deps, ctx.tenantId, input.graceSeconds)),
});
