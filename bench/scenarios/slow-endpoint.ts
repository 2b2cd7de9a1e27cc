// A slow endpoint's backlog (issue 13, problem 2): one tenant, one endpoint answering 100 ms after
// the request arrives, BENCH_SLOW_BACKLOG (4,000) deliveries queued by SQL with no worker running.
// A fresh worker drains them; the figure is deliveries/s against what the tenant's slots allow
// (slots ÷ response time). Then the same backlog again, with the worker stopped (SIGTERM's path)
// 2 s into the drain and a new worker started: how far ahead jobs were scheduled at the restart,
// and the rate of the rest of the drain.
import { envInt, now, sleep } from '../lib/clock.js';
import { createTenants, startHookline } from '../lib/hookline.js';
import { queueDeliveriesBySql } from '../lib/queue.js';
import { startReceiver } from '../lib/receiver.js';
import type { Figure, ScenarioResult } from '../lib/report.js';
import { layoutLines, type Scenario } from '../lib/scenario.js';
import { perSecond } from '../lib/stats.js';
import { tenantSlots } from '../../server/worker/settings.js';

export const slowEndpointScenario: Scenario = {
  name: 'slow-endpoint',
  title: 'one 100 ms endpoint: backlog drain rate, and across a worker restart',
  needsCeilings: false,
  async run(context): Promise<ScenarioResult> {
    const backlog = envInt('BENCH_SLOW_BACKLOG', 4000);
    const responseMs = envInt('BENCH_SLOW_RESPONSE_MS', 100);
    const restartAfterMs = 2000;
    const database = await context.server.fresh('slow');
    const receiver = await startReceiver({ mode: 'slow', delayMs: responseMs });
    const hookline = await startHookline(database);
    try {
      const tenants = await createTenants(hookline, {
        label: 'slow',
        tenants: 1,
        endpointsPerTenant: 1,
        urlFor: () => `${receiver.urls[0]}/slow`,
      });
      const sql = hookline.workerRuntime.deps.sql;
      const slots = tenantSlots(hookline.config);
      const allowed = (slots * 1000) / responseMs;
      const timeout = 120_000;

      // 1. A fresh worker drains the backlog.
      await queueDeliveriesBySql(sql, { tenants, label: 'fresh', from: 1, to: backlog });
      context.log(`slow-endpoint: draining ${backlog} deliveries to a ${responseMs} ms endpoint`);
      const startedAt = now();
      const first = await hookline.startWorker();
      await sleep(1000);
      const inFirstSecond = first.attempts.total;
      await first.attempts.waitFor(backlog, timeout);
      const drainRate = perSecond(backlog, first.attempts.lastAt! - startedAt);
      await first.stop();

      // 2. The same again, with a restart 2 s in.
      await queueDeliveriesBySql(sql, { tenants, label: 'restart', from: 1, to: backlog });
      context.log(`slow-endpoint: draining ${backlog} more, restarting the worker after ${restartAfterMs} ms`);
      const before = await hookline.startWorker();
      await sleep(restartAfterMs);
      await before.stop();
      const doneBefore = before.attempts.total;
      const [ahead] = await sql<{ jobs: number; later: number; max_ahead_ms: number | null }[]>`
        select count(*)::int as jobs,
               (count(*) filter (where run_at > now() + interval '2 seconds'))::int as later,
               (extract(epoch from max(run_at) - now()) * 1000)::float as max_ahead_ms
          from graphile_worker._private_jobs`;
      const restartedAt = now();
      const after = await hookline.startWorker();
      const rest = backlog - doneBefore;
      await after.attempts.waitFor(rest, timeout);
      const afterRate = perSecond(rest, after.attempts.lastAt! - restartedAt);
      await after.stop();

      const maxAheadS = Math.max(0, (ahead!.max_ahead_ms ?? 0) / 1000);
      const figures: Figure[] = [
        {
          name: 'drain rate, fresh worker',
          value: drainRate,
          unit: 'deliveries/s',
          goal: { op: '>=', target: 0.6 * allowed },
          note: `slots allow ${Math.round(allowed)}/s`,
        },
        {
          name: 'deliveries in the first second',
          value: inFirstSecond,
          unit: 'deliveries',
          note: `of ${Math.round(allowed)} the slots allow`,
        },
        {
          name: 'jobs scheduled > 2 s ahead at the restart',
          value: ahead!.later,
          unit: `of ${ahead!.jobs}`,
          note: `furthest ${maxAheadS.toFixed(1)} s ahead`,
        },
        {
          name: 'drain rate after the restart',
          value: afterRate,
          unit: 'deliveries/s',
          goal: { op: '>=', target: 0.6 * allowed },
          note: `${rest} deliveries left at the restart`,
        },
      ];
      return {
        scenario: 'slow-endpoint',
        title: slowEndpointScenario.title,
        context: [
          `1 tenant, 1 endpoint answering ${responseMs} ms after the request; ${backlog} deliveries queued by SQL; the tenant's slots: ${slots} ` +
            `(so up to ${Math.round(allowed)}/s); rates from the new worker's start to its last recorded attempt`,
          `restart: worker stopped gracefully ${restartAfterMs} ms into the second drain (${doneBefore} done), a new worker started at once`,
          ...layoutLines(context, hookline),
        ],
        figures,
        details: { backlog, responseMs, slots, drainRate, inFirstSecond, doneBefore, ahead, afterRate },
      };
    } finally {
      await hookline.close();
      await receiver.close();
      await database.drop();
    }
  },
};
