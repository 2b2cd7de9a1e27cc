// Fairness with its faults injected for real (PostgreSQL, graphile-worker, loopback receivers):
// hanging endpoints beside a healthy one in the same tenant, a backlog to a 100 ms endpoint from a
// fresh worker and across a worker restart, a job written by the previous release, and the SQL of
// stepping aside and coming back.
import { afterEach, describe, expect, it } from 'vitest';
import { createStepAsideQueue } from '../server/delivery/step-aside.js';
import { sendEvent } from '../server/events/send.js';
import type { TestApp } from './helpers/app.js';
import { cleanupTracker, settledDelivery } from './helpers/fixtures.js';

const cleanup = cleanupTracker();
afterEach(() => cleanup.runAll());

const app = (env: Record<string, string> = {}) => cleanup.app({ env });
const receiver = cleanup.receiver;
const worker = (a: TestApp) => cleanup.worker(a, { pollIntervalMs: 200 });

async function tenantWith(a: TestApp, urls: string[]) {
  await a.admin.eventTypes.upsert.mutate({ name: 'job.completed' });
  const { tenant, apiKey } = await a.admin.tenants.create.mutate({ name: 'Fair' });
  const endpointIds: string[] = [];
  for (const url of urls) endpointIds.push((await a.client(apiKey).endpoints.create.mutate({ url })).endpoint.id);
  return { tenantId: tenant.id, endpointIds };
}

/** Queues `n` events (one delivery each to a one-endpoint tenant) while no worker runs. */
async function queueBacklog(a: TestApp, tenantId: string, n: number, label: string) {
  for (let i = 0; i < n; i += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, n - i) }, (_, j) =>
        sendEvent(a.deps, tenantId, { type: 'job.completed', payload: { label, i: i + j } }),
      ),
    );
  }
}

/** Deliveries per second between the first and the last request (each answered 100 ms later). */
function drainRate(requests: Array<{ receivedAt: number }>): number {
  const first = requests[0]!.receivedAt;
  const last = requests[requests.length - 1]!.receivedAt + 100;
  return (requests.length * 1000) / (last - first);
}

describe('fairness between the endpoints of one tenant', () => {
  it("a tenant's hanging endpoints do not hold back its healthy endpoint", async () => {
    // 10 delivery slots, 5 for the tenant. Four endpoints accept and never answer (each attempt
    // holds its slot for the 3 s timeout); every event goes to all five endpoints.
    const a = await app({ HOOKLINE_WORKER_CONCURRENCY: '10', HOOKLINE_TIMEOUT: '3s', HOOKLINE_RETRY_SCHEDULE: '' });
    const blackHole = await receiver(() => ({ hang: true }));
    const healthy = await receiver();
    const { tenantId } = await tenantWith(a, [`${healthy.url}/ok`, ...[1, 2, 3, 4].map((i) => `${blackHole.url}/hang/${i}`)]);
    await worker(a);

    const sentAt = new Map<string, number>();
    for (let i = 0; i < 10; i++) {
      const started = Date.now();
      const { event } = await sendEvent(a.deps, tenantId, { type: 'job.completed', payload: { i } });
      sentAt.set(event.id, started);
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, 200 - (Date.now() - started))));
    }
    const received = await healthy.waitFor(10, { timeoutMs: 20_000 });
    const inOrder = [...sentAt].map(([id, at]) => received.find((r) => r.headers['webhook-id'] === id)!.receivedAt - at);
    console.log(`healthy endpoint beside 4 hanging ones: latencies in send order ${inOrder.join(', ')} ms`);
    const latencies = inOrder.sort((x, y) => x - y);
    // Before endpoint fairness the hanging endpoints filled the tenant's five slots after the
    // second event, and the healthy endpoint's deliveries waited for the 3 s timeouts.
    expect(latencies[latencies.length - 1]).toBeLessThan(1500);
    expect(latencies[Math.floor(latencies.length / 2)]).toBeLessThan(500);
  }, 40_000);
});

describe('a slow endpoint gets the throughput its slots allow', () => {
  it('drains a backlog to a 100 ms endpoint at ≥ 0.6 × slots ÷ 100 ms, from a fresh worker and across a restart', async () => {
    // 20 delivery slots, 10 for the tenant: up to 100 deliveries/s to a 100 ms endpoint.
    const a = await app({ HOOKLINE_WORKER_CONCURRENCY: '20' });
    const slow = await receiver(() => ({ delayMs: 100 }));
    const { tenantId } = await tenantWith(a, [`${slow.url}/slow`]);
    const backlog = 300;

    const jobIds = async () =>
      Number(
        (
          await a.deps.sql<
            { n: string }[]
          >`select coalesce(pg_sequence_last_value(pg_get_serial_sequence('graphile_worker._private_jobs', 'id')), 0)::text as n`
        )[0]!.n,
      );
    await queueBacklog(a, tenantId, backlog, 'fresh');
    const queued = await jobIds();
    const first = await worker(a);
    const fresh = await slow.waitFor(backlog, { timeoutMs: 20_000 });
    const freshRate = drainRate(fresh);
    await first.stop();
    const steppedAside = (await jobIds()) - queued;

    // The same backlog again; the worker stops a second into it and a new one takes over.
    await queueBacklog(a, tenantId, backlog, 'restart');
    const before = await worker(a);
    await slow.waitFor(backlog + 50, { timeoutMs: 10_000 });
    await before.stop();
    const [ahead] = await a.deps.sql<{ jobs: number; later: number }[]>`
      select count(*)::int as jobs, (count(*) filter (where run_at > now() + interval '1 second'))::int as later
        from graphile_worker._private_jobs`;
    const done = slow.requests.length;
    await worker(a);
    const all = await slow.waitFor(2 * backlog, { timeoutMs: 20_000 });
    const afterRate = drainRate(all.slice(done));
    console.log(
      `100 ms endpoint, 10 slots: fresh ${freshRate.toFixed(0)}/s (${steppedAside} jobs stepped aside); restart after ${done - backlog}: ` +
        `${ahead!.later} of ${ahead!.jobs} jobs more than 1 s ahead, then ${afterRate.toFixed(0)}/s`,
    );
    expect(freshRate).toBeGreaterThanOrEqual(60);
    expect(ahead!.later).toBe(0);
    expect(afterRate).toBeGreaterThanOrEqual(60);
  }, 90_000);
});

describe('deliver jobs across releases', () => {
  it('names the endpoint in the jobs it writes', async () => {
    const a = await app();
    const r = await receiver();
    const { tenantId, endpointIds } = await tenantWith(a, [`${r.url}/new`]);
    const sent = await sendEvent(a.deps, tenantId, { type: 'job.completed', payload: { n: 1 } });
    const [job] = await a.deps.sql<{ payload: unknown }[]>`select payload from graphile_worker._private_jobs`;
    expect(job!.payload).toEqual({ deliveryId: sent.deliveries[0]!.id, tenantId, endpointId: endpointIds[0], attempt: 1 });
  });

  it('a job written by the previous release is delivered by this one', async () => {
    const a = await app();
    const r = await receiver();
    const { tenantId } = await tenantWith(a, [`${r.url}/old`]);
    const sent = await sendEvent(a.deps, tenantId, { type: 'job.completed', payload: { old: true } });
    const deliveryId = sent.deliveries[0]!.id;
    // The job as the previous release wrote it: {deliveryId, tenantId, attempt}, no endpointId.
    await a.deps.sql`delete from graphile_worker._private_jobs`;
    await a.deps
      .sql`select graphile_worker.add_job('deliver', json_build_object('deliveryId', ${deliveryId}::text, 'tenantId', ${tenantId}::text, 'attempt', 1))`;
    await worker(a);
    const [request] = await r.waitFor(1);
    expect(request!.headers['webhook-id']).toBe(sent.event.id);
    expect(await settledDelivery(a, deliveryId)).toEqual({ status: 'succeeded', attemptCount: 1, lastError: null });
  });
});

describe('stepping aside (SQL)', () => {
  it('a job steps aside to a later time at its own priority, and comes back to its old place in the queue', async () => {
    const a = await app();
    const queue = createStepAsideQueue(a.deps.sql);
    const original = new Date(Date.now() - 60_000);
    const later = new Date(Date.now() + 10_000);
    const job = { deliveryId: 'dlv_x', tenantId: 'tnt_x', endpointId: 'ep_x', attempt: 2 };
    const [id, other] = await Promise.all([
      queue.stepAside({ job, priority: 3, runAt: later }),
      queue.stepAside({ job: { ...job, deliveryId: 'dlv_y' }, priority: 0, runAt: later }),
    ]);
    const rowOf = async (jobId: string) =>
      (
        await a.deps.sql<{ payload: unknown; priority: number; run_at: number }[]>`
        select payload, priority, (extract(epoch from run_at) * 1000)::float8 as run_at
          from graphile_worker._private_jobs where id = ${jobId}::bigint`
      )[0]!;
    expect(await rowOf(id)).toEqual({ payload: job, priority: 3, run_at: later.getTime() });
    expect((await rowOf(other)).payload).toMatchObject({ deliveryId: 'dlv_y' });

    await queue.bringBack({ id, runAt: original });
    expect((await rowOf(id)).run_at).toBe(original.getTime());
    expect((await rowOf(other)).run_at).toBe(later.getTime());
  });
});
