// Backlog: does a deep queue slow the worker down or blow up its memory? The same worker drains
// a shallow queue (BENCH_EVENTS, default 20,000) and then a deep one (BENCH_BACKLOG, default
// 200,000 — the issue's 1,000,000 takes ~12 min to drain on this 2-core machine; run it with
// BENCH_BACKLOG=1000000), both queued in bulk by SQL while no worker runs, 10 tenants × 1
// endpoint. The worker is `hookline worker` in its own process, as deployed, so its RSS is the
// worker's alone. Throughput = deliveries / (last attempt recorded − first attempt started).
import { describeCpu } from '../lib/cpu.js';
import { envInt } from '../lib/clock.js';
import { drainWithWorkerProcess } from '../lib/drain.js';
import { createTenants, startHookline, type BenchTenant } from '../lib/hookline.js';
import { queueDeliveriesBySql } from '../lib/queue.js';
import { startReceiver } from '../lib/receiver.js';
import type { Figure, ScenarioResult } from '../lib/report.js';
import type { Scenario } from '../lib/scenario.js';
import { describeWorkerSettings } from '../../server/worker/settings.js';

export const backlogScenario: Scenario = {
  name: 'backlog',
  title: 'draining a deep queue vs a shallow one',
  needsCeilings: false,
  async run(context): Promise<ScenarioResult> {
    const shallow = envInt('BENCH_EVENTS', 20_000);
    const deep = envInt('BENCH_BACKLOG', 200_000);
    const database = await context.server.fresh('backlog');
    const receiver = await startReceiver({ mode: 'ok' });
    const hookline = await startHookline(database);
    try {
      const tenants: BenchTenant[] = await createTenants(hookline, {
        label: 'backlog',
        tenants: 10,
        endpointsPerTenant: 1,
        urlFor: (t) => `${receiver.urls[0]}/tenant-${t}`,
      });
      const sql = hookline.workerRuntime.deps.sql;

      context.log(`backlog: shallow queue — ${shallow} deliveries`);
      const shallowQueueMs = await queueDeliveriesBySql(sql, { tenants, label: 'shallow', from: 1, to: shallow });
      const shallowRun = await drainWithWorkerProcess(hookline, receiver, 'shallow', shallow);

      context.log(`backlog: queueing ${deep} deliveries`);
      let lastLog = Date.now();
      const deepQueueMs = await queueDeliveriesBySql(sql, {
        tenants,
        label: 'deep',
        from: 1,
        to: deep,
        onProgress: (done) => {
          if (Date.now() - lastLog > 10_000) {
            context.log(`backlog: ${done} of ${deep} queued`);
            lastLog = Date.now();
          }
        },
      });
      await sql`vacuum analyze deliveries, events, graphile_worker._private_jobs`;
      context.log(`backlog: draining ${deep} deliveries`);
      const deepRun = await drainWithWorkerProcess(hookline, receiver, 'deep', deep);

      const [check] = await sql<{ succeeded: number; pending: number; jobs: number }[]>`
        select (select count(*)::int from deliveries where status = 'succeeded') as succeeded,
               (select count(*)::int from deliveries where status = 'pending') as pending,
               (select count(*)::int from graphile_worker._private_jobs where task_id =
                  (select id from graphile_worker._private_tasks where identifier = 'deliver')) as jobs`;
      const ratio = deepRun.perSecond / shallowRun.perSecond;
      const figures: Figure[] = [
        {
          name: `drain rate, shallow queue (${shallow.toLocaleString('en-US')})`,
          value: shallowRun.perSecond,
          unit: 'deliveries/s',
          note: `${Math.round(shallowRun.ms)} ms`,
        },
        {
          name: `drain rate, deep queue (${deep.toLocaleString('en-US')})`,
          value: deepRun.perSecond,
          unit: 'deliveries/s',
          note: `${Math.round(deepRun.ms / 1000)} s; queued in ${Math.round(deepQueueMs / 1000)} s`,
        },
        { name: 'deep / shallow', value: ratio, unit: '×', goal: { op: '>=', target: 0.8 } },
        {
          name: 'worker process RSS, peak during deep drain',
          value: deepRun.rssPeakMB,
          unit: 'MB',
          goal: { op: '<', target: 256 },
          note: `${Math.round(deepRun.rssFirstMB)} MB at start; shallow drain peak ${Math.round(shallowRun.rssPeakMB)} MB`,
        },
      ];
      return {
        scenario: 'backlog',
        title: backlogScenario.title,
        context: [
          `queue sizes: shallow ${shallow}, deep ${deep} (BENCH_BACKLOG; the issue asks for 1,000,000), queued by SQL (events, deliveries, add_jobs in 50,000-row chunks) with no worker running`,
          `worker: \`hookline worker\` as a child process (server/bin/hookline.js, the product's env: ${describeWorkerSettings(hookline.config)}); ` +
            `rate = deliveries / (last attempt recorded − first attempt started), from the attempt rows`,
          `RSS = VmRSS of that worker process (nothing else runs in it), sampled every 250 ms; the receiver is another process`,
          `PostgreSQL ${context.server.version} ${context.server.kind}: ${context.server.durability}`,
          `shallow: ${describeCpu(shallowRun.cpu)}`,
          `deep: ${describeCpu(deepRun.cpu)}`,
          `checks: ${
            check!.pending === 0 && check!.succeeded === shallow + deep && shallowRun.exitCode === 0 && deepRun.exitCode === 0
              ? `all ${shallow + deep} deliveries succeeded, queue empty, worker exited 0 on SIGTERM both times`
              : `succeeded ${check!.succeeded}, pending ${check!.pending}, jobs left ${check!.jobs}, worker exit codes ${shallowRun.exitCode}/${deepRun.exitCode}`
          }`,
        ],
        figures,
        details: { shallow: { queueMs: shallowQueueMs, ...shallowRun }, deep: { queueMs: deepQueueMs, ...deepRun }, database: check },
      };
    } finally {
      await hookline.close();
      await receiver.close();
      await database.drop();
    }
  },
};
