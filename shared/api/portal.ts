// Tenant portal sessions (portal.*): what creating and revoking one answers.
import { z } from 'zod';
import { timestamp } from './common.js';

export const portalSessionSchema = z
  .object({
    sessionId: z.string(),
    /** `{HOOKLINE_PUBLIC_URL}/portal#token=<token>`: link it or put it in an iframe. */
    url: z.string(),
    token: z.string(),
    expiresAt: timestamp,
  })
  .meta({ id: 'PortalSession' });

export const revokedPortalSessionSchema = z.object({ revoked: z.literal(true) }).meta({ id: 'RevokedPortalSession' });

export type PortalSession = z.output<typeof portalSessionSchema>;
