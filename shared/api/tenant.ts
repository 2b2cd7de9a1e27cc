// A tenant (one of the operator's customers) as the API shows it, and what its key rotations answer.
import { z } from 'zod';
import { tenantIdSchema } from '../schemas.js';
import { metadataOutput, pageOf, timestamp } from './common.js';

export const tenantSchema = z
  .object({
    id: tenantIdSchema,
    name: z.string(),
    externalId: z.string().nullable(),
    metadata: metadataOutput,
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .meta({ id: 'Tenant' });

/** `tenants.create`: the API key and signing secret are shown this once. */
export const createdTenantSchema = z
  .object({ tenant: tenantSchema, apiKey: z.string(), signingSecret: z.string() })
  .meta({ id: 'CreatedTenant' });

export const tenantPageSchema = pageOf(tenantSchema).meta({ id: 'TenantPage' });
export const tenantApiKeySchema = z.object({ apiKey: z.string() }).meta({ id: 'TenantApiKey' });
export const tenantSigningSecretSchema = z.object({ signingSecret: z.string() }).meta({ id: 'TenantSigningSecret' });

export type Tenant = z.output<typeof tenantSchema>;
export type CreatedTenant = z.output<typeof createdTenantSchema>;
