// Records attempts and their consequences: the attempt row, the delivery's new state, the
// endpoint's health, and the next job when a retry is due. Attempts that finish while earlier ones
// are being written are recorded together in ONE statement (group commit, server/batcher.ts; the
// statement is db/sql/record-attempts.ts, the health rules it applies server/endpoints/health.ts).
import { recordAttempts, type AttemptWrite } from '../../db/sql/record-attempts.js';
import { operationalTarget, type OperatorTenant } from '../operator/operational-events.js';
import { newId } from '../../shared/ids.js';
import { createBatcher, writeAloneOnItemFailure } from '../batcher.js';
import type { DeliveryPool, Shared } from '../deps.js';
import { endpointHealthRules, judgeAttempt } from '../endpoints/health.js';
import type { PostResult } from './http.js';
import type { DeliveryToSend } from './load.js';
import type { Outcome } from './outcome.js';

const MAX_RESPONSE_BODY_CHARS = 1024;

export interface AttemptToRecord {
  delivery: DeliveryToSend;
  /** The attempt's number: the delivery expects it when its attempt count is one less. */
  attempt: number;
  /** The POST and its result; null when no request was made (the endpoint is disabled). */
  sent: { startedAt: Date; result: PostResult } | null;
  outcome: Outcome;
}

/** Records one attempt (resolves once it has committed); concurrent calls share a statement. */
export type AttemptRecorder = (attempt: AttemptToRecord) => Promise<void>;

export interface AttemptRecorderOptions {
  /** Told the run_at of each retry job once it has committed (the worker wakes its job fetch then). */
  onRetryScheduled?: (runAt: Date) => void;
  /** Set when operational events are configured: what they need (server/operator/operational-events.ts). */
  operator?: OperatorTenant | undefined;
}

/** The attempt as the record statement writes it; its endpoint's health as endpoints/health.ts judges it. */
export function toAttemptWrite({ delivery, attempt, sent, outcome }: AttemptToRecord): AttemptWrite {
  const result = sent?.result;
  return {
    deliveryId: delivery.id,
    tenantId: delivery.tenantId,
    endpointId: delivery.endpointId,
    number: attempt,
    delivery: {
      status: outcome.kind === 'succeeded' ? 'succeeded' : outcome.kind === 'failed' ? 'failed' : 'pending',
      attemptCount: sent ? attempt : delivery.attemptCount,
      nextAttemptAt: outcome.kind === 'retry' ? new Date(Date.now() + outcome.delayMs) : null,
      lastError: outcome.kind === 'succeeded' ? null : outcome.reason,
    },
    sent: sent && {
      id: newId('attempt'),
      startedAt: sent.startedAt,
      statusCode: result?.kind === 'response' ? result.status : null,
      error: result?.kind === 'error' ? result.error : null,
      errorMessage: result?.kind === 'error' ? storable(result.message.slice(0, 1000)) : null,
      durationMs: sent.result.durationMs,
      responseBody: result?.kind === 'response' ? storable(result.body.slice(0, MAX_RESPONSE_BODY_CHARS)) : null,
    },
    ...judgeAttempt(sent !== null, outcome),
  };
}

export function createAttemptRecorder(deps: DeliveryPool & Pick<Shared, 'config'>, options: AttemptRecorderOptions = {}): AttemptRecorder {
  const operator: OperatorTenant | undefined = options.operator;
  return createBatcher<AttemptToRecord, void>(
    // A deadlock or one attempt's bad data fails only that attempt (its job is then retried).
    writeAloneOnItemFailure(async (attempts) => {
      const writes = attempts.map(toAttemptWrite);
      // HOOKLINE_DISABLE_AFTER=0 turns automatic disabling off.
      const rules = endpointHealthRules(deps.config.disableAfterMs);
      const operational = operator ? await operationalTarget(operator, writes) : null;
      await recordAttempts(deps.sql, { attempts: writes, rules, operational });
      for (const write of writes) {
        if (write.delivery.nextAttemptAt !== null) options.onRetryScheduled?.(write.delivery.nextAttemptAt);
      }
      return attempts.map(() => undefined);
    }),
    // Three statements in flight at most: while they run, the attempts finishing meanwhile gather.
    { maxBatch: 200, maxInFlight: 3 },
  );
}

/** PostgreSQL text cannot hold NUL, which a binary reply may contain. */
function storable(text: string): string {
  return text.includes('\u0000') ? text.replaceAll('\u0000', '\uFFFD') : text;
}
