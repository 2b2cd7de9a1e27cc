// Endpoint isolation inside one tenant (issue 13, problem 1): a tenant has 15 endpoints that accept
// the connection and never answer (each attempt waits for HOOKLINE_TIMEOUT) and one healthy
// endpoint; it sends 20 events 200 ms apart, each to all 16. Figure: the healthy endpoint's
// send→receive latency (p50, p90), which the hanging endpoints of its own tenant must not hold back.
import { sendEvent } from '../../server/events/send.js';
import { envInt, now, sleep } from '../lib/clock.js';
import { BENCH_EVENT_TYPE, benchPayload, createTenants, startHookline } from '../lib/hookline.js';
import { describeLatency, joinLatencies } from '../lib/latency.js';
import type { SentEvent } from '../lib/load.js';
import { startReceiver } from '../lib/receiver.js';
import type { Figure, ScenarioResult } from '../lib/report.js';
import { layoutLines, type Scenario } from '../lib/scenario.js';

export const endpointIsolationScenario: Scenario = {
  name: 'endpoint-isolation',
  title: "a tenant's hanging endpoints vs its own healthy endpoint",
  needsCeilings: false,
  async run(context): Promise<ScenarioResult> {
    const hanging = envInt('BENCH_ISOLATION_HANGING', 15);
    const events = envInt('BENCH_ISOLATION_EVENTS', 20);
    const intervalMs = envInt('BENCH_ISOLATION_INTERVAL_MS', 200);
    const database = await context.server.fresh('isolation');
    const healthy = await startReceiver({ mode: 'ok', record: true });
    const blackHole = await startReceiver({ mode: 'hang' });
    const hookline = await startHookline(database);
    try {
      // Endpoint 0 is the healthy one; the others hang.
      const [tenant] = await createTenants(hookline, {
        label: 'isolation',
        tenants: 1,
        endpointsPerTenant: hanging + 1,
        urlFor: (_t, e) => (e === 0 ? `${healthy.urls[0]}/healthy` : `${blackHole.urls[0]}/hanging/${e}`),
      });
      const api = hookline.apiRuntime.deps;
      const worker = await hookline.startWorker();
      const sent: SentEvent[] = [];
      const started = now();
      for (let i = 0; i < events; i++) {
        const intendedAt = started + i * intervalMs;
        await sleep(Math.max(0, intendedAt - now()));
        const sendStart = now();
        const { event } = await sendEvent(api, tenant!.id, { type: BENCH_EVENT_TYPE, payload: benchPayload(i) });
        sent.push({ tenantId: tenant!.id, eventId: event.id, intendedAt, sendMs: now() - sendStart, deliveries: hanging + 1 });
      }
      const waitMs = 3 * hookline.config.timeoutMs + 60_000;
      const complete = await healthy
        .waitForCount(events, waitMs)
        .then(() => true)
        .catch(() => false);
      const report = joinLatencies(sent, await healthy.takeArrivals());
      await blackHole.close();
      await worker.stop();
      const figures: Figure[] = [
        { name: 'healthy endpoint p50', value: report.endToEnd.p50, unit: 'ms' },
        { name: 'healthy endpoint p90', value: report.endToEnd.p90, unit: 'ms', goal: { op: '<=', target: 1000 } },
        { name: 'healthy endpoint max', value: report.endToEnd.max, unit: 'ms' },
        { name: 'healthy deliveries received', value: report.received, unit: `of ${report.sent}` },
      ];
      return {
        scenario: 'endpoint-isolation',
        title: endpointIsolationScenario.title,
        context: [
          `1 tenant: ${hanging} endpoints on a loopback server that accepts and never answers, 1 healthy endpoint; ` +
            `${events} events ${intervalMs} ms apart, each to all ${hanging + 1}; per-attempt timeout ${hookline.config.timeoutMs} ms`,
          `healthy endpoint: ${describeLatency(report)}${complete ? '' : ` — INCOMPLETE within ${waitMs / 1000} s`}`,
          ...layoutLines(context, hookline),
        ],
        figures,
        details: { hanging, events, intervalMs, report },
      };
    } finally {
      await hookline.close();
      await blackHole.close();
      await healthy.close();
      await database.drop();
    }
  },
};
