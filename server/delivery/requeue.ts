// Sending a finished delivery again (deliveries.retry, and endpoints.recover in bulk). The delivery
// goes back to `pending` and gets a `deliver` job for attempt `attempt_count + 1` in the same
// transaction, so attempt numbers continue (1, 2, 3, then 4) and the worker's rule — act only when
// the delivery is pending and expects that attempt — holds for re-queued deliveries too. A delivery
// to a FIFO endpoint goes to the back of its line (db/sql/fifo.ts): its job waits for its turn.
import { and, eq } from 'drizzle-orm';
import { deliveries, endpoints } from '../../db/schema.js';
import type { ApiPool } from '../deps.js';
import { disabledEndpointMessage } from '../endpoints/health.js';
import { InvalidInputError, NotFoundError } from '../errors.js';
import { presentDelivery, type Delivery } from '../events/present.js';
import { addDeliverJobsSql, type DeliverJob } from './jobs.js';
import { requeuedState } from '../../db/sql/deliveries.js';
import { deleteDeadJobsSql, jobsForNextAttempt } from '../../db/sql/stranded.js';
import { joinFifoLines, waitsInFifoLine } from '../../db/sql/fifo.js';
import { newId } from '../../shared/ids.js';

/** The job that makes a re-queued delivery's next attempt. */
export function nextAttemptJob(row: { id: string; tenantId: string; endpointId: string | null; attemptCount: number }): DeliverJob {
  return { deliveryId: row.id, tenantId: row.tenantId, endpointId: row.endpointId, attempt: row.attemptCount + 1 };
}

/**
 * Re-queues one succeeded or failed delivery, or a pending one that no job will attempt (stranded:
 * see stranded.ts). A pending one with a live job (queued, or being attempted) is refused rather
 * than sent twice; so is one whose endpoint is disabled.
 */
export async function retryDelivery(deps: ApiPool, tenantId: string, deliveryId: string): Promise<Delivery> {
  return deps.db.transaction(async (tx) => {
    // The row lock orders this against a concurrent retry or recover of the same delivery.
    const [current] = await tx
      .select({
        status: deliveries.status,
        attemptCount: deliveries.attemptCount,
        endpointId: deliveries.endpointId,
        endpointDisabled: endpoints.disabled,
        endpointDisabledReason: endpoints.disabledReason,
      })
      .from(deliveries)
      .leftJoin(endpoints, eq(endpoints.id, deliveries.endpointId))
      .where(and(eq(deliveries.tenantId, tenantId), eq(deliveries.id, deliveryId)))
      .for('update', { of: deliveries });
    if (!current) throw new NotFoundError('delivery not found');
    if (current.status === 'pending') {
      // Its jobs as of now, the row lock held: a sweeper that gave it a job before is seen here.
      const found = await jobsForNextAttempt(tx, [{ id: deliveryId, attemptCount: current.attemptCount }]);
      const jobs = found.get(deliveryId)!;
      if (jobs.live) throw new InvalidInputError('delivery is already pending');
      // Waiting its turn in a FIFO endpoint's line has no job on purpose (db/sql/fifo.ts).
      if (await waitsInFifoLine(tx, deliveryId)) {
        throw new InvalidInputError('delivery is already pending (waiting its turn at its FIFO endpoint)');
      }
      if (jobs.deadJobIds.length > 0) await tx.execute(deleteDeadJobsSql(jobs.deadJobIds));
    }
    if (current.endpointId !== null && current.endpointDisabled) {
      throw new InvalidInputError(disabledEndpointMessage(current.endpointId, current.endpointDisabledReason, 'retrying'));
    }
    const [row] = await tx.update(deliveries).set(requeuedState).where(eq(deliveries.id, deliveryId)).returning();
    // To a FIFO endpoint it goes to the back of the line, and gets its job when its turn comes.
    const runNow = await joinFifoLines(tx, [{ id: row!.id, endpointId: row!.endpointId, seq: newId('event') }]);
    if (runNow.has(row!.id)) await tx.execute(addDeliverJobsSql([nextAttemptJob(row!)]));
    return presentDelivery(row!);
  });
}
