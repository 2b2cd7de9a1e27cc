// The pg pool a graphile-worker runner works on, owned by hookline rather than by graphile-worker.
//
// graphile-worker 0.17 makes its own pool when given a connection string, and when the runner
// stops it removes that pool's error listener before ending it: an idle connection that PostgreSQL
// terminates meanwhile (a restart, a failover — exactly when a runner stops by itself) then emits
// 'error' with nobody listening, and Node ends the process. This pool keeps its listeners for as
// long as the process lives; the runner's supervisor ends it when the runner is done with it.
import pg from 'pg';
import type { Logger } from '../logger.js';

export function createRunnerPool(connectionString: string, max: number, logger: Logger): pg.Pool {
  const pool = new pg.Pool({ connectionString, max });
  // pg removes a connection that failed from the pool by itself; these only keep the failure from
  // being an unhandled 'error' event, on idle (pool) and checked-out (client) connections alike.
  pool.on('error', (error) => logger.warn({ err: error }, 'an idle job-runner database connection failed'));
  pool.on('connect', (client) => {
    client.on('error', (error) => logger.warn({ err: error }, 'a job-runner database connection failed'));
  });
  return pool;
}
