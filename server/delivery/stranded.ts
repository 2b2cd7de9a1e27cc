// Stranded deliveries: the statements that find them and their jobs live in db/sql/stranded.ts
// (re-exported here for the delivery modules that import them from './stranded.js'); the sweeper
// that acts on them is server/worker/stranded-sweeper.ts.
export {
  deleteDeadJobsSql,
  deliveryPageCount,
  findStrandedCandidates,
  jobsForNextAttempt,
  queueIsBehind,
  type DeliveryJobs,
  type Executor,
  type PageRange,
  type StrandedCandidates,
} from '../../db/sql/stranded.js';
