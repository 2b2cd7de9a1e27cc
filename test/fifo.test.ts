// FIFO endpoints (`ordering: "fifo"`, db/sql/fifo.ts) on real PostgreSQL, real graphile-worker and
// real loopback receivers: one attempt at a time in event-id order with several workers of many
// slots; a failing head holds back the later ones, a final failure lets the next go, a manual retry
// and a recover go to the back of the line; a worker killed mid-attempt (SIGKILL) keeps order and
// at-least-once; the stranded sweeper gives waiting deliveries no job; endpoints that are not FIFO
// are unchanged; the API's rules (tRPC and REST).
import { afterEach, describe, expect, it } from 'vitest';
import { sendEvent } from '../server/events/send.js';
import { createStrandedSweeper } from '../server/worker/stranded-sweeper.js';
import type { WorkerOptions } from '../server/worker/worker.js';
import type { TestApp } from './helpers/app.js';
import { codeOf } from './helpers/errors.js';
import { cleanupTracker, settledDelivery, tenantWithEndpoint } from './helpers/fixtures.js';
import { processEnv, type HooklineProcess } from './helpers/processes.js';
import { eventually, type ReceivedRequest, type Reply } from './helpers/receiver.js';

const cleanup = cleanupTracker();
afterEach(() => cleanup.runAll());

/** Fast retries (four attempts in all), and liveness quick enough for the crash test. */
const ENV = {
  HOOKLINE_RETRY_SCHEDULE: '100ms,100ms,100ms',
  HOOKLINE_WORKER_CONCURRENCY: '8',
  HOOKLINE_WORKER_HEARTBEAT: '200ms',
  HOOKLINE_WORKER_DEAD_AFTER: '1500ms',
};

async function app(): Promise<TestApp> {
  const a = await cleanup.app({ env: ENV });
  await a.admin.eventTypes.upsert.mutate({ name: 'job.completed' });
  return a;
}

/** An in-process worker; its stranded sweeper at its most eager (a waiting delivery it took for stranded would get a job). */
async function worker(a: TestApp, options: WorkerOptions = {}) {
  const w = await a.composed.startWorker({ pollIntervalMs: 200, sweeper: { intervalMs: 100, graceMs: 0 }, ...options });
  cleanup.defer(() => w.stop());
  return w;
}

/** A `hookline worker` child process of the app's deployment. */
function workerProcess(a: TestApp): HooklineProcess {
  return cleanup.hookline(['worker'], processEnv(a.config, { ...ENV, HOOKLINE_SWEEP_INTERVAL: '200ms' }));
}

/**
 * A receiver that counts the requests it has open at once (the most, and per event id), answering
 * each by `answer` (default 200 after 20 ms).
 */
async function countingReceiver(answer: (request: ReceivedRequest, index: number) => Reply = () => ({ delayMs: 20 })) {
  let open = 0;
  const seen = { mostOpen: 0 };
  const r = await cleanup.receiver((request, index) => {
    open++;
    seen.mostOpen = Math.max(seen.mostOpen, open);
    const reply = answer(request, index);
    const done = reply.until ?? new Promise((resolve) => setTimeout(resolve, reply.delayMs ?? 0));
    return { ...reply, delayMs: 0, until: done.finally(() => open--) };
  });
  return Object.assign(r, {
    seen,
    /** The event ids in the order their requests arrived. */
    ids: () => r.requests.map((q) => String(q.headers['webhook-id'])),
  });
}

/** Sends `n` events (their ids ascending, as events.list orders them); returns their ids and deliveries. */
async function send(a: TestApp, tenantId: string, n: number, from = 0) {
  const sent = await Promise.all(
    Array.from({ length: n }, (_, i) => sendEvent(a.deps, tenantId, { type: 'job.completed', payload: { i: from + i } })),
  );
  return sent.map((s) => ({ eventId: s.event.id, deliveryId: s.deliveries[0]!.id }));
}

function sorted(ids: string[]): string[] {
  return [...ids].sort();
}

/** The ids with consecutive repeats collapsed (an attempt made again after a crash, or a retry). */
function runs(ids: string[]): string[] {
  return ids.filter((id, i) => id !== ids[i - 1]);
}

describe('FIFO endpoints', () => {
  it('two workers of eight slots attempt one at a time, in event-id order, one job each; an endpoint that is not FIFO is unchanged', async () => {
    const a = await app();
    const fifo = await countingReceiver();
    const parallel = await countingReceiver(() => ({ delayMs: 100 }));
    const { tenantId, client, endpoint } = await tenantWithEndpoint(a, `${fifo.url}/fifo`, { ordering: 'fifo' });
    const other = await client.endpoints.create.mutate({ url: `${parallel.url}/parallel` });
    expect(other.endpoint.ordering).toBe('none');
    // The FIFO endpoint's pending deliveries that have a job, sampled all along: only the head, ever.
    // (The job of a head just finished is deleted once its task returns, after the next one's is
    // added; a job stepping aside for a slot is added again before the old one is deleted.)
    let mostJobs = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const [row] = await a.deps.sql<{ n: number }[]>`
          select count(distinct d.id)::int as n from graphile_worker._private_jobs j
            join deliveries d on d.id = j.payload->>'deliveryId'
           where j.payload->>'endpointId' = ${endpoint.id} and d.status = 'pending'`;
        mostJobs = Math.max(mostJobs, row!.n);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();
    const n = 40;
    const sent = [...(await send(a, tenantId, n / 2)), ...(await send(a, tenantId, n / 2, n / 2))];
    await worker(a);
    await worker(a);
    // More sent while the line is moving.
    sent.push(...(await send(a, tenantId, 10, n)));

    await fifo.waitFor(sent.length, { timeoutMs: 30_000 });
    await parallel.waitFor(sent.length, { timeoutMs: 30_000 });
    expect(fifo.ids()).toEqual(sorted(sent.map((s) => s.eventId)));
    expect(fifo.seen.mostOpen).toBe(1);
    // The endpoint beside it is not held to one at a time.
    expect(parallel.seen.mostOpen).toBeGreaterThan(1);
    // The waiting ones got no job, from the sweeper or anyone.
    await eventually(async () => (await a.deps.sql`select 1 from deliveries where status = 'pending'`).length === 0, 10_000);
    sampling = false;
    await sampler;
    expect(mostJobs).toBe(1);
    expect((await a.deps.sql`select 1 from fifo_line`).length).toBe(0);
  }, 60_000);

  it('sends that keep arriving while the line empties and refills never leave it without a head', async () => {
    const a = await app();
    const r = await countingReceiver(() => ({}));
    const { tenantId } = await tenantWithEndpoint(a, `${r.url}/fifo`, { ordering: 'fifo' });
    await worker(a);
    const sent: Array<{ eventId: string; deliveryId: string }> = [];
    for (let round = 0; round < 60; round++) {
      sent.push(...(await send(a, tenantId, 1 + (round % 3), round * 3)));
      await new Promise((resolve) => setTimeout(resolve, round % 4));
    }
    await r.waitFor(sent.length, { timeoutMs: 20_000 });
    await eventually(async () => (await a.deps.sql`select 1 from deliveries where status = 'pending'`).length === 0, 10_000);
    // (Each round's sends commit before the next round starts: their order is event-id order.)
    expect(r.ids()).toEqual(sent.map((s) => s.eventId));
    expect(r.seen.mostOpen).toBe(1);
    const [head] = await a.deps.sql<{ delivery_id: string | null }[]>`select delivery_id from fifo_heads`;
    expect(head!.delivery_id).toBeNull();
  }, 60_000);

  it('a failing head holds back the later ones, then order resumes; a final failure lets the next go', async () => {
    const a = await app();
    let failingId = '';
    let alwaysFailingId = '';
    let failures = 0;
    const r = await countingReceiver((request) => {
      const id = String(request.headers['webhook-id']);
      if (id === failingId && failures++ < 2) return { status: 500 };
      if (id === alwaysFailingId) return { status: 503 };
      return { delayMs: 10 };
    });
    const { tenantId } = await tenantWithEndpoint(a, `${r.url}/fifo`, { ordering: 'fifo' });
    const sent = await send(a, tenantId, 6);
    failingId = sent[1]!.eventId;
    alwaysFailingId = sent[3]!.eventId;
    await worker(a);

    await r.waitFor(6 + 2 + 3, { timeoutMs: 20_000 });
    const ids = sent.map((s) => s.eventId);
    // e1, e2 ×3 (two 500s, then 200), e3, e4 ×4 (failed for good), e5, e6.
    expect(r.ids()).toEqual([ids[0], ids[1], ids[1], ids[1], ids[2], ids[3], ids[3], ids[3], ids[3], ids[4], ids[5]]);
    expect(r.seen.mostOpen).toBe(1);
    expect(await settledDelivery(a, sent[3]!.deliveryId)).toMatchObject({ status: 'failed', attemptCount: 4 });
    expect(await settledDelivery(a, sent[1]!.deliveryId)).toMatchObject({ status: 'succeeded', attemptCount: 3 });
  }, 60_000);

  it('a manual retry and a recover go to the back of the line', async () => {
    const a = await app();
    const holds = new Map<number, () => void>();
    /** Requests for the event with payload { i } stay open until release(i). */
    const hold = (i: number) => holds.set(i, () => {});
    const release = (i: number) => holds.get(i)!();
    let failingId = '';
    const r = await countingReceiver((request) => {
      const id = String(request.headers['webhook-id']);
      if (id === failingId) return { status: 500 };
      const { i } = JSON.parse(request.body) as { i: number };
      if (holds.has(i)) return { until: new Promise<void>((resolve) => holds.set(i, resolve)) };
      return { delayMs: 10 };
    });
    const { tenantId, client } = await tenantWithEndpoint(a, `${r.url}/fifo`, { ordering: 'fifo' });
    hold(1);
    const first = await send(a, tenantId, 2);
    failingId = first[0]!.eventId;
    await worker(a);
    // e1 fails for good; e2 is being attempted (held open) while e3, e4 wait.
    await settledDelivery(a, first[0]!.deliveryId);
    await r.waitFor(5);
    const later = await send(a, tenantId, 2, 2);
    failingId = '';
    // e1 waits behind e3 and e4 now; e2 is being attempted, e3 waits: a retry of e3 is refused.
    const retried = await client.deliveries.retry.mutate({ deliveryId: first[0]!.deliveryId });
    expect(retried.status).toBe('pending');
    expect(await codeOf(client.deliveries.retry.mutate({ deliveryId: later[0]!.deliveryId }))).toBe('BAD_REQUEST');
    release(1);
    await r.waitFor(4 + 1 + 2 + 1);
    const ids = [...first, ...later].map((s) => s.eventId);
    expect(runs(r.ids())).toEqual([ids[0], ids[1], ids[2], ids[3], ids[0]]);
    expect(await settledDelivery(a, first[0]!.deliveryId)).toMatchObject({ status: 'succeeded', attemptCount: 5 });

    // endpoints.recover: a failed delivery (e3, marked failed here) goes to the back too, behind
    // e5 (being attempted) and e6 (waiting), though its event came before theirs.
    const endpointId = (await client.endpoints.list.query({})).items[0]!.id;
    await settledDelivery(a, later[1]!.deliveryId);
    await a.deps.sql`update deliveries set status = 'failed' where id = ${later[0]!.deliveryId}`;
    hold(10);
    const fifth = await send(a, tenantId, 1, 10);
    await r.waitFor(9);
    const sixth = await send(a, tenantId, 1, 11);
    const recovered = await client.endpoints.recover.mutate({ endpointId, since: new Date(Date.now() - 60_000).toISOString() });
    expect(recovered.requeued).toBe(1);
    release(10);
    await r.waitFor(11);
    expect(r.ids().slice(-3)).toEqual([fifth[0]!.eventId, sixth[0]!.eventId, later[0]!.eventId]);
    expect(r.seen.mostOpen).toBe(1);
  }, 60_000);

  it('FIFO through a failing delivery and a worker crash: order and at-least-once kept', async () => {
    const a = await app();
    let holdId = '';
    let failingId = '';
    let failures = 0;
    const r = await countingReceiver((request) => {
      const id = String(request.headers['webhook-id']);
      if (id === failingId && failures++ < 2) return { status: 500 };
      // The first attempt of the held event never ends: its worker is killed meanwhile.
      if (id === holdId && r.requests.filter((q) => String(q.headers['webhook-id']) === id).length === 1) return { hang: true };
      return { delayMs: 10 };
    });
    const { tenantId } = await tenantWithEndpoint(a, `${r.url}/fifo`, { ordering: 'fifo' });
    const sent = await send(a, tenantId, 10);
    failingId = sent[1]!.eventId;
    holdId = sent[4]!.eventId;
    const ids = sent.map((s) => s.eventId);

    const first = workerProcess(a);
    await first.waitForOutput('worker started');
    // e1, e2 twice failed then succeeded, e3, e4, then e5 hangs.
    await r.waitFor(1 + 3 + 2 + 1, { timeoutMs: 20_000 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(r.requests).toHaveLength(7);
    await first.kill('SIGKILL');

    const second = workerProcess(a);
    await second.waitForOutput('worker started');
    await r.waitFor(7 + 6, { timeoutMs: 30_000 });
    await eventually(async () => (await a.deps.sql`select 1 from deliveries where status = 'pending'`).length === 0, 10_000);
    // e5 was attempted again (at-least-once), and nothing after it went before it.
    expect(runs(r.ids())).toEqual(ids);
    expect(r.ids().filter((id) => id === holdId)).toHaveLength(2);
    // At most one open at a time, but for the request the dead worker left hanging.
    expect(r.seen.mostOpen).toBeLessThanOrEqual(2);
    expect(await second.kill('SIGTERM')).toBe(0);
  }, 90_000);

  it('a line whose head finished while its worker died before advancing it is advanced by the stranded sweeper', async () => {
    const a = await app();
    const r = await countingReceiver();
    const { tenantId } = await tenantWithEndpoint(a, `${r.url}/fifo`, { ordering: 'fifo' });
    const sent = await send(a, tenantId, 3);
    // As a worker leaves it when it dies between recording the head's success and advancing: the
    // head finished, its job gone, the next delivery without one.
    await a.deps.sql`delete from graphile_worker._private_jobs where payload->>'deliveryId' = ${sent[0]!.deliveryId}`;
    await a.deps.sql`update deliveries set status = 'succeeded', attempt_count = 1 where id = ${sent[0]!.deliveryId}`;
    const sweeper = createStrandedSweeper(a.deps, { graceMs: 0 });
    expect(await sweeper.sweep()).toMatchObject({ requeued: 0, linesAdvanced: 1 });
    expect(await sweeper.sweep()).toMatchObject({ requeued: 0, linesAdvanced: 0 });
    await worker(a);
    await r.waitFor(2);
    await settledDelivery(a, sent[2]!.deliveryId);
    expect(r.ids()).toEqual([sent[1]!.eventId, sent[2]!.eventId]);
  });

  it('ordering is a field of create, update, get and list (tRPC and REST); anything else is BAD_REQUEST', async () => {
    const a = await app();
    const { client, apiKey, endpoint } = await tenantWithEndpoint(a, 'http://127.0.0.1:9/x');
    expect(endpoint.ordering).toBe('none');
    const endpointId = endpoint.id;
    expect((await client.endpoints.update.mutate({ endpointId, ordering: 'fifo' })).ordering).toBe('fifo');
    expect((await client.endpoints.get.query({ endpointId })).ordering).toBe('fifo');
    expect((await client.endpoints.list.query({})).items[0]!.ordering).toBe('fifo');
    for (const bad of ['lifo', 'FIFO', '', 1, null] as unknown as Array<'fifo'>) {
      expect(await codeOf(client.endpoints.update.mutate({ endpointId, ordering: bad }))).toBe('BAD_REQUEST');
      expect(await codeOf(client.endpoints.create.mutate({ url: 'http://127.0.0.1:9/y', ordering: bad }))).toBe('BAD_REQUEST');
    }
    const created = await client.endpoints.create.mutate({ url: 'http://127.0.0.1:9/z', ordering: 'fifo' });
    expect(created.endpoint.ordering).toBe('fifo');

    const patch = (body: unknown) =>
      fetch(`${a.url}/api/v1/endpoints/${endpointId}`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const ok = await patch({ ordering: 'none' });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { ordering: string }).ordering).toBe('none');
    expect((await patch({ ordering: 'lifo' })).status).toBe(400);
    const document = (await (await fetch(`${a.url}/api/v1/openapi.json`)).json()) as {
      components: { schemas: { Endpoint: { properties: object } } };
    };
    expect(document.components.schemas.Endpoint.properties).toHaveProperty('ordering');
  });
});
