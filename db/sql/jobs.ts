// `deliver` jobs in graphile-worker's queue: the ONE place that spells their job row
// (`graphile_worker.job_spec`). Jobs are added with SQL inside the caller's statement or
// transaction, so a delivery row and its job commit (or vanish) together; every statement that adds
// deliver jobs builds its rows with `deliverJobSpec` (and their payload with `deliverJobPayload`).
//
// The builders return SQL text made of the caller's column expressions, so one definition serves
// both drivers: postgres.js statements embed it with `sql.unsafe(...)`, Drizzle ones with
// `sql.raw(...)`. Pass column references and expressions only, never values from input (those go
// in as parameters of the surrounding statement, e.g. inside a json_to_recordset document).
//
// Not a PostgreSQL function: graphile-worker's schema (and its job_spec type) is migrated after
// hookline's own migrations (db/migrate.ts), and the text keeps each statement's plan as it was.
//
// Example, the retry job of record.ts's statement:
//   add_jobs(array(select ${sql.unsafe(deliverJobSpec({
//     payload: deliverJobPayload({ deliveryId: 'delivery_id', tenantId: 'tenant_id', endpointId: 'endpoint_id', attempt: 'attempt + 1' }),
//     runAt: 'next_attempt_at',
//   }))} from recorded where next_attempt_at is not null))
import { sql, type SQL } from 'drizzle-orm';
import type { Executor } from './executor.js';

/**
 * The payload of a `deliver` job: which delivery, whose, to which endpoint, and which attempt it is
 * to make. The endpoint is there so fairness can place the job before it loads anything; it is
 * null for a one-off `url` delivery, and absent from jobs queued by releases before it was added
 * (those still run; see `fairnessKeyOf` in server/delivery/jobs.ts).
 */
export interface DeliverJob {
  deliveryId: string;
  tenantId: string;
  endpointId?: string | null;
  attempt: number;
  /**
   * A rate-limited endpoint's attempt slot this job holds (ISO time, database clock), set when the
   * job was moved to run at it (db/sql/rate-slots.ts); absent otherwise.
   */
  rateSlotAt?: string;
}

/** graphile-worker's own retries are a safety net only (e.g. the database was down while recording). */
export const DELIVER_JOB_MAX_ATTEMPTS = 10;

/** SQL expressions for the parts of a deliver job row that vary. */
export interface DeliverJobColumns {
  /** A json expression: the job's payload (see deliverJobPayload). */
  payload: string;
  /** A timestamptz expression: when it may run; default now (graphile-worker's default). */
  runAt?: string;
  /** An int expression: lower runs first; default 0 (graphile-worker's default). */
  priority?: string;
}

/**
 * One `deliver` job row (`graphile_worker.job_spec`) for `graphile_worker.add_jobs(array[...])`:
 * task `deliver`, the default queue (none: jobs run in parallel), `DELIVER_JOB_MAX_ATTEMPTS`, no job key.
 */
export function deliverJobSpec(columns: DeliverJobColumns): string {
  return (
    `row('deliver', ${columns.payload}, null, ${columns.runAt ?? 'null'}::timestamptz, ${DELIVER_JOB_MAX_ATTEMPTS}::int, ` +
    `null, ${columns.priority ?? 'null'}::int, null)::graphile_worker.job_spec`
  );
}

/** A json expression of a DeliverJob payload, from an SQL expression for each field. */
export function deliverJobPayload(fields: { [K in Exclude<keyof DeliverJob, 'rateSlotAt'>]-?: string }): string {
  return (
    `json_build_object('deliveryId', ${fields.deliveryId}, 'tenantId', ${fields.tenantId}, ` +
    `'endpointId', ${fields.endpointId}, 'attempt', ${fields.attempt})`
  );
}

/**
 * One statement adding a `deliver` job per entry (a fan-out of 1,000 is still one round trip), to
 * run at `runAt` (default now). For Drizzle transactions: `await tx.execute(addDeliverJobsSql(jobs))`.
 */
export function addDeliverJobsSql(jobs: readonly DeliverJob[], runAt?: Date): SQL {
  const payloads = JSON.stringify(jobs);
  // (runAt is a value: it comes in as a parameter, read through a one-row subquery.)
  const spec = sql.raw(deliverJobSpec({ payload: 'job', runAt: 'p.run_at' }));
  return sql`select count(*) from graphile_worker.add_jobs(
    (select array_agg(${spec})
       from json_array_elements(${payloads}::json) as job,
            (select ${runAt?.toISOString() ?? null}::timestamptz as run_at) as p)
  )`;
}

/** Adds a `deliver` job per entry in one statement (see addDeliverJobsSql). */
export async function addDeliverJobs(executor: Executor, params: { jobs: readonly DeliverJob[]; runAt?: Date }): Promise<void> {
  if (params.jobs.length === 0) return;
  await executor.execute(addDeliverJobsSql(params.jobs, params.runAt));
}
