// Records an attempt and its consequences in one statement (atomic, one round trip): the attempt
// row, the delivery's new state, the endpoint's health, and the next job when a retry is due.
// Everything is conditional on the delivery still expecting this attempt, so a duplicate run of a
// job (after crash recovery) records nothing twice.
import { newId } from '../../shared/ids.js';
import type { AppDeps } from '../deps.js';
import type { PostResult } from './http.js';
import { deliverJobMaxAttempts } from './jobs.js';
import type { DeliveryToSend } from './load.js';
import type { Outcome } from './outcome.js';

const maxResponseBodyChars = 1024;
/** Automatic disabling also needs this many failed attempts since the last success. */
export const minFailuresBeforeDisable = 10;

export async function recordAttempt(
  deps: AppDeps,
  delivery: DeliveryToSend,
  attempt: number,
  sent: { startedAt: Date; result: PostResult } | null,
  outcome: Outcome,
): Promise<void> {
  const result = sent?.result;
  const status = outcome.kind === 'succeeded' ? 'succeeded' : outcome.kind === 'failed' ? 'failed' : 'pending';
  // Raw SQL takes timestamps as ISO strings: Drizzle replaces the driver's Date serializer.
  const nextAttemptAt = outcome.kind === 'retry' ? new Date(Date.now() + outcome.delayMs).toISOString() : null;
  const lastError = outcome.kind === 'succeeded' ? null : outcome.reason;
  const health = !sent ? 'none' : outcome.kind === 'succeeded' ? 'success' : 'failure';
  const disableReason = outcome.kind === 'failed' ? (outcome.disableEndpoint ?? null) : null;
  const nextJob = nextAttemptAt
    ? JSON.stringify({ deliveryId: delivery.id, tenantId: delivery.tenantId, attempt: attempt + 1 })
    : null;

  // Evaluated against the endpoint row being updated, so concurrent attempts count correctly.
  // HOOKLINE_DISABLE_AFTER=0 turns automatic disabling off.
  const tooLongFailing = deps.sql`(${health} = 'failure' and ${deps.config.disableAfterMs > 0}
    and ep.failures_since_success + 1 >= ${minFailuresBeforeDisable}
    and coalesce(ep.first_failure_at, now()) <= now() - ${deps.config.disableAfterMs} * interval '1 millisecond')`;

  await deps.sql`
    with delivery as (
      update deliveries
         set status = ${status}, attempt_count = ${sent ? attempt : delivery.attemptCount},
             next_attempt_at = ${nextAttemptAt}::timestamptz, last_error = ${lastError}, updated_at = now()
       where id = ${delivery.id} and status = 'pending' and attempt_count = ${attempt - 1}
      returning id
    ), attempt as (
      insert into attempts (id, delivery_id, tenant_id, number, started_at, status_code, error, error_message, duration_ms, response_body)
      select ${newId('attempt')}, id, ${delivery.tenantId}, ${attempt}, ${sent?.startedAt.toISOString() ?? null}::timestamptz,
             ${result?.kind === 'response' ? result.status : null},
             ${result?.kind === 'error' ? result.error : null},
             ${result?.kind === 'error' ? result.message.slice(0, 1000) : null},
             ${result?.durationMs ?? 0},
             ${result?.kind === 'response' ? result.body.slice(0, maxResponseBodyChars) : null}
        from delivery
       where ${sent !== null}
    ), endpoint as (
      update endpoints as ep
         set last_success_at = case when ${health} = 'success' then now() else ep.last_success_at end,
             failures_since_success = case when ${health} = 'success' then 0 else ep.failures_since_success + 1 end,
             first_failure_at = case when ${health} = 'success' then null else coalesce(ep.first_failure_at, now()) end,
             disabled = ep.disabled or ${disableReason !== null} or ${tooLongFailing},
             disabled_reason = case
               when ep.disabled then ep.disabled_reason
               when ${disableReason !== null} then ${disableReason}
               when ${tooLongFailing} then 'no successful delivery for ' || ${formatDuration(deps.config.disableAfterMs)}
                                           || ' (' || (ep.failures_since_success + 1) || ' failed attempts)'
               else null end,
             disabled_at = case
               when ep.disabled then ep.disabled_at
               when ${disableReason !== null} or ${tooLongFailing} then now()
               else null end,
             updated_at = now()
       where ep.id = ${delivery.endpointId} and ${health} <> 'none' and exists (select 1 from delivery)
         -- A success on a healthy endpoint changes nothing but last_success_at; refreshing that at
         -- most once a second spares a busy endpoint's attempts from queueing on its row lock.
         and not (${health} = 'success' and ep.failures_since_success = 0
                  and coalesce(ep.last_success_at > now() - interval '1 second', false))
      returning ep.id
    ), next_job as (
      select 1 from graphile_worker.add_job('deliver', ${nextJob}::json,
               run_at := ${nextAttemptAt}::timestamptz, max_attempts := ${deliverJobMaxAttempts})
       where ${nextJob}::json is not null and exists (select 1 from delivery)
    )
    select (select count(*) from delivery) as recorded, (select count(*) from next_job) as scheduled`;
}

function formatDuration(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000} days`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} hours`;
  if (ms % 1000 === 0) return `${ms / 1000} seconds`;
  return `${ms} ms`;
}
