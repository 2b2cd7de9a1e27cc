// A delivery: one event to one endpoint (or to a one-off URL), with its status and, in detail,
// its attempts.
import { z } from 'zod';
import { deliveryIdSchema, endpointIdSchema, eventIdSchema, tenantIdSchema } from '../schemas.js';
import { attemptSchema } from './attempt.js';
import { jsonObject, pageOf, timestamp } from './common.js';

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

/** A delivery as lists and reads show it: naming its event's type. */
export const typedDeliverySchema = deliverySchema.extend({ type: z.string() }).meta({ id: 'TypedDelivery' });

/** `deliveries.get`: the delivery with its event's payload and every attempt, by attempt number. */
export const deliveryDetailSchema = typedDeliverySchema
  .extend({ payload: jsonObject, attempts: z.array(attemptSchema) })
  .meta({ id: 'DeliveryDetail' });
export const deliveryPageSchema = pageOf(typedDeliverySchema).meta({ id: 'DeliveryPage' });

export type DeliveryStatus = z.output<typeof deliveryStatusSchema>;
export type Delivery = z.output<typeof deliverySchema>;
export type TypedDelivery = z.output<typeof typedDeliverySchema>;
export type DeliveryDetail = z.output<typeof deliveryDetailSchema>;
