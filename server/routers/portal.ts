// portal.* procedures: sessions of the tenant portal (/portal). The admin key opens one for a named
// tenant, a tenant key for itself; a portal session itself may do neither (FORBIDDEN).
import { z } from 'zod';
import { portalSessionSchema, revokedPortalSessionSchema } from '../../shared/api/portal.js';
import { flag, safeText, wholeNumber } from '../../shared/schemas.js';
import { createPortalSession, revokePortalSession } from '../portal/sessions.js';
import { apiKeyProcedure, apiKeyScopedProcedure, router, tenantInput } from '../trpc.js';

const themeSchema = z.strictObject({
  productName: safeText(80).optional(),
  accentColor: z
    .string()
    .regex(/^#[0-9a-fA-F]{6}$/, 'a colour like #2563eb')
    .optional(),
});

export const portalRouter = router({
  createSession: apiKeyScopedProcedure
    .meta({ openapi: { method: 'POST', path: '/portal/sessions', tags: ['portal'], summary: 'Open a tenant portal session' } })
    .input(
      tenantInput({
        readOnly: flag.default(false),
        expiresInSeconds: wholeNumber(60, 604_800).default(3600),
        theme: themeSchema.optional(),
      }),
    )
    .output(portalSessionSchema)
    .mutation(({ ctx, input }) => createPortalSession(ctx.deps, ctx.tenantId, input)),

  revokeSession: apiKeyProcedure
    .meta({
      openapi: { method: 'DELETE', path: '/portal/sessions/{sessionId}', tags: ['portal'], summary: 'End a tenant portal session' },
    })
    .input(z.strictObject({ sessionId: z.string().min(1).max(64) }))
    .output(revokedPortalSessionSchema)
    .mutation(async ({ ctx, input }) => {
      await revokePortalSession(ctx.deps, input.sessionId, ctx.tenantId);
      return { revoked: true as const };
    }),
});
