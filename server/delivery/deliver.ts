// The `deliver` task: one attempt of one delivery. Read what to send, sign it, POST it through the
// guarded HTTP client, then record the attempt and decide: succeeded, retry later, or failed.
// A permanent failure is recorded, not thrown; a retry is a new job at the scheduled time.
import type { Task } from 'graphile-worker';
import { webhookHeaders } from '../../shared/signing.js';
import { hooklineVersion } from '../../shared/version.js';
import type { DeliveryDeps } from '../deps.js';
import type { DeliveryFairness, SlotEnd } from './fairness.js';
import type { PostResult, WebhookHttpClient } from './http.js';
import { fairnessKeyOf, type DeliverJob } from './jobs.js';
import { decideOutcome, type Outcome } from './outcome.js';
import { createDeliveryLoader, type DeliveryLoader, type DeliveryToSend } from './load.js';
import { advanceFifoLine } from '../../db/sql/fifo.js';
import { createAttemptRecorder, type AttemptRecorder } from './record.js';
import { rateSlotRequest } from './rate-limit.js';
import { takeRateSlot } from '../../db/sql/rate-slots.js';
import { OPERATOR_TENANT_ID, type OperatorTenant } from '../operator/operational-events.js';

export interface DeliverTaskOptions {
  http: WebhookHttpClient;
  /** Operational events, when configured: their tenant row, and the client their deliveries use. */
  operator?: { tenant: OperatorTenant; http: WebhookHttpClient } | undefined;
  fairness: DeliveryFairness;
  random?: () => number;
  /** Told each retry's run_at once its job has committed (see worker/retry-wake.ts). */
  onRetryScheduled?: (runAt: Date) => void;
  /** Observers (metrics): called after each recorded attempt. */
  onAttempt?: (info: { outcome: Outcome['kind']; durationMs: number }) => void;
}

export function createDeliverTask(deps: DeliveryDeps, options: DeliverTaskOptions): Task<'deliver'> {
  // Shared by every job of the worker: loads that start together share a query, attempts that
  // finish together share a statement.
  const store: DeliveryStore = {
    load: createDeliveryLoader(deps),
    record: createAttemptRecorder(deps, { onRetryScheduled: options.onRetryScheduled, operator: options.operator?.tenant }),
  };
  return async (job, helpers) => {
    // A delivery slot first. One tenant's, or one endpoint's, slow or dead deliveries may not
    // occupy the slots the others need: the job waits for a slot if one should free up soon, else
    // steps aside (back to the queue until a slot frees up for it) and other deliveries run now.
    const slot = await options.fairness.admit({
      id: helpers.job.id,
      payload: job,
      endpointKey: fairnessKeyOf(job),
      runAt: helpers.job.run_at,
      priority: helpers.job.priority,
    });
    if (!slot) return;
    let end: SlotEnd = 'none';
    try {
      const result = await deliverOnce(deps, store, options, job, helpers.job.priority);
      if (result) end = result.kind === 'error' && result.error === 'timeout' ? 'timed-out' : 'answered';
    } finally {
      slot.leave(end);
    }
  };
}

/**
 * After a delivery in a FIFO line is finished: the line's next delivery gets its job
 * (db/sql/fifo.ts). Should this fail, the job fails and runs again, finds the delivery finished and
 * advances then; the stranded sweeper advances a line whose worker died meanwhile.
 */
async function advanceLineAfter(deps: Pick<DeliveryDeps, 'sql'>, delivery: DeliveryToSend): Promise<void> {
  if (delivery.inFifoLine && delivery.endpointId) await advanceFifoLine(deps.sql, delivery.endpointId);
}

interface DeliveryStore {
  load: DeliveryLoader;
  record: AttemptRecorder;
}

/** Makes the attempt; returns what the POST got, or undefined when nothing was sent. */
async function deliverOnce(
  deps: Pick<DeliveryDeps, 'config' | 'logger' | 'sql'>,
  store: DeliveryStore,
  options: DeliverTaskOptions,
  job: DeliverJob,
  priority: number,
): Promise<PostResult | undefined> {
  const delivery = await store.load(job.deliveryId);
  if (!delivery) return undefined;
  // Already finished, or a stale duplicate of an attempt already recorded. A finished head of a FIFO
  // line whose worker died before advancing it: advanced now (it is idempotent).
  if (delivery.status !== 'pending' || delivery.attemptCount !== job.attempt - 1) {
    if (delivery.status !== 'pending') await advanceLineAfter(deps, delivery);
    return undefined;
  }

  if (delivery.endpointDisabled) {
    await store.record({ delivery, attempt: job.attempt, sent: null, outcome: { kind: 'failed', reason: 'endpoint disabled' } });
    await advanceLineAfter(deps, delivery);
    return undefined;
  }

  // A rate-limited endpoint (./rate-limit.ts): the attempt starts at its turn, now or after a short
  // wait; or the job has been moved to a later slot, and this run ends without an attempt, freeing
  // its delivery slot.
  if (delivery.rateLimit !== null && job.endpointId) {
    const slot = await takeRateSlot(deps.sql, rateSlotRequest(job, priority, delivery.rateLimit));
    if (slot.moved) {
      options.onRetryScheduled?.(slot.at);
      return undefined;
    }
    if (slot.waitMs > 0) await new Promise((resolve) => setTimeout(resolve, slot.waitMs));
  }

  const timestamp = Math.floor(Date.now() / 1000);
  const headers = {
    ...delivery.customHeaders,
    'content-type': 'application/json',
    'user-agent': `hookline/${hooklineVersion}`,
    ...webhookHeaders({
      scheme: deps.config.signatureScheme,
      headerPrefix: deps.config.headerPrefix,
      id: delivery.eventId,
      timestamp,
      attempt: job.attempt,
      body: delivery.body,
      secrets: delivery.secrets,
    }),
  };
  const startedAt = new Date();
  // The operator's own URL is exempt from the private-address rule (server/operator/operational-events.ts).
  const http = delivery.tenantId === OPERATOR_TENANT_ID && options.operator ? options.operator.http : options.http;
  const result = await http.post(delivery.url, { headers, body: delivery.body });
  const outcome = decideOutcome(result, job.attempt, {
    retryScheduleMs: deps.config.retryScheduleMs,
    ...(options.random && { random: options.random }),
  });
  await store.record({ delivery, attempt: job.attempt, sent: { startedAt, result }, outcome });
  // A FIFO line moves on only when its head is finished for good; a retry holds it (its retry job).
  if (outcome.kind !== 'retry') await advanceLineAfter(deps, delivery);
  options.onAttempt?.({ outcome: outcome.kind, durationMs: result.durationMs });
  deps.logger.debug(
    { eventId: delivery.eventId, deliveryId: delivery.id, attempt: job.attempt, outcome: outcome.kind },
    'delivery attempt',
  );
  return result;
}
