// Operational events: hookline's own events to the operator (HOOKLINE_OPERATOR_WEBHOOK_URL),
// `endpoint.disabled` and `delivery.exhausted`. They travel the tenants' path: an event with a
// one-off `url` (the operator's), a delivery and its job, retried and logged like any other. What
// makes them the operator's is the tenant they are filed under, OPERATOR_TENANT_ID: a row no one
// can sign in as, whose signing secret is the operator's (written by each process at start from
// HOOKLINE_OPERATOR_WEBHOOK_SECRET), so a one-off delivery of it is signed with that secret.
//
// They are written in the same statement or transaction as the change that causes them (the record
// statement for an automatic disable or a delivery that failed for good; the endpoint update for a
// disable by hand), so one is never lost nor sent for a change that rolled back. These builders
// return SQL text over the caller's column names (as db/sql/jobs.ts does): no values from input.
import { sql as drizzleSql, type SQL } from 'drizzle-orm';
import type postgres from 'postgres';
import { deliverJobPayload, deliverJobSpec } from './jobs.js';

/** The tenant operational events are filed under (a valid tenant id, first in id order). */
export const OPERATOR_TENANT_ID = 'tnt_00000000000000000000000000';
const OPERATOR_TENANT_NAME = 'hookline operational events';
// No API key starts with this, and no key hashes to '-': the row cannot be signed in as.
const NO_KEY_PREFIX = 'operator';
const NO_KEY_HASH = '-';

/** Creates the operator's tenant, or gives it the current (sealed) signing secret. */
export async function ensureOperatorTenant(sql: postgres.Sql, sealedSecret: string): Promise<void> {
  await sql`
    insert into tenants (id, name, api_key_prefix, api_key_hash, signing_secret)
    values (${OPERATOR_TENANT_ID}, ${OPERATOR_TENANT_NAME}, ${NO_KEY_PREFIX}, ${NO_KEY_HASH}, ${sealedSecret})
    on conflict (id) do update
      set signing_secret = excluded.signing_secret, previous_signing_secret = null,
          previous_signing_secret_expires_at = null, updated_at = now()`;
}

/** The `endpoint.disabled` body (JSON text) of an endpoints row aliased `ep`. */
export function endpointDisabledBodySql(ep: string): string {
  return (
    `json_build_object('type', 'endpoint.disabled', 'tenantId', ${ep}.tenant_id, 'endpointId', ${ep}.id, ` +
    `'url', ${ep}.url, 'reason', ${ep}.disabled_reason, 'disabledAt', ${ep}.disabled_at)::text`
  );
}

/** The `delivery.exhausted` body (JSON text) from columns of a recorded attempt aliased `r`. */
export function deliveryExhaustedBodySql(r: string): string {
  return (
    `json_build_object('type', 'delivery.exhausted', 'tenantId', ${r}.tenant_id, 'endpointId', ${r}.endpoint_id, ` +
    `'deliveryId', ${r}.delivery_id, 'eventId', ${r}.event_id, 'attempts', ${r}.attempt_count, 'lastError', ${r}.last_error)::text`
  );
}

/** Where operational events go, and fresh ids for the ones a statement may write. */
export interface OperationalTarget {
  url: string;
  /** Ids for the events and their deliveries, in order: a statement writes at most this many. */
  eventIds: string[];
  deliveryIds: string[];
}

/**
 * The event, delivery and job of an `endpoint.disabled` for the endpoint disabled by hand in this
 * transaction (its `disabled_at` is the transaction's `now()`; an endpoint that was already
 * disabled keeps its older time and emits nothing). Runs inside the caller's transaction.
 */
export function emitDisabledByHandSql(target: OperationalTarget, tenantId: string, endpointId: string): SQL {
  const eventId = target.eventIds[0]!;
  const deliveryId = target.deliveryIds[0]!;
  return drizzleSql`
    with disabled as (
      select ep.* from endpoints ep
       where ep.tenant_id = ${tenantId} and ep.id = ${endpointId} and ep.disabled and ep.disabled_at = now()
         and exists (select 1 from tenants where id = ${OPERATOR_TENANT_ID})
    ), event as (
      insert into events (id, tenant_id, type, payload, url)
      select ${eventId}, ${OPERATOR_TENANT_ID}, 'endpoint.disabled', ${drizzleSql.raw(endpointDisabledBodySql('disabled'))}, ${target.url}
        from disabled
      returning id
    ), delivery as (
      insert into deliveries (id, tenant_id, event_id, endpoint_id)
      select ${deliveryId}, ${OPERATOR_TENANT_ID}, id, null from event
      returning id, tenant_id
    )
    select count(*) from graphile_worker.add_jobs(array(
      select ${drizzleSql.raw(OPERATIONAL_JOB_SPEC)}
        from delivery))`;
}

/** The job of an operational event's delivery (a one-off URL: no endpoint), attempt 1, now. */
export const OPERATIONAL_JOB_SPEC = deliverJobSpec({
  payload: deliverJobPayload({ deliveryId: 'id', tenantId: 'tenant_id', endpointId: 'null', attempt: '1' }),
});
