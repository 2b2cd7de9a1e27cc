// tenants.* procedures: the admin manages tenants; a tenant reads itself and rotates its signing secret.
import { z } from 'zod';
import { externalId, metadataSchema, pageLimit, tenantIdSchema, tenantName } from '../../shared/schemas.js';
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
export const graceSecondsSchema = z.number().int().min(0).max(7 * 86_400).default(86_400);

export const tenantsRouter = router({
  create: adminProcedure
    .input(z.strictObject({ name: tenantName, externalId: externalId.optional(), metadata: metadataSchema.optional() }))
    .mutation(({ ctx, input }) => createTenant(ctx.deps, input)),

  list: adminProcedure
    .input(
      z
        .strictObject({ cursor: tenantIdSchema.optional(), limit: pageLimit, externalId: externalId.optional() })
        .default({ limit: 50 }),
    )
    .query(({ ctx, input }) => listTenants(ctx.deps, input)),

  get: adminProcedure.input(byId).query(({ ctx, input }) => getTenant(ctx.deps, input.tenantId)),

  update: adminProcedure
    .input(
      z.strictObject({
        tenantId: tenantIdSchema,
        name: tenantName.optional(),
        externalId: externalId.nullable().optional(),
        metadata: metadataSchema.optional(),
      }),
    )
    .mutation(({ ctx, input }) => updateTenant(ctx.deps, input.tenantId, input)),

  delete: adminProcedure.input(byId).mutation(async ({ ctx, input }) => {
    await deleteTenant(ctx.deps, input.tenantId);
    return { deleted: true as const };
  }),

  rotateApiKey: adminProcedure.input(byId).mutation(({ ctx, input }) => rotateTenantApiKey(ctx.deps, input.tenantId)),

  me: tenantProcedure.query(({ ctx }) => getTenant(ctx.deps, ctx.tenantId)),

  rotateSigningSecret: tenantScopedProcedure
    .input(tenantInput({ graceSeconds: graceSecondsSchema }))
    .mutation(({ ctx, input }) => rotateTenantSigningSecret(ctx.deps, ctx.tenantId, input.graceSeconds)),
});
