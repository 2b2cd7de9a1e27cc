// The `deliver` task: one attempt of one delivery. Read what to send, sign it, POST it through the
// guarded HTTP client, then record the attempt and decide: succeeded, retry later, or failed.
// A permanent failure is recorded, not thrown; a retry is a new job at the scheduled time.
import type { Task } from 'graphile-worker';
import { webhookHeaders } from '../../shared/signing.js';
import type { AppDeps } from '../deps.js';
import { hooklineVersion } from '../routers/health.js';
import type { WebhookHttpClient } from './http.js';
import type { DeliverJob } from './jobs.js';
import { decideOutcome, type Outcome } from './outcome.js';
import { createDeliveryLoader, type DeliveryLoader } from './load.js';
import { createAttemptRecorder, type AttemptRecorder } from './record.js';
import type { TenantFairness } from './fairness.js';

export interface DeliverTaskOptions {
  http: WebhookHttpClient;
  fairness: TenantFairness;
  random?: () => number;
  /** Told each retry's run_at once its job has committed (see worker/retry-wake.ts). */
  onRetryScheduled?: (runAt: Date) => void;
  /** Observers (metrics): called after each recorded attempt. */
  onAttempt?: (info: { outcome: Outcome['kind']; durationMs: number }) => void;
}

export function createDeliverTask(deps: AppDeps, options: DeliverTaskOptions): Task<'deliver'> {
  // Shared by every job of the worker: loads that start together share a query, attempts that
  // finish together share a statement.
  const store: DeliveryStore = {
    load: createDeliveryLoader(deps),
    record: createAttemptRecorder(deps, { onRetryScheduled: options.onRetryScheduled }),
  };
  return async (job, helpers) => {
    // A delivery slot first. One tenant's slow or dead endpoints may not occupy the whole worker:
    // over its share (or with every slot taken) the job waits for a slot if one should free up
    // soon, else steps aside (re-queued behind other tenants' jobs) and other deliveries run now.
    const slot = await options.fairness.enter(job.tenantId);
    if (!slot) {
      await options.fairness.defer(job, helpers.job.priority);
      return;
    }
    try {
      await deliverOnce(deps, store, options, job);
    } finally {
      slot.leave();
    }
  };
}

interface DeliveryStore {
  load: DeliveryLoader;
  record: AttemptRecorder;
}

async function deliverOnce(deps: AppDeps, store: DeliveryStore, options: DeliverTaskOptions, job: DeliverJob): Promise<void> {
  const delivery = await store.load(job.deliveryId);
  // Gone (tenant deleted), already finished, or a stale duplicate of an attempt already recorded.
  if (!delivery || delivery.status !== 'pending' || delivery.attemptCount !== job.attempt - 1) return;

  if (delivery.endpointDisabled) {
    await store.record({ delivery, attempt: job.attempt, sent: null, outcome: { kind: 'failed', reason: 'endpoint disabled' } });
    return;
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
  const result = await options.http.post(delivery.url, { headers, body: delivery.body });
  const outcome = decideOutcome(result, job.attempt, {
    retryScheduleMs: deps.config.retryScheduleMs,
    ...(options.random && { random: options.random }),
  });
  await store.record({ delivery, attempt: job.attempt, sent: { startedAt, result }, outcome });
  options.onAttempt?.({ outcome: outcome.kind, durationMs: result.durationMs });
  deps.logger.debug(
    { eventId: delivery.eventId, deliveryId: delivery.id, attempt: job.attempt, outcome: outcome.kind },
    'delivery attempt',
  );
}
