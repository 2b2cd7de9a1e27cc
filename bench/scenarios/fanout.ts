// Fan-out: one event to a tenant with 1,000 endpoints. Enqueue time = sendEvent (the event, 1,000
// deliveries and 1,000 jobs committed); then the time until the receiver has all 1,000 POSTs, and
// until all 1,000 attempts are recorded. Repeated (median and worst reported) after a warm-up.
// Then the same with a payload filter on every endpoint (one that every event matches, so the work
// after enqueue is the same): the enqueue time with 1,000 filters judged in the fan-out statement.
import { sendEvent } from '../../server/events/send.js';
import { describeCpu, startCpuMeter } from '../lib/cpu.js';
import { envInt, now, sleep } from '../lib/clock.js';
import { BENCH_EVENT_TYPE, benchPayload, createTenants, startHookline } from '../lib/hookline.js';
import { startReceiver } from '../lib/receiver.js';
import type { Figure, ScenarioResult } from '../lib/report.js';
import { layoutLines, type Scenario } from '../lib/scenario.js';
import { median } from '../lib/stats.js';

const FILTER = {
  status: { $in: ['completed', 'failed'] },
  'result.durationSeconds': { $gt: 0 },
  'metadata.region': { $startsWith: 'eu-' },
};

export const fanoutScenario: Scenario = {
  name: 'fanout',
  title: 'one event to 1,000 endpoints',
  needsCeilings: false,
  async run(context): Promise<ScenarioResult> {
    const endpoints = envInt('BENCH_FANOUT_ENDPOINTS', 1000);
    const repeats = envInt('BENCH_FANOUT_REPEATS', 5);
    const database = await context.server.fresh('fanout');
    const receiver = await startReceiver({ mode: 'ok' });
    const hookline = await startHookline(database);
    try {
      context.log(`fanout: registering ${endpoints} endpoints`);
      const [tenant] = await createTenants(hookline, {
        label: 'fanout',
        tenants: 1,
        endpointsPerTenant: endpoints,
        urlFor: (_t, e) => `${receiver.urls[0]}/endpoint-${e}`,
      });
      const api = hookline.apiRuntime.deps;
      const worker = await hookline.startWorker();

      const fanOutOnce = async (n: number) => {
        const received = (await receiver.stats()).count;
        const recorded = worker.attempts.total;
        const startedAt = now();
        const { deliveries } = await sendEvent(api, tenant!.id, { type: BENCH_EVENT_TYPE, payload: benchPayload(n) });
        const enqueuedAt = now();
        if (deliveries.length !== endpoints) throw new Error(`fan-out made ${deliveries.length} deliveries, expected ${endpoints}`);
        const last = await receiver.waitForCount(received + endpoints, 60_000);
        await worker.attempts.waitFor(recorded + endpoints, 60_000);
        return {
          enqueueMs: enqueuedAt - startedAt,
          allReceivedMs: last.lastAt! - startedAt,
          allRecordedMs: worker.attempts.lastAt! - startedAt,
        };
      };

      context.log('fanout: warm-up fan-out');
      const warmup = await fanOutOnce(0);
      await sleep(1000);
      const runs: Array<Awaited<ReturnType<typeof fanOutOnce>>> = [];
      const cpu = startCpuMeter();
      for (let i = 1; i <= repeats; i++) {
        context.log(`fanout: run ${i} of ${repeats}`);
        runs.push(await fanOutOnce(i));
        await sleep(1000); // the worker idles between fan-outs, as between real events
      }
      const usage = cpu.stop();

      // Every endpoint gets a filter of three conditions that the bench payload meets.
      await api.sql`update endpoints set filter = ${JSON.stringify(FILTER)}::jsonb where tenant_id = ${tenant!.id}`;
      await fanOutOnce(repeats + 1);
      await sleep(1000);
      const filtered: Array<Awaited<ReturnType<typeof fanOutOnce>>> = [];
      for (let i = 1; i <= repeats; i++) {
        context.log(`fanout: run ${i} of ${repeats} with a payload filter on every endpoint`);
        filtered.push(await fanOutOnce(repeats + 1 + i));
        await sleep(1000);
      }
      await worker.stop();

      const enqueue = runs.map((r) => r.enqueueMs);
      const received = runs.map((r) => r.allReceivedMs);
      const recorded = runs.map((r) => r.allRecordedMs);
      const enqueueFiltered = filtered.map((r) => r.enqueueMs);
      const list = (values: number[]) => values.map((v) => Math.round(v)).join(', ');
      const figures: Figure[] = [
        {
          name: `enqueue (sendEvent → ${endpoints} jobs committed), median`,
          value: median(enqueue),
          unit: 'ms',
          goal: { op: '<=', target: 100 },
          note: `runs: ${list(enqueue)} ms`,
        },
        { name: 'enqueue, worst run', value: Math.max(...enqueue), unit: 'ms' },
        {
          name: `until all ${endpoints} received, median`,
          value: median(received),
          unit: 'ms',
          goal: { op: '<=', target: 2000 },
          note: `runs: ${list(received)} ms`,
        },
        { name: 'until all received, worst run', value: Math.max(...received), unit: 'ms' },
        { name: 'until all attempts recorded, median', value: median(recorded), unit: 'ms', note: `runs: ${list(recorded)} ms` },
        {
          name: `enqueue with a payload filter on each of the ${endpoints} endpoints, median`,
          value: median(enqueueFiltered),
          unit: 'ms',
          goal: { op: '<=', target: 100 },
          note: `runs: ${list(enqueueFiltered)} ms; filter ${JSON.stringify(FILTER)}`,
        },
      ];
      return {
        scenario: 'fanout',
        title: fanoutScenario.title,
        context: [
          `1 tenant × ${endpoints} endpoints (one receiver origin, a path per endpoint); ${repeats} fan-outs, 1 s apart, after one warm-up ` +
            `(warm-up: enqueue ${Math.round(warmup.enqueueMs)} ms, all received ${Math.round(warmup.allReceivedMs)} ms)`,
          `times from the start of sendEvent; fairness caps one tenant at half the worker's concurrency`,
          ...layoutLines(context, hookline),
          describeCpu(usage),
        ],
        figures,
        details: { endpoints, repeats, warmup, runs, filtered, cpu: usage },
      };
    } finally {
      await hookline.close();
      await receiver.close();
      await database.drop();
    }
  },
};
