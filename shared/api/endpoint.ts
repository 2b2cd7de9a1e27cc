// An endpoint (a tenant's receiver URL) as the API shows it: never its secret, custom header values
// masked. The secret appears only in what create and rotateSecret answer.
import { z } from 'zod';
import { endpointIdSchema, eventIdSchema, tenantIdSchema } from '../schemas.js';
import { metadataOutput, pageOf, timestamp } from './common.js';

export const endpointSchema = z
  .object({
    id: endpointIdSchema,
    tenantId: tenantIdSchema,
    url: z.string(),
    description: z.string().nullable(),
    /** Empty = every event type; entries are exact names or `prefix.*`. */
    eventTypes: z.array(z.string()),
    /** Null = every payload; otherwise only events whose payload matches (see payload filters). */
    filter: z.record(z.string(), z.unknown()).nullable(),
    /** Values masked (`Bearer ••••1234`); sending one back unchanged in an update keeps it. */
    headers: z.record(z.string(), z.string()),
    metadata: metadataOutput,
    disabled: z.boolean(),
    disabledReason: z.string().nullable(),
    disabledAt: timestamp.nullable(),
    /** How deliveries are signed, fixed at creation: `hmac` (default) or `ed25519` (Standard Webhooks `v1a`). */
    signing: z.enum(['hmac', 'ed25519']),
    /** For `ed25519`: the current public key (`whpk_…`), the endpoint's secret for receivers; null for `hmac`. */
    publicKey: z.string().nullable(),
    /** At most this many delivery attempts per second (any one-second window, all workers); null = no limit. */
    rateLimit: z.number().int().nullable(),
    /** `fifo`: deliveries attempted one at a time in event-id order, a retrying one holding back the rest; `none` (default): in parallel. */
    ordering: z.enum(['none', 'fifo']),
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .meta({ id: 'Endpoint' });

/**
 * `endpoints.create`: the signing secret (`whsec_…`) is shown here and by rotateSecret only; for an
 * `ed25519` endpoint it is the public key (`whpk_…`), which `get` shows too.
 */
export const createdEndpointSchema = z.object({ endpoint: endpointSchema, secret: z.string() }).meta({ id: 'CreatedEndpoint' });
export const endpointPageSchema = pageOf(endpointSchema).meta({ id: 'EndpointPage' });
export const endpointSecretSchema = z.object({ secret: z.string() }).meta({ id: 'EndpointSecret' });
export const testEventSentSchema = z.object({ eventId: eventIdSchema }).meta({ id: 'TestEventSent' });
/** `endpoints.stats`: attempts per hour (UTC), oldest first, and the endpoint's last attempt. */
export const endpointStatsSchema = z
  .object({
    endpointId: endpointIdSchema,
    since: timestamp,
    hours: z.array(z.object({ hour: timestamp, succeeded: z.number().int(), failed: z.number().int() })),
    lastAttempt: z
      .object({
        at: timestamp,
        statusCode: z.number().int().nullable(),
        error: z.string().nullable(),
        errorMessage: z.string().nullable(),
        durationMs: z.number().int(),
      })
      .nullable(),
  })
  .meta({ id: 'EndpointStats' });
export const endpointRecoveredSchema = z.object({ requeued: z.number().int() }).meta({ id: 'EndpointRecovered' });

export type Endpoint = z.output<typeof endpointSchema>;
export type CreatedEndpoint = z.output<typeof createdEndpointSchema>;
export type EndpointStats = z.output<typeof endpointStatsSchema>;
