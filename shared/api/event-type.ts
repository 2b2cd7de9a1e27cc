// An entry of the operator-wide event type catalog.
import { z } from 'zod';
import { jsonObject, listOf, timestamp } from './common.js';

export const eventTypeSchema = z
  .object({
    name: z.string(),
    description: z.string().nullable(),
    /** A JSON Schema the payloads of this type are documented by. */
    schema: jsonObject.nullable(),
    archived: z.boolean(),
    archivedAt: timestamp.nullable(),
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .meta({ id: 'EventType' });

export const eventTypeListSchema = listOf(eventTypeSchema).meta({ id: 'EventTypeList' });

export type EventType = z.output<typeof eventTypeSchema>;
