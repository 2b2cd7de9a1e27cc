// An event as the API shows it (its payload as the receiver gets it), and what sending answers.
import { z } from 'zod';
import { eventIdSchema, tenantIdSchema } from '../schemas.js';
import { jsonObject, pageOf, timestamp } from './common.js';
import { deliverySchema, typedDeliverySchema } from './delivery.js';

export const eventSchema = z
  .object({
    id: eventIdSchema,
    tenantId: tenantIdSchema,
    type: z.string(),
    payload: jsonObject,
    idempotencyKey: z.string().nullable(),
    /** The one-off destination, when the event was sent to a URL instead of the endpoints. */
    url: z.string().nullable(),
    createdAt: timestamp,
  })
  .meta({ id: 'Event' });

/** `events.get`: the event with the status of each of its deliveries. */
export const eventDetailSchema = eventSchema.extend({ deliveries: z.array(typedDeliverySchema) }).meta({ id: 'EventDetail' });
export const eventPageSchema = pageOf(eventSchema).meta({ id: 'EventPage' });

/** `events.send`: the event and one delivery per matching endpoint (or the one-off URL). */
export const sentEventSchema = z.object({ event: eventSchema, deliveries: z.array(deliverySchema) }).meta({ id: 'SentEvent' });

/** `events.sendBatch`: one result per input, in order; a failed item carries its own code and message. */
export const sentBatchSchema = z
  .object({
    results: z.array(
      z.discriminatedUnion('ok', [
        z.object({ ok: z.literal(true), event: eventSchema, deliveries: z.array(deliverySchema) }),
        z.object({ ok: z.literal(false), error: z.object({ code: z.string(), message: z.string() }) }),
      ]),
    ),
  })
  .meta({ id: 'SentBatch' });

export type Event = z.output<typeof eventSchema>;
export type EventDetail = z.output<typeof eventDetailSchema>;
export type SentEvent = z.output<typeof sentEventSchema>;
export type SentBatch = z.output<typeof sentBatchSchema>;
