// Delivery jobs in graphile-worker's queue. Jobs are added with SQL inside the caller's
// transaction, so a delivery row and its job commit (or vanish) together.
import { sql, type SQL } from 'drizzle-orm';

/**
 * The payload of a `deliver` job: which delivery, whose, to which endpoint, and which attempt it is
 * to make. The endpoint is there so fairness can place the job before it loads anything; it is
 * null for a one-off `url` delivery, and absent from jobs queued by releases before it was added
 * (those still run; see `fairnessKeyOf`).
 */
export interface DeliverJob {
  deliveryId: string;
  tenantId: string;
  endpointId?: string | null;
  attempt: number;
}

/**
 * The endpoint a job counts against in fairness: its endpoint, or, for a one-off `url` delivery
 * (and a job written before jobs named their endpoint), a bucket of its own.
 */
export function fairnessKeyOf(job: DeliverJob): string {
  return job.endpointId ? job.endpointId : `delivery:${job.deliveryId}`;
}

declare global {
  namespace GraphileWorker {
    interface Tasks {
      deliver: DeliverJob;
    }
  }
}

/** graphile-worker's own retries are a safety net only (e.g. the database was down while recording). */
export const deliverJobMaxAttempts = 10;

/** One statement adding a `deliver` job per entry (a fan-out of 1,000 is still one round trip). */
export function addDeliverJobsSql(jobs: readonly DeliverJob[], runAt?: Date): SQL {
  const payloads = JSON.stringify(jobs);
  return sql`select count(*) from graphile_worker.add_jobs(
    (select array_agg(row('deliver', job, null, ${runAt ?? null}::timestamptz, ${deliverJobMaxAttempts}, null, null, null)::graphile_worker.job_spec)
       from json_array_elements(${payloads}::json) as job)
  )`;
}
