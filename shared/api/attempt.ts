// One HTTP attempt of a delivery: when, what came back (status or error), how long it took.
import { z } from 'zod';
import { deliveryIdSchema } from '../schemas.js';
import { timestamp } from './common.js';

export const attemptSchema = z
  .object({
    id: z.string(),
    deliveryId: deliveryIdSchema,
    /** 1-based. */
    number: z.number().int(),
    startedAt: timestamp,
    statusCode: z.number().int().nullable(),
    /** A short error kind (`timeout`, `connection_refused`, …) when no response came. */
    error: z.string().nullable(),
    errorMessage: z.string().nullable(),
    durationMs: z.number().int(),
    /** The start of the response body. */
    responseBody: z.string().nullable(),
  })
  .meta({ id: 'Attempt' });

export type Attempt = z.output<typeof attemptSchema>;
