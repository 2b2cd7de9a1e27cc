// Endpoint recovery and testing: endpoints.recover sends an endpoint's failed deliveries again (after
// an outage on the receiver's side), endpoints.sendTest sends it a signed `hookline.test` event.
// Both act on an enabled endpoint of the tenant only.
import { pgErrorCode } from '../../db/errors.js';
import { endpoints } from '../../db/schema.js';
import { lockFailedDeliveriesOfEndpoint, requeueFailedDeliveries } from '../../db/sql/deliveries.js';
import { findEndpoint } from '../../db/sql/endpoints.js';
import { addDeliverJobs } from '../../db/sql/jobs.js';
import { joinFifoLines } from '../../db/sql/fifo.js';
import { idFloor, newId } from '../../shared/ids.js';
import { nextAttemptJob } from '../delivery/requeue.js';
import type { ApiPool } from '../deps.js';
import { InvalidInputError, NotFoundError } from '../errors.js';
import { TEST_EVENT_TYPE } from '../event-types/service.js';
import { createEventWithDeliveries, type SendDeps } from '../events/send.js';
import { disabledEndpointMessage } from './health.js';

/** How far back endpoints.recover reaches (as Svix does). */
export const RECOVER_WINDOW_MS = 14 * 86_400_000;
/** Slack for the caller's clock: "exactly 14 days ago", computed a moment before, is accepted. */
const RECOVER_WINDOW_SLACK_MS = 5 * 60_000;
/** Deliveries re-queued per transaction: bounds lock time and the size of one add_jobs call. */
export const RECOVER_BATCH_SIZE = 500;

const notFound = () => new NotFoundError('endpoint not found');

/** The endpoint, if it is the tenant's and enabled; NOT_FOUND or BAD_REQUEST otherwise. */
async function enabledEndpoint(deps: Pick<ApiPool, 'db'>, tenantId: string, endpointId: string, doing: string): Promise<void> {
  const endpoint = await findEndpoint(deps.db, tenantId, endpointId, {
    disabled: endpoints.disabled,
    disabledReason: endpoints.disabledReason,
  });
  if (!endpoint) throw notFound();
  if (endpoint.disabled) throw new InvalidInputError(disabledEndpointMessage(endpointId, endpoint.disabledReason, doing));
}

/**
 * Re-queues every failed delivery to the endpoint created at or after `since` (at most 14 days
 * ago); attempt numbers continue. Works in batches of `batchSize`, each one transaction of three
 * statements (lock the batch, set it pending, add its jobs), walking ids upward so deliveries that
 * fail again meanwhile are not picked twice. Returns how many were re-queued.
 */
export async function recoverEndpoint(
  deps: ApiPool,
  tenantId: string,
  endpointId: string,
  since: string,
  options: { batchSize?: number } = {},
): Promise<{ requeued: number }> {
  const from = new Date(since);
  if (from.getTime() < Date.now() - RECOVER_WINDOW_MS - RECOVER_WINDOW_SLACK_MS) {
    throw new InvalidInputError('since is more than 14 days ago; endpoints.recover reaches back at most 14 days');
  }
  await enabledEndpoint(deps, tenantId, endpointId, 'recovering its deliveries');
  const batchSize = options.batchSize ?? RECOVER_BATCH_SIZE;
  const floor = idFloor('delivery', from);
  let after: string | undefined;
  let requeued = 0;
  for (;;) {
    const batch = await deps.db.transaction(async (tx) => {
      const picked = await lockFailedDeliveriesOfEndpoint(tx, { tenantId, endpointId, fromId: floor, afterId: after, limit: batchSize });
      if (picked.length === 0) return { picked: 0, last: undefined, requeued: 0 };
      const rows = await requeueFailedDeliveries(tx, { tenantId, ids: picked });
      // A FIFO endpoint's go to the back of its line, in id order; only a new head runs now.
      const runNow = await joinFifoLines(
        tx,
        rows.toSorted((a, b) => (a.id < b.id ? -1 : 1)).map((row) => ({ id: row.id, endpointId: row.endpointId, seq: newId('event') })),
      );
      await addDeliverJobs(tx, { jobs: rows.filter((row) => runNow.has(row.id)).map(nextAttemptJob) });
      return { picked: picked.length, last: picked[picked.length - 1]!, requeued: rows.length };
    });
    requeued += batch.requeued;
    if (batch.picked < batchSize) break;
    after = batch.last;
  }
  return { requeued };
}

/**
 * Sends the endpoint a signed `hookline.test` event, whatever its event-type filter says. The event
 * is an ordinary one otherwise: listed, inspectable, retried on failure like any other.
 */
export async function sendTestEvent(deps: SendDeps, tenantId: string, endpointId: string): Promise<{ eventId: string }> {
  await enabledEndpoint(deps, tenantId, endpointId, 'sending it a test event');
  const body = JSON.stringify({ type: TEST_EVENT_TYPE, endpointId, sentAt: new Date().toISOString() });
  try {
    const { event } = await createEventWithDeliveries(deps, tenantId, { type: TEST_EVENT_TYPE, body, onlyEndpointId: endpointId });
    return { eventId: event.id };
  } catch (error) {
    // 23503: the endpoint was deleted between the check and the insert.
    if (pgErrorCode(error) === '23503') throw notFound();
    throw error;
  }
}
