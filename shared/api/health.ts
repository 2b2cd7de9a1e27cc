// The `health` answer: alive, and which version runs.
import { z } from 'zod';

export const healthSchema = z.object({ ok: z.literal(true), version: z.string() }).meta({ id: 'Health' });

export type Health = z.output<typeof healthSchema>;
