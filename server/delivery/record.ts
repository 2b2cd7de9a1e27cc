// Records attempts and their consequences: the attempt row, the delivery's new state, the
// endpoint's health, and the next job when a retry is due. Attempts that finish while earlier ones
// are being written are recorded together in ONE statement (group commit, server/batcher.ts): one
// round trip and one commit for the lot, atomic. Everything is conditional on the delivery still
// expecting that attempt, so a duplicate run of a job (after crash recovery) records nothing twice.
import { newId } from '../../shared/ids.js';
import { createBatcher, writeAloneOnItemFailure } from '../batcher.js';
import type { DeliveryPool, Shared } from '../deps.js';
import type { PostResult } from './http.js';
import { deliverJobMaxAttempts } from './jobs.js';
import type { DeliveryToSend } from './load.js';
import type { Outcome } from './outcome.js';

const maxResponseBodyChars = 1024;
/** Automatic disabling also needs this many failed attempts since the last success. */
export const minFailuresBeforeDisable = 10;

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
}

/** One attempt as the statement reads it (json_to_recordset). `ord` is its place in the batch. */
interface AttemptRow {
  ord: number;
  delivery_id: string;
  tenant_id: string;
  endpoint_id: string | null;
  attempt: number;
  attempt_count: number;
  status: 'pending' | 'succeeded' | 'failed';
  next_attempt_at: string | null;
  last_error: string | null;
  sent: boolean;
  attempt_id: string;
  started_at: string | null;
  status_code: number | null;
  error: string | null;
  error_message: string | null;
  duration_ms: number;
  response_body: string | null;
  /** What the attempt says about the endpoint: nothing (no request made), a success, a failure. */
  health: 'none' | 'success' | 'failure';
  disable_reason: string | null;
}

function toRow({ delivery, attempt, sent, outcome }: AttemptToRecord, ord: number): AttemptRow {
  const result = sent?.result;
  return {
    ord,
    delivery_id: delivery.id,
    tenant_id: delivery.tenantId,
    endpoint_id: delivery.endpointId,
    attempt,
    attempt_count: sent ? attempt : delivery.attemptCount,
    status: outcome.kind === 'succeeded' ? 'succeeded' : outcome.kind === 'failed' ? 'failed' : 'pending',
    next_attempt_at: outcome.kind === 'retry' ? new Date(Date.now() + outcome.delayMs).toISOString() : null,
    last_error: outcome.kind === 'succeeded' ? null : outcome.reason,
    sent: sent !== null,
    attempt_id: newId('attempt'),
    started_at: sent?.startedAt.toISOString() ?? null,
    status_code: result?.kind === 'response' ? result.status : null,
    error: result?.kind === 'error' ? result.error : null,
    error_message: result?.kind === 'error' ? storable(result.message.slice(0, 1000)) : null,
    duration_ms: result?.durationMs ?? 0,
    response_body: result?.kind === 'response' ? storable(result.body.slice(0, maxResponseBodyChars)) : null,
    health: !sent ? 'none' : outcome.kind === 'succeeded' ? 'success' : 'failure',
    disable_reason: outcome.kind === 'failed' ? (outcome.disableEndpoint ?? null) : null,
  };
}

export function createAttemptRecorder(deps: DeliveryPool & Pick<Shared, 'config'>, options: AttemptRecorderOptions = {}): AttemptRecorder {
  return createBatcher<AttemptToRecord, void>(
    // A deadlock or one attempt's bad data fails only that attempt (its job is then retried).
    writeAloneOnItemFailure(async (attempts) => {
      const rows = attempts.map(toRow);
      await recordAttempts(deps, rows);
      for (const row of rows) {
        if (row.next_attempt_at !== null) options.onRetryScheduled?.(new Date(row.next_attempt_at));
      }
      return attempts.map(() => undefined);
    }),
    // Three statements in flight at most: while they run, the attempts finishing meanwhile gather.
    { maxBatch: 200, maxInFlight: 3 },
  );
}

/**
 * The statement. The endpoint's health folds the batch's attempts to it in order: the last success
 * resets the failure count, and the failures after it count from there; a 410 disables it. A
 * success on an already healthy endpoint refreshes its row at most once a second, so one busy
 * endpoint's attempts do not queue on its row lock. Endpoint rows are locked in id order, so two
 * batches touching the same endpoints cannot deadlock.
 */
async function recordAttempts(deps: DeliveryPool & Pick<Shared, 'config'>, rows: AttemptRow[]): Promise<void> {
  const { sql, config } = deps;
  // Every row of a growing table is reached through its key (`= any(...)`), whatever plan a
  // prepared statement was given while the tables were small.
  const deliveryIds = rows.map((r) => r.delivery_id);
  const endpointIds = [...new Set(rows.flatMap((r) => (r.endpoint_id ? [r.endpoint_id] : [])))];
  // HOOKLINE_DISABLE_AFTER=0 turns automatic disabling off.
  const disableAfterMs = config.disableAfterMs;
  await sql`
    with input as (
      select * from json_to_recordset(${JSON.stringify(rows)}::json) as i(
        ord int, delivery_id text, tenant_id text, endpoint_id text, attempt int, attempt_count int,
        status delivery_status, next_attempt_at timestamptz, last_error text, sent boolean,
        attempt_id text, started_at timestamptz, status_code int, error text, error_message text,
        duration_ms int, response_body text, health text, disable_reason text)
    ), delivery as (
      update deliveries d
         set status = i.status, attempt_count = i.attempt_count, next_attempt_at = i.next_attempt_at,
             last_error = i.last_error, updated_at = now()
        from input i
       where d.id = any(${deliveryIds}::text[])
         and d.id = i.delivery_id and d.status = 'pending' and d.attempt_count = i.attempt - 1
      returning i.ord
    ), recorded as (
      select i.* from input i join delivery using (ord)
    ), attempt as (
      insert into attempts (id, delivery_id, tenant_id, number, started_at, status_code, error, error_message, duration_ms, response_body)
      select attempt_id, delivery_id, tenant_id, attempt, started_at, status_code, error, error_message, duration_ms, response_body
        from recorded
       where sent
      returning 1
    ), outcome as (
      select endpoint_id, ord, health, disable_reason,
             min(ord) filter (where health = 'success') over by_endpoint as first_success,
             max(ord) filter (where health = 'success') over by_endpoint as last_success
        from recorded
       where endpoint_id is not null and health <> 'none'
      window by_endpoint as (partition by endpoint_id)
    ), health as (
      -- Per endpoint: the failures that continue its current run (before the batch's first
      -- success) and those of the run the batch ends with (after its last success; with no
      -- success, both are every failure).
      select endpoint_id,
             bool_or(last_success is not null) as succeeded,
             bool_and(health = 'success') as only_successes,
             count(*) filter (where health = 'failure' and ord < coalesce(first_success, 2147483647))::int as continuing_failures,
             count(*) filter (where health = 'failure' and ord > coalesce(last_success, -1))::int as ending_failures,
             (array_agg(disable_reason order by ord) filter (where disable_reason is not null))[1] as disable_reason
        from outcome
       group by endpoint_id
    ), folded as (
      select ep.id, h.disable_reason,
             case when h.succeeded then now() else ep.last_success_at end as last_success_at,
             case when h.succeeded then h.ending_failures else ep.failures_since_success + h.ending_failures end as failures_since_success,
             case when h.succeeded then case when h.ending_failures > 0 then now() end
                  when h.ending_failures > 0 then coalesce(ep.first_failure_at, now())
                  else ep.first_failure_at end as first_failure_at,
             -- Judged as attempts one at a time would be: the continuing run disables the endpoint
             -- at its first failure past the threshold, even if a success follows in the batch (a run
             -- begun within this statement has not lasted any time yet).
             h.continuing_failures > 0 and ${disableAfterMs > 0}
               and ep.failures_since_success + h.continuing_failures >= ${minFailuresBeforeDisable}
               and coalesce(ep.first_failure_at, now()) <= now() - ${disableAfterMs} * interval '1 millisecond' as too_long_failing,
             greatest(ep.failures_since_success + 1, ${minFailuresBeforeDisable}) as failures_when_disabled
        from endpoints ep
        join health h on h.endpoint_id = ep.id
       where ep.id = any(${endpointIds}::text[])
         and not (h.only_successes and ep.failures_since_success = 0
                  and coalesce(ep.last_success_at > now() - interval '1 second', false))
       order by ep.id
         -- The lock UPDATE itself takes: it lets sends insert deliveries to the endpoint meanwhile.
         for no key update of ep
    ), endpoint as (
      update endpoints as ep
         set last_success_at = j.last_success_at,
             failures_since_success = j.failures_since_success,
             first_failure_at = j.first_failure_at,
             disabled = ep.disabled or j.disable_reason is not null or j.too_long_failing,
             disabled_reason = case
               when ep.disabled then ep.disabled_reason
               when j.disable_reason is not null then j.disable_reason
               when j.too_long_failing then 'no successful delivery for ' || ${formatDuration(disableAfterMs)}
                                            || ' (' || j.failures_when_disabled || ' failed attempts)'
               else null end,
             disabled_at = case
               when ep.disabled then ep.disabled_at
               when j.disable_reason is not null or j.too_long_failing then now()
               else null end,
             updated_at = now()
        from folded j
       where ep.id = any(${endpointIds}::text[]) and ep.id = j.id
      returning 1
    ), next_job as (
      -- (A scalar subquery under WHERE: add_jobs is not called at all when no retry is due.)
      select (select count(*) from graphile_worker.add_jobs(array(
                select row('deliver', json_build_object('deliveryId', delivery_id, 'tenantId', tenant_id, 'endpointId', endpoint_id, 'attempt', attempt + 1),
                           null, next_attempt_at, ${deliverJobMaxAttempts}::int, null, null, null)::graphile_worker.job_spec
                  from recorded
                 where next_attempt_at is not null))) as jobs
       where exists (select 1 from recorded where next_attempt_at is not null)
    )
    select (select count(*) from delivery) as recorded, (select count(*) from attempt) as attempts,
           (select count(*) from endpoint) as endpoints, (select jobs from next_job) as scheduled`;
}

/** PostgreSQL text cannot hold NUL, which a binary reply may contain. */
function storable(text: string): string {
  return text.includes('\u0000') ? text.replaceAll('\u0000', '\uFFFD') : text;
}

function formatDuration(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000} days`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} hours`;
  if (ms % 1000 === 0) return `${ms / 1000} seconds`;
  return `${ms} ms`;
}
