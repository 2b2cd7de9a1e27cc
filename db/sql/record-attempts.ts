// The record statement: attempts and their consequences written in ONE statement — the attempt
// rows, each delivery's new state, its endpoint's health, and the next job when a retry is due.
// Attempts that finish while earlier ones are being written come here together (group commit,
// server/batcher.ts via server/delivery/record.ts): one round trip and one commit for the lot,
// atomic. Everything is conditional on the delivery still expecting that attempt, so a duplicate
// run of a job (after crash recovery) records nothing twice.
//
// The endpoint health fold in SQL. Its rules, and their TypeScript twin `foldEndpointHealth`, are
// in server/endpoints/health.ts; test/endpoint-health.test.ts runs both on the same attempts.
import type postgres from 'postgres';
import { deliverJobPayload, deliverJobSpec } from './jobs.js';
import type { attempts, deliveries } from '../schema.js';
import {
  deliveryExhaustedBodySql,
  endpointDisabledBodySql,
  OPERATOR_TENANT_ID,
  OPERATIONAL_JOB_SPEC,
  type OperationalTarget,
} from './operational-events.js';

type DeliveryRow = typeof deliveries.$inferSelect;
type AttemptRow = typeof attempts.$inferSelect;

/** What an attempt says about its endpoint: nothing (no request made), a success, a failure. */
export type AttemptHealth = 'none' | 'success' | 'failure';

/** One attempt to write. */
export interface AttemptWrite {
  deliveryId: DeliveryRow['id'];
  tenantId: DeliveryRow['tenantId'];
  /** Null for a one-off `url` delivery (no endpoint health to keep). */
  endpointId: DeliveryRow['endpointId'];
  /** The attempt's number: written only while the delivery's attempt count is one less. */
  number: AttemptRow['number'];
  /** The delivery's state after this attempt; a retry's job runs at `nextAttemptAt`. */
  delivery: Pick<DeliveryRow, 'status' | 'attemptCount' | 'nextAttemptAt' | 'lastError'>;
  /** The attempts row; null when no request was made (the endpoint is disabled). */
  sent: Pick<AttemptRow, 'id' | 'startedAt' | 'statusCode' | 'error' | 'errorMessage' | 'durationMs' | 'responseBody'> | null;
  health: AttemptHealth;
  /** Disable the endpoint at once, for this reason (a 410). */
  disableReason: string | null;
}

/** The endpoint health rules the statement applies (decided in server/endpoints/health.ts). */
export interface HealthFoldRules {
  /** HOOKLINE_DISABLE_AFTER: a failure run this old disables its endpoint; 0 never. */
  disableAfterMs: number;
  /** ... and only once the run has this many failures. */
  minFailures: number;
  /** A success on a healthy endpoint refreshes its row at most this often. */
  successRefreshMs: number;
  /** `disabled_reason` for a run failing too long: PostgreSQL format(), `%s` the failure count. */
  tooLongReasonFormat: string;
}

export interface RecordAttemptsParams {
  /** In the order they finished: the endpoint health folds them in this order. */
  attempts: readonly AttemptWrite[];
  rules: HealthFoldRules;
  /**
   * Where operational events go (null: nowhere): an endpoint this statement disables emits
   * `endpoint.disabled`, a delivery it fails for good after a request `delivery.exhausted` (not one
   * failed because its endpoint is disabled, and not an operational delivery itself). Needs two
   * ids of each kind per attempt.
   */
  operational?: OperationalTarget | null;
}

export interface RecordAttemptsResult {
  /** Deliveries moved (attempts still expected); the others were duplicates or stale. */
  recorded: number;
  attempts: number;
  endpoints: number;
  scheduled: number;
  /** Operational events written. */
  operational: number;
}

/** One attempt as the statement reads it (json_to_recordset). `ord` is its place in the batch. */
function toInputRow(a: AttemptWrite, ord: number) {
  return {
    ord,
    delivery_id: a.deliveryId,
    tenant_id: a.tenantId,
    endpoint_id: a.endpointId,
    attempt: a.number,
    attempt_count: a.delivery.attemptCount,
    status: a.delivery.status,
    next_attempt_at: a.delivery.nextAttemptAt?.toISOString() ?? null,
    last_error: a.delivery.lastError,
    sent: a.sent !== null,
    attempt_id: a.sent?.id ?? null,
    started_at: a.sent?.startedAt.toISOString() ?? null,
    status_code: a.sent?.statusCode ?? null,
    error: a.sent?.error ?? null,
    error_message: a.sent?.errorMessage ?? null,
    duration_ms: a.sent?.durationMs ?? 0,
    response_body: a.sent?.responseBody ?? null,
    health: a.health,
    disable_reason: a.disableReason,
  };
}

/**
 * The statement. The endpoint's health folds the batch's attempts to it in order: the last success
 * resets the failure count, and the failures after it count from there; a 410 disables it. A
 * success on an already healthy endpoint refreshes its row at most once a second, so one busy
 * endpoint's attempts do not queue on its row lock. Endpoint rows are locked in id order, so two
 * batches touching the same endpoints cannot deadlock.
 */
export async function recordAttempts(
  sql: postgres.Sql | postgres.TransactionSql,
  { attempts, rules, operational }: RecordAttemptsParams,
): Promise<RecordAttemptsResult> {
  const rows = attempts.map(toInputRow);
  // Every row of a growing table is reached through its key (`= any(...)`), whatever plan a
  // prepared statement was given while the tables were small.
  const deliveryIds = rows.map((r) => r.delivery_id);
  const endpointIds = [...new Set(rows.flatMap((r) => (r.endpoint_id ? [r.endpoint_id] : [])))];
  const { disableAfterMs, minFailures, successRefreshMs, tooLongReasonFormat } = rules;
  const operatorUrl = operational?.url ?? null;
  const operationalEventIds = operational?.eventIds ?? [];
  const operationalDeliveryIds = operational?.deliveryIds ?? [];
  // Only when operational events are configured: without them the statement stays as lean as before.
  const operationalSteps = operational
    ? sql`
    ), operational as (
      -- Operational events (db/sql/operational-events.ts), numbered to take the ids given.
      select row_number() over ()::int as n, type, body from (
        select 'endpoint.disabled' as type, ${sql.unsafe(endpointDisabledBodySql('e'))} as body
          from endpoint e
         where e.disabled and not e.was_disabled
        union all
        select 'delivery.exhausted', ${sql.unsafe(deliveryExhaustedBodySql('r'))}
          from recorded r
         -- Not for a delivery failed without a request (its endpoint is disabled) nor for the one
         -- whose answer disabled it (a 410): the endpoint.disabled says it. Never for an
         -- operational delivery (no event about events).
         where r.status = 'failed' and r.sent and r.disable_reason is null and r.tenant_id <> ${OPERATOR_TENANT_ID}
      ) as caused
       where ${operatorUrl}::text is not null and exists (select 1 from tenants where id = ${OPERATOR_TENANT_ID})
    ), operational_event as (
      insert into events (id, tenant_id, type, payload, url)
      select (${operationalEventIds}::text[])[n], ${OPERATOR_TENANT_ID}, type, body, ${operatorUrl} from operational
      returning id
    ), operational_delivery as (
      insert into deliveries (id, tenant_id, event_id, endpoint_id)
      select (${operationalDeliveryIds}::text[])[n], ${OPERATOR_TENANT_ID}, (${operationalEventIds}::text[])[n], null from operational
      returning id, tenant_id
    ), operational_job as (
      select count(*) as jobs from graphile_worker.add_jobs(array(
        select ${sql.unsafe(OPERATIONAL_JOB_SPEC)}
          from operational_delivery))
       where exists (select 1 from operational)`
    : sql``;
  const [result] = await sql<RecordAttemptsResult[]>`
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
      returning i.ord, d.event_id
    ), recorded as (
      select i.*, delivery.event_id from input i join delivery using (ord)
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
      select ep.id, h.disable_reason, ep.disabled as was_disabled,
             case when h.succeeded then now() else ep.last_success_at end as last_success_at,
             case when h.succeeded then h.ending_failures else ep.failures_since_success + h.ending_failures end as failures_since_success,
             case when h.succeeded then case when h.ending_failures > 0 then now() end
                  when h.ending_failures > 0 then coalesce(ep.first_failure_at, now())
                  else ep.first_failure_at end as first_failure_at,
             -- Judged as attempts one at a time would be: the continuing run disables the endpoint
             -- at its first failure past the threshold, even if a success follows in the batch (a run
             -- begun within this statement has not lasted any time yet).
             h.continuing_failures > 0 and ${disableAfterMs > 0}
               and ep.failures_since_success + h.continuing_failures >= ${minFailures}
               and coalesce(ep.first_failure_at, now()) <= now() - ${disableAfterMs} * interval '1 millisecond' as too_long_failing,
             greatest(ep.failures_since_success + 1, ${minFailures}) as failures_when_disabled
        from endpoints ep
        join health h on h.endpoint_id = ep.id
       where ep.id = any(${endpointIds}::text[])
         and not (h.only_successes and ep.failures_since_success = 0
                  and coalesce(ep.last_success_at > now() - ${successRefreshMs} * interval '1 millisecond', false))
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
               when j.too_long_failing then format(${tooLongReasonFormat}::text, j.failures_when_disabled)
               else null end,
             disabled_at = case
               when ep.disabled then ep.disabled_at
               when j.disable_reason is not null or j.too_long_failing then now()
               else null end,
             updated_at = now()
        from folded j
       where ep.id = any(${endpointIds}::text[]) and ep.id = j.id
      returning ep.id, ep.tenant_id, ep.url, ep.disabled, ep.disabled_reason, ep.disabled_at, j.was_disabled
${operationalSteps}
    ), next_job as (
      -- (A scalar subquery under WHERE: add_jobs is not called at all when no retry is due.)
      select (select count(*) from graphile_worker.add_jobs(array(
                select ${sql.unsafe(RETRY_JOB_SPEC)}
                  from recorded
                 where next_attempt_at is not null))) as jobs
       where exists (select 1 from recorded where next_attempt_at is not null)
    )
    select (select count(*) from delivery)::int as recorded, (select count(*) from attempt)::int as attempts,
           (select count(*) from endpoint)::int as endpoints, coalesce((select jobs from next_job), 0)::int as scheduled,
           ${operational ? sql`coalesce((select jobs from operational_job), 0)` : sql`0`}::int as operational`;
  return result!;
}

/** The job of a recorded attempt's retry: the next attempt, at its next_attempt_at. */
const RETRY_JOB_SPEC = deliverJobSpec({
  payload: deliverJobPayload({ deliveryId: 'delivery_id', tenantId: 'tenant_id', endpointId: 'endpoint_id', attempt: 'attempt + 1' }),
  runAt: 'next_attempt_at',
});
