// Database outages, as an operator meets them: real `hookline serve` and `hookline worker` child
// processes against a PostgreSQL of this file's own (an embedded cluster on a fixed port, so it can
// be stopped and started again where the processes expect it; the cluster the other test files
// share is never touched). Events are sent before, during and after each fault; every acknowledged
// one must arrive (at least once), API calls during the outage must answer 503 SERVICE_UNAVAILABLE
// promptly, deliveries must resume within 10 s of PostgreSQL being back, and the processes must
// live through it. A worker whose job runner cannot be restarted within its window exits 1; `start`
// never gives up. The figures of each fault are printed for the release note.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TRPCClientError } from '@trpc/client';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startEmbeddedPostgres, type EmbeddedDatabase } from '../../db/embedded.js';
import { migrateDatabase } from '../../db/migrate.js';
import type { ReadyConfig } from '../../server/env.js';
import { ensureDatabase } from '../../server/runtime.js';
import { makeClient, testConfig, type Client } from '../helpers/app.js';
import { processEnv, spawnHookline, type HooklineProcess } from '../helpers/processes.js';
import { eventually, startReceiver, type Receiver } from '../helpers/receiver.js';

const dataDir = mkdtempSync(join(tmpdir(), 'hookline-fault-pg-'));
let port: number;
let server: EmbeddedDatabase | undefined;
let config: ReadyConfig;
let admin: postgres.Sql;
let receiver: Receiver;
let serve: HooklineProcess;
let worker: HooklineProcess;
let apiUrl: string;
let workerProbeUrl: string;
let adminClient: Client;
let tenantClient: Client;
let tenantId: string;
const children: HooklineProcess[] = [];

// Short timings, so that the whole file stays within a minute.
const FAST_ENV = {
  HOOKLINE_WORKER_HEARTBEAT: '300ms',
  HOOKLINE_WORKER_DEAD_AFTER: '3s',
  // One tenant sends everything here: a tenant may hold half the slots, and jobs over that step aside
  // for a while (delivery/fairness.ts); enough slots keep that out of the recovery figures.
  HOOKLINE_WORKER_CONCURRENCY: '40',
};

async function startServer(): Promise<void> {
  server = await startEmbeddedPostgres({
    dataDir,
    port,
    // fsync off is safe here: an immediate stop crashes PostgreSQL, not the machine, and the page
    // cache keeps what was written. synchronous_commit stays on: off, a crash loses commits that
    // were already acknowledged, which is exactly what this file checks hookline does not do.
    settings: { fsync: 'off', full_page_writes: 'off', max_connections: '200' },
  });
}

/** `pg_ctl stop -m fast`: sessions are ended, the server shuts down cleanly. */
async function stopServerFast(): Promise<void> {
  await server!.stop();
  server = undefined;
}

/** `pg_ctl stop -m immediate`: the postmaster quits at once, crash recovery at the next start. */
async function stopServerImmediately(): Promise<void> {
  const pid = Number(readFileSync(join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
  process.kill(pid, 'SIGQUIT');
  await eventually(async () => {
    try {
      process.kill(pid, 0);
      return false;
    } catch {
      return true;
    }
  }, 10_000);
  server = undefined;
}

function spawn(args: string[], extra: Record<string, string> = {}): HooklineProcess {
  const child = spawnHookline(args, processEnv(config, { ...FAST_ENV, ...extra }));
  children.push(child);
  return child;
}

async function printedUrl(child: HooklineProcess, prefix: string): Promise<string> {
  const pattern = new RegExp(`${prefix} (http://\\S+)`);
  await child.waitForOutput(pattern);
  return pattern.exec(child.output())![1]!.replace(/\/(trpc|metrics)$/, '');
}

async function readyz(baseUrl: string): Promise<{ status: number; body: { ok: boolean; reason?: string } }> {
  const response = await fetch(`${baseUrl}/readyz`, { signal: AbortSignal.timeout(5_000) });
  return { status: response.status, body: (await response.json()) as { ok: boolean; reason?: string } };
}

beforeAll(async () => {
  port = await freePort();
  await startServer();
  const url = await ensureDatabase(server!.url, 'hookline');
  await migrateDatabase(url);
  config = testConfig(url, { HOOKLINE_RETRY_SCHEDULE: '100ms,200ms,400ms,800ms,1s,1s,1s,1s', HOOKLINE_TIMEOUT: '3s' });
  admin = postgres(url, { max: 1, onnotice: () => {} });
  receiver = await startReceiver();

  serve = spawn(['serve'], { HOOKLINE_PORT: '0' });
  worker = spawn(['worker'], { HOOKLINE_METRICS_PORT: '0' });
  apiUrl = await printedUrl(serve, 'hookline API on');
  workerProbeUrl = await printedUrl(worker, 'hookline metrics on');
  adminClient = makeClient(apiUrl, config.adminKey);
  await adminClient.eventTypes.upsert.mutate({ name: 'job.completed' });
  const created = await adminClient.tenants.create.mutate({ name: 'Outage Co' });
  tenantId = created.tenant.id;
  tenantClient = makeClient(apiUrl, created.apiKey);
  await tenantClient.endpoints.create.mutate({ url: `${receiver.url}/outage` });
}, 60_000);

afterAll(async () => {
  await Promise.all(children.map((child) => child.kill('SIGKILL')));
  // HOOKLINE_FAULT_LOGS=dir keeps every child's output for a post-mortem.
  const logDir = process.env.HOOKLINE_FAULT_LOGS;
  if (logDir) for (const [i, child] of children.entries()) writeFileSync(join(logDir, `child-${i}.log`), child.output());
  await receiver?.close();
  await admin?.end({ timeout: 0.1 });
  if (server) await server.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

interface CallRecord {
  startedAt: number;
  ms: number;
  eventId?: string;
  ackedAt?: number;
  httpStatus?: number;
  code?: string;
  message?: string;
}

/**
 * Senders that keep calling the API (events.send with the admin key; events.list with a tenant
 * key, whose key is checked in the database) until stopped, recording every answer.
 */
function startLoad(senders = 3) {
  const calls: CallRecord[] = [];
  let running = true;
  let n = 0;
  const loop = async (index: number) => {
    while (running) {
      const startedAt = Date.now();
      const record: CallRecord = { startedAt, ms: 0 };
      try {
        if (index === 0 && n % 2 === 0) {
          await tenantClient.events.list.query({ limit: 1 });
        } else {
          const sent = await adminClient.events.send.mutate({ tenantId, type: 'job.completed', payload: { n: n++ } });
          record.eventId = sent.event.id;
          record.ackedAt = Date.now();
        }
      } catch (error) {
        const data = error instanceof TRPCClientError ? (error.data as { code?: string; httpStatus?: number } | undefined) : undefined;
        record.httpStatus = data?.httpStatus;
        record.code = data?.code;
        record.message = (error as Error).message;
      }
      record.ms = Date.now() - startedAt;
      calls.push(record);
      if (index === 0) n++;
      await sleep(15);
    }
  };
  const loops = Array.from({ length: senders }, (_, i) => loop(i));
  return {
    calls,
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

/** Waits (up to `timeoutMs`) for every acknowledged event to arrive; returns the ones that did not. */
async function undelivered(calls: CallRecord[], timeoutMs = 20_000): Promise<{ acked: number; missing: string[] }> {
  const acked = new Set(calls.flatMap((c) => (c.eventId ? [c.eventId] : [])));
  const missing = () => {
    const got = new Set(receiver.requests.map((r) => String(r.headers['webhook-id'])));
    return [...acked].filter((id) => !got.has(id));
  };
  await eventually(async () => missing().length === 0, timeoutMs, 100).catch(() => {});
  return { acked: acked.size, missing: missing() };
}

/** Fails with what the database says of the events that did not arrive. */
async function expectNoneMissing(missing: string[]): Promise<void> {
  if (missing.length === 0) return;
  const rows = await admin`
    select d.event_id, d.status, d.attempt_count, (select count(*) from graphile_worker._private_jobs j where j.payload->>'deliveryId' = d.id)::int as jobs
      from deliveries d where d.event_id in ${admin(missing.slice(0, 5))}`;
  expect.fail(`${missing.length} acknowledged events not delivered; in the database: ${JSON.stringify(rows)}`);
}

function expectOnlyServiceUnavailable(calls: CallRecord[]) {
  const failed = calls.filter((c) => c.message !== undefined);
  for (const call of failed) {
    expect({ code: call.code, httpStatus: call.httpStatus }, call.message).toEqual({ code: 'SERVICE_UNAVAILABLE', httpStatus: 503 });
  }
  return failed;
}

/** Sends under load, applies `fault`, keeps PostgreSQL down for `downMs`, starts it again; returns the figures. */
async function outage(name: string, fault: () => Promise<void>, downMs: number) {
  const received = receiver.requests.length;
  const load = startLoad();
  await sleep(700);
  const downAt = Date.now();
  const readyDuringOutage: Array<{ status: number; reason?: string }> = [];
  try {
    await fault();
    while (Date.now() - downAt < downMs) {
      for (const url of [apiUrl, workerProbeUrl]) {
        // No answer at all (status 0) means the process is gone: the checks below say so.
        const r = await readyz(url).catch(() => ({ status: 0, body: { ok: false, reason: 'no answer' } }));
        readyDuringOutage.push({ status: r.status, ...(r.body.reason !== undefined && { reason: r.body.reason }) });
      }
      await sleep(300);
    }
  } finally {
    if (!server) await startServer();
  }
  const backAt = Date.now();
  await sleep(2_000);
  await load.stop();

  const stoppedAt = Date.now();
  const { acked, missing } = await undelivered(load.calls);
  const allDeliveredAt = Date.now();
  const failed = load.calls.filter((c) => c.message !== undefined);
  const ids = new Set(load.calls.flatMap((c) => (c.eventId ? [c.eventId] : [])));
  const newRequests = receiver.requests.slice(received).filter((r) => ids.has(String(r.headers['webhook-id'])));
  const delivered = new Set(newRequests.map((r) => String(r.headers['webhook-id']))).size;
  const firstAfterBack = newRequests.find((r) => r.receivedAt >= backAt);
  const figures = {
    fault: name,
    calls: load.calls.length,
    acknowledged: acked,
    delivered,
    duplicates: newRequests.length - delivered,
    lost: missing.length,
    failedCalls: failed.length,
    slowestFailedCallMs: Math.max(0, ...failed.map((c) => c.ms)),
    secondsDown: (backAt - downAt) / 1000,
    secondsToFirstDeliveryAfterBack: firstAfterBack ? (firstAfterBack.receivedAt - backAt) / 1000 : undefined,
    secondsToDeliverAllAfterBack: missing.length > 0 ? undefined : (Math.max(...newRequests.map((r) => r.receivedAt)) - backAt) / 1000,
    otherErrors: failed.filter((c) => c.code !== 'SERVICE_UNAVAILABLE').length,
    secondsWaitedForLastDelivery: (allDeliveredAt - stoppedAt) / 1000,
    workerRunnerRestartsSoFar: worker.output().split('worker runner restarted').length - 1,
  };
  console.log(`outage figures: ${JSON.stringify(figures)}`);
  const slowCalls = load.calls.filter((c) => c.ms > 3_000).map((c) => ({ ...c, startedAfterDownMs: c.startedAt - downAt }));
  if (slowCalls.length > 0) console.log(`slow calls: ${JSON.stringify(slowCalls)}`);

  // Nobody restarted them: the same processes are still running.
  expect(worker.child.exitCode, `the worker exited:\n${worker.output().slice(-3000)}`).toBeNull();
  expect(serve.child.exitCode, `the API exited:\n${serve.output().slice(-3000)}`).toBeNull();
  await expectNoneMissing(missing);
  // Calls during the outage were refused promptly with a typed 503, and some were made at all.
  expectOnlyServiceUnavailable(load.calls);
  expect(failed.length).toBeGreaterThan(0);
  // At worst a connection attempt that finds the server going down waits out the connect timeout (5 s).
  expect(figures.slowestFailedCallMs).toBeLessThan(7_000);
  expect(firstAfterBack).toBeDefined();
  expect(figures.secondsToFirstDeliveryAfterBack!).toBeLessThanOrEqual(10);
  // /readyz told the truth: not ready while the database was away, and only "database unavailable".
  expect(readyDuringOutage.some((r) => r.status === 503)).toBe(true);
  expect(
    readyDuringOutage.every((r) => r.status === 200 || r.reason === 'database unavailable' || r.reason === 'delivery worker restarting'),
  ).toBe(true);
  for (const url of [apiUrl, workerProbeUrl]) {
    await eventually(async () => (await readyz(url)).status === 200, 10_000, 100);
  }
  return figures;
}

describe('PostgreSQL outage under load', () => {
  it('a fast restart (pg_ctl -m fast, down 3 s): nothing lost, 503s meanwhile, deliveries resume', async () => {
    await outage('stop -m fast, 3 s', stopServerFast, 3_000);
  }, 60_000);

  it('an immediate stop (postmaster SIGQUIT, crash recovery, down 2 s): the same', async () => {
    await outage('stop -m immediate, 2 s', stopServerImmediately, 2_000);
  }, 60_000);

  it('a worker whose connections are all killed (pool dies) goes on delivering', async () => {
    const received = receiver.requests.length;
    const load = startLoad();
    await sleep(800);
    // Every session but this test's own: the API's and worker's pools, graphile-worker's, the heartbeat.
    const [killed] = await admin<{ n: number }[]>`
      select count(pg_terminate_backend(pid))::int as n from pg_stat_activity
       where backend_type = 'client backend' and pid <> pg_backend_pid()`;
    const n = killed!.n;
    expect(n).toBeGreaterThan(2);
    await sleep(2_000);
    await load.stop();
    const { acked, missing } = await undelivered(load.calls);
    await expectNoneMissing(missing);
    expectOnlyServiceUnavailable(load.calls);
    console.log(
      `pool-death figures: ${JSON.stringify({ sessionsKilled: n, acknowledged: acked, requests: receiver.requests.length - received })}`,
    );
    expect(worker.child.exitCode).toBeNull();
    expect(serve.child.exitCode).toBeNull();
  }, 60_000);
});

/** The call, tried again (up to 5 times, 200 ms apart) while it answers SERVICE_UNAVAILABLE. */
async function untilAvailable<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      const unavailable = error instanceof TRPCClientError && error.data?.code === 'SERVICE_UNAVAILABLE';
      if (!unavailable || attempt >= 5) throw error;
      await sleep(200);
    }
  }
}

describe('a job runner that cannot be restarted', () => {
  it('`hookline worker` exits 1 after HOOKLINE_WORKER_RESTART_WINDOW; `start` keeps its API and restarts its runner', async () => {
    // Only the two processes under test take jobs.
    expect(await worker.kill('SIGTERM')).toBe(0);
    // The first two deliveries are held open until PostgreSQL has gone away; the rest are quick.
    let releaseHeld!: () => void;
    const held = new Promise<void>((resolve) => {
      releaseHeld = resolve;
    });
    const slow = await startReceiver((_request, index) => (index < 2 ? { until: held } : {}));
    try {
      // The test before killed every session: the first calls may still meet a dead connection and
      // answer 503 ("try again shortly"), as a client is told to. Retried here as a client would.
      // A tenant of its own, with the slow endpoint only: every event is a delivery there.
      const giveUp = await untilAvailable(() => adminClient.tenants.create.mutate({ name: 'Give-up Co' }));
      await makeClient(apiUrl, giveUp.apiKey).endpoints.create.mutate({ url: `${slow.url}/slow` });
      // One delivery at a time per process, and a timeout longer than the hold (the receiver's
      // second request may come seconds after its first on a busy machine): two requests open at
      // once at the slow receiver are one from each process. Jobs that step aside behind the held
      // ones come back after the timeout, so it is not longer than it needs to be.
      const short = { HOOKLINE_WORKER_RESTART_WINDOW: '2s', HOOKLINE_WORKER_CONCURRENCY: '1', HOOKLINE_TIMEOUT: '10s' };
      const lone = spawn(['worker'], short);
      const t0 = Date.now();
      const phase = (name: string) => console.log(`give-up phase ${name} at ${(Date.now() - t0) / 1000} s`);
      const both = spawn(['start'], { ...short, HOOKLINE_PORT: '0' });
      await lone.waitForOutput('worker started');
      const startUrl = await printedUrl(both, 'hookline API on');
      const startClient = makeClient(startUrl, config.adminKey);

      // More events than the two held: a process whose one delivery slot is taken steps the jobs it
      // fetches meanwhile aside (for a timeout), so the other process must find some left to take.
      const sent = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          untilAvailable(() =>
            adminClient.events.send.mutate({
              tenantId: giveUp.tenant.id,
              type: 'job.completed',
              payload: { slow: i },
              idempotencyKey: `give-up-${i}`,
            }),
          ),
        ),
      );
      // Both processes have a delivery in flight to the slow receiver when PostgreSQL goes away.
      await eventually(async () => slow.openCount() === 2, 20_000, 20);
      phase('both in flight');
      await stopServerFast();
      const downAt = Date.now();
      releaseHeld();

      // The lone worker's runner stops (its delivery cannot be recorded) and cannot come back.
      const code = await new Promise<number | null>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the lone worker did not exit:\n${lone.output().slice(-3000)}`)), 25_000);
        lone.child.once('exit', (exitCode) => {
          clearTimeout(timer);
          resolve(exitCode);
        });
      });
      const exitedAfterMs = Date.now() - downAt;
      phase('worker exited');
      expect(code).toBe(1);
      expect(lone.output()).toContain('worker runner could not be restarted; giving up');
      expect(exitedAfterMs).toBeLessThan(20_000);

      // `start` lost its runner too, but keeps answering (503) and keeps trying.
      await both.waitForOutput('worker runner stopped; restarting it', 10_000);
      await expect(startClient.events.send.mutate({ tenantId, type: 'job.completed', payload: {} })).rejects.toMatchObject({
        data: { code: 'SERVICE_UNAVAILABLE', httpStatus: 503 },
      });
      expect((await readyz(startUrl)).status).toBe(503);
      await sleep(1_000); // longer than the window: `start` does not give up
      expect(both.child.exitCode).toBeNull();

      await startServer();
      phase('database back');
      await both.waitForOutput('worker runner restarted', 15_000);
      phase('runner restarted');
      // The jobs both runners held come back (the dead process' once its heartbeat is old). With one
      // delivery slot, a job that stepped aside while its slot was taken may come back only at its
      // fallback time (three timeouts and up to half more: 30-45 s here) rather than when the slot frees.
      const ids = new Set(sent.map((s) => s.event.id));
      await eventually(
        async () => {
          const got = new Set(slow.requests.map((r) => String(r.headers['webhook-id'])));
          return [...ids].every((id) => got.has(id));
        },
        50_000,
        100,
      ).catch(async (error: unknown) => {
        const jobs = await admin.unsafe(
          `select id, locked_by, locked_at, run_at, attempts, last_error, payload from graphile_worker._private_jobs`,
        );
        const deliveries = await admin.unsafe(`select id, event_id, status, attempt_count from deliveries where status = 'pending'`);
        const beats = await admin.unsafe(`select * from worker_heartbeats`);
        const metrics = await fetch(`${startUrl}/metrics`)
          .then((r) => r.text())
          .then((text) => text.split('\n').filter((line) => /^hookline_(deliveries_in_flight|deliveries_total)/.test(line)))
          .catch((e: unknown) => String(e));
        console.log(`give-up diagnosis: metrics ${JSON.stringify(metrics)}; requests ${slow.requests.length}, open ${slow.openCount()}`);
        throw new Error(
          `${String(error)}; jobs ${JSON.stringify(jobs)}; pending ${JSON.stringify(deliveries)}; heartbeats ${JSON.stringify(beats)}; now ${new Date().toISOString()}`,
        );
      });
      phase('all delivered');
      await eventually(async () => (await readyz(startUrl)).status === 200, 10_000, 100);
      console.log(`give-up figures: ${JSON.stringify({ workerExitCode: code, workerExitedAfterSeconds: exitedAfterMs / 1000 })}`);
      expect(await both.kill('SIGTERM')).toBe(0);
    } finally {
      releaseHeld();
      await slow.close();
    }
  }, 120_000);
});
