// Queues pending deliveries straight into the database, in bulk: the same rows sendEvent would
// write (an event, one delivery per event, one `deliver` job per delivery) made with
// generate_series and graphile_worker.add_jobs in chunks. Used to build a backlog quickly and to
// time the worker alone, without the sending side.
import type postgres from 'postgres';
import { deliverJobPayload, deliverJobSpec } from '../../db/sql/jobs.js';
import { BENCH_EVENT_TYPE, benchPayload, type BenchTenant } from './hookline.js';

/** The bench payload as a SQL template; `__N__` becomes the sequence number. */
const PAYLOAD_TEMPLATE = JSON.stringify({ ...benchPayload(0), sequence: '__N__' }).replace('"__N__"', '__N__');

/** The job of delivery `g`, as the fan-out writes it (the values come from the parameters row `p`). */
const JOB_SPEC = deliverJobSpec({
  payload: deliverJobPayload({
    deliveryId: `'dlv_' || p.label || '_' || lpad(g::text, 10, '0')`,
    tenantId: 'p.tenant_ids[1 + g % p.n]',
    endpointId: 'p.endpoint_ids[1 + g % p.n]',
    attempt: '1',
  }),
});

/**
 * Queues deliveries `from`..`to` (inclusive), round-robin over the tenants' first endpoints.
 * Ids carry `label` so several batches can share a database. Returns the time taken.
 */
export async function queueDeliveriesBySql(
  sql: postgres.Sql,
  spec: { tenants: readonly BenchTenant[]; label: string; from: number; to: number; chunk?: number; onProgress?: (done: number) => void },
): Promise<number> {
  const started = performance.now();
  const tenantIds = spec.tenants.map((t) => t.id);
  const endpointIds = spec.tenants.map((t) => t.endpointIds[0]!);
  const n = tenantIds.length;
  const chunk = spec.chunk ?? 50_000;
  for (let from = spec.from; from <= spec.to; from += chunk) {
    const to = Math.min(spec.to, from + chunk - 1);
    await sql.begin(async (tx) => {
      await tx`
        insert into events (id, tenant_id, type, payload)
        select 'evt_' || ${spec.label} || '_' || lpad(g::text, 10, '0'), (${tenantIds}::text[])[1 + g % ${n}],
               ${BENCH_EVENT_TYPE}, replace(${PAYLOAD_TEMPLATE}, '__N__', g::text)
          from generate_series(${from}::int, ${to}::int) as g`;
      await tx`
        insert into deliveries (id, tenant_id, event_id, endpoint_id)
        select 'dlv_' || ${spec.label} || '_' || lpad(g::text, 10, '0'), (${tenantIds}::text[])[1 + g % ${n}],
               'evt_' || ${spec.label} || '_' || lpad(g::text, 10, '0'), (${endpointIds}::text[])[1 + g % ${n}]
          from generate_series(${from}::int, ${to}::int) as g`;
      await tx`
        select count(*) from graphile_worker.add_jobs(array(
          select ${tx.unsafe(JOB_SPEC)}
            from generate_series(${from}::int, ${to}::int) as g,
                 (select ${spec.label}::text as label, ${tenantIds}::text[] as tenant_ids,
                         ${endpointIds}::text[] as endpoint_ids, ${n}::int as n) as p))`;
    });
    spec.onProgress?.(to - spec.from + 1);
  }
  return performance.now() - started;
}
