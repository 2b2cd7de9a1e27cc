// A delivery: one event to one endpoint (or to a one-off URL), with its status and, in detail,
// its attempts.
import { z } from 'zod';
import { deliveryIdSchema, endpointIdSchema, eventIdSchema, tenantIdSchema } from '../schemas.js';
import { attemptSchema } from './attempt.js';
import { pageOf, timestamp } from './common.js';

/** `failed`: retries exhausted or endpoint disabled. */
export const deliveryStatusSchema = z.enum(['pending', 'succeeded', 'failed']);

export const deliverySchema = z
  .object({
    id: deliveryIdSchema,
    tenantId: tenantIdSchema,
    eventId: eventIdSchema,
    /** Null for a one-off `url` delivery (or once the endpoint is deleted). */
    endpointId: endpointIdSchema.nullable(),
    status: deliveryStatusSchema,
    attemptCount: z.number().int(),
    nextAttemptAt: timestamp.nullable(),
    lastError: z.string().nullable(),
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .meta({ id: 'Delivery' });

/** `deliveries.get`: the delivery with every attempt, by attempt number. */
export const deliveryDetailSchema = deliverySchema.extend({ attempts: z.array(attemptSchema) }).meta({ id: 'DeliveryDetail' });
export const deliveryPageSchema = pageOf(deliverySchema).meta({ id: 'DeliveryPage' });

export type DeliveryStatus = z.output<typeof deliveryStatusSchema>;
export type Delivery = z.output<typeof deliverySchema>;
export type DeliveryDetail = z.output<typeof deliveryDetailSchema>;
