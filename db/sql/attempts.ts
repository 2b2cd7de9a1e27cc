// Attempt rows as the read side shows them. (Attempts are written by server/delivery/record.ts.)
import { and, asc, eq } from 'drizzle-orm';
import { attempts } from '../schema.js';
import type { Selector } from './executor.js';

type AttemptRow = typeof attempts.$inferSelect;

/** The tenant's attempts of one delivery, by attempt number. */
export async function listDeliveryAttempts(db: Selector, params: { tenantId: string; deliveryId: string }): Promise<AttemptRow[]> {
  return db
    .select()
    .from(attempts)
    .where(and(eq(attempts.tenantId, params.tenantId), eq(attempts.deliveryId, params.deliveryId)))
    .orderBy(asc(attempts.number));
}
