// The delivery worker process: a graphile-worker runner over hookline's tasks.
import { run, type Runner, type TaskList } from 'graphile-worker';
import type { AppDeps } from '../deps.js';
import { graphileLogger } from './graphile-logger.js';

export interface Worker {
  stop(): Promise<void>;
}

export async function startWorker(deps: AppDeps, taskList: TaskList): Promise<Worker> {
  const runner: Runner = await run({
    connectionString: deps.config.databaseUrl,
    concurrency: deps.config.workerConcurrency,
    taskList,
    noHandleSignals: true,
    logger: graphileLogger(deps.logger),
  });
  return {
    async stop() {
      await runner.stop();
    },
  };
}
