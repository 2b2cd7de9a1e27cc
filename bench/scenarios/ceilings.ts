// Ceilings: what the two halves of a delivery can do alone on this machine, in this run.
//   jobs  — graphile-worker draining no-op jobs with the worker settings hookline uses;
//   posts — a POST loop through hookline's own HTTP client (server/delivery/http.ts) to the same
//           receiver the scenarios use, as many in flight as the worker's concurrency;
//   combined = 1 / (1/jobs + 1/posts): each delivery pays both, so this is the most a delivery
//   pipeline built from these parts could do if it added nothing of its own.
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { run, type WorkerEvents } from 'graphile-worker';
import postgres from 'postgres';
import { createWebhookHttpClient } from '../../server/delivery/http.js';
import { loadConfig, type ReadyConfig } from '../../server/env.js';
import { createLogger } from '../../server/logger.js';
import { graphileLogger } from '../../server/worker/graphile-logger.js';
import { envInt, now, sleep } from '../lib/clock.js';
import { describeCpu, startCpuMeter } from '../lib/cpu.js';
import { benchPayload, productEnv } from '../lib/hookline.js';
import { startReceiver } from '../lib/receiver.js';
import type { Figure, ScenarioResult } from '../lib/report.js';
import type { Ceilings, Scenario } from '../lib/scenario.js';
import { perSecond } from '../lib/stats.js';
import { describeWorkerSettings, workerRunnerSettings } from '../../server/worker/settings.js';

const ADD_JOBS_CHUNK = 10_000;

/** Queues `count` no-op jobs, runs graphile-worker until the queue is empty; jobs/s. */
async function drainNoopJobs(url: string, config: ReadyConfig, count: number, localQueue: boolean) {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    for (let from = 1; from <= count; from += ADD_JOBS_CHUNK) {
      const to = Math.min(count, from + ADD_JOBS_CHUNK - 1);
      await sql`select count(*) from graphile_worker.add_jobs(array(
        select row('noop', json_build_object('n', g), null, null, 10, null, null, null)::graphile_worker.job_spec
          from generate_series(${from}::int, ${to}::int) as g))`;
    }
    let completed = 0;
    let firstStartAt: number | null = null;
    const events: WorkerEvents = new EventEmitter();
    events.on('job:start', () => {
      firstStartAt ??= now();
    });
    events.on('job:complete', () => {
      completed++;
    });
    const runner = await run({
      connectionString: url,
      ...workerRunnerSettings(config, { localQueue }),
      events,
      logger: graphileLogger(createLogger('warn')),
      taskList: { noop: async () => {} },
    });
    try {
      const deadline = Date.now() + 300_000;
      // The task's completion is sent without waiting; the drain ends when the rows are gone.
      while (true) {
        if (Date.now() > deadline) throw new Error(`no-op drain did not finish in 300 s (${completed}/${count})`);
        if (completed >= count) {
          const [row] = await sql<{ n: number }[]>`select count(*)::int as n from graphile_worker._private_jobs`;
          if (row!.n === 0) break;
        }
        await sleep(completed >= count ? 2 : 20);
      }
      const ms = now() - firstStartAt!;
      return { count, ms, perSecond: perSecond(count, ms) };
    } finally {
      await runner.stop();
    }
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** `count` POSTs through hookline's client with `inFlight` at a time; POST/s. */
async function postLoop(config: ReadyConfig, url: string, count: number, inFlight: number) {
  const http = createWebhookHttpClient({ policy: config.urlPolicy, timeoutMs: config.timeoutMs });
  const body = JSON.stringify(benchPayload(0));
  const headers = {
    'content-type': 'application/json',
    'user-agent': 'hookline/bench',
    'webhook-id': 'evt_ceiling',
    'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
    'webhook-signature': `v1,${randomBytes(32).toString('base64')}`,
    'webhook-attempt': '1',
  };
  try {
    const loop = async (total: number) => {
      let next = 0;
      let failures = 0;
      const startedAt = now();
      await Promise.all(
        Array.from({ length: inFlight }, async () => {
          while (next < total) {
            next++;
            const result = await http.post(`${url}/ceiling`, { headers, body });
            if (result.kind !== 'response' || result.status !== 200) failures++;
          }
        }),
      );
      return { ms: now() - startedAt, failures };
    };
    await loop(Math.min(1000, count)); // warm-up: connections, JIT
    const { ms, failures } = await loop(count);
    return { count, ms, perSecond: perSecond(count, ms), failures };
  } finally {
    await http.close();
  }
}

export const ceilingsScenario: Scenario = {
  name: 'ceilings',
  title: 'what graphile-worker and the HTTP client do alone (same run, same settings)',
  needsCeilings: false,
  async run(context): Promise<ScenarioResult> {
    const jobCount = envInt('BENCH_CEILING_JOBS', 20_000);
    const postCount = envInt('BENCH_CEILING_POSTS', 20_000);
    const database = await context.server.fresh('ceilings');
    const keys = { admin: `hk_admin_${randomBytes(24).toString('base64url')}`, encryption: randomBytes(32).toString('base64') };
    const config = loadConfig(productEnv(database.url, keys)) as ReadyConfig;
    const receiver = await startReceiver({ mode: 'ok' });
    try {
      context.log(`ceilings: draining ${jobCount} no-op jobs with hookline's worker settings`);
      const meter1 = startCpuMeter();
      const jobs = await drainNoopJobs(database.url, config, jobCount, true);
      const cpuJobs = meter1.stop();
      context.log(`ceilings: draining ${jobCount} no-op jobs without localQueue (otherwise the same)`);
      const jobsNoBatch = await drainNoopJobs(database.url, config, jobCount, false);
      context.log(`ceilings: ${postCount} POSTs through server/delivery/http.ts`);
      const meter2 = startCpuMeter();
      const posts = await postLoop(config, receiver.urls[0]!, postCount, config.workerConcurrency);
      const cpuPosts = meter2.stop();
      const combined = 1 / (1 / jobs.perSecond + 1 / posts.perSecond);
      const ceilings: Ceilings = { jobsPerSecond: jobs.perSecond, postsPerSecond: posts.perSecond, combinedPerSecond: combined };
      context.ceilings = ceilings;

      const figures: Figure[] = [
        {
          name: 'graphile-worker no-op jobs/s (hookline settings)',
          value: jobs.perSecond,
          unit: 'jobs/s',
          note: `${jobCount} jobs in ${Math.round(jobs.ms)} ms`,
        },
        {
          name: 'graphile-worker no-op jobs/s without localQueue',
          value: jobsNoBatch.perSecond,
          unit: 'jobs/s',
          note: 'for reference, otherwise the same settings',
        },
        {
          name: 'POST/s, hookline HTTP client → receiver',
          value: posts.perSecond,
          unit: 'POST/s',
          note: `${postCount} POSTs, ${config.workerConcurrency} in flight, ${posts.failures} failed`,
        },
        { name: 'combined ceiling 1/(1/jobs + 1/posts)', value: combined, unit: 'deliveries/s' },
      ];
      return {
        scenario: 'ceilings',
        title: ceilingsScenario.title,
        context: [
          `worker settings (server/worker/settings.ts, as the product runs): ${describeWorkerSettings(config)}`,
          `jobs: in the bench process, no-op task, ${jobCount} pre-queued, timed from first job start to empty queue`,
          `posts: bench process → receiver child process over loopback, keep-alive, body ${JSON.stringify(benchPayload(0)).length} bytes`,
          `PostgreSQL ${context.server.version} ${context.server.kind}: ${context.server.durability}`,
          `jobs (incl. queueing): ${describeCpu(cpuJobs)}`,
          `posts: ${describeCpu(cpuPosts)}`,
        ],
        figures,
        details: { ceilings, jobs, jobsNoBatch, posts, cpu: { jobs: cpuJobs, posts: cpuPosts } },
      };
    } finally {
      await receiver.close();
      await database.drop();
    }
  },
};
