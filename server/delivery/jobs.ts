// Delivery jobs in graphile-worker's queue: the task's payload type, registered with
// graphile-worker, and how fairness counts a job. The job rows themselves are written by
// db/sql/jobs.ts (the one place that spells them); its exports are re-exported here for the
// delivery modules that import them from './jobs.js'.
import type { DeliverJob } from '../../db/sql/jobs.js';

export {
  addDeliverJobs,
  addDeliverJobsSql,
  DELIVER_JOB_MAX_ATTEMPTS,
  deliverJobPayload,
  deliverJobSpec,
  type DeliverJob,
} from '../../db/sql/jobs.js';

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
