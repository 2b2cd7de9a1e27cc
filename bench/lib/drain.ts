// `hookline worker` processes at work, watched from outside as production would be: its RSS from
// /proc, progress from the receiver's count, the queue from graphile-worker's jobs table, and the
// times from the attempt rows the worker committed.
import type postgres from 'postgres';
import { sleep } from './clock.js';
import { startCpuMeter, type CpuUsage } from './cpu.js';
import type { BenchHookline } from './hookline.js';
import type { Receiver } from './receiver.js';
import { perSecond } from './stats.js';
import { startWorkerProcess, type WorkerProcess } from './worker-process.js';

/** Megabytes (10^6 bytes), the unit of the RSS goal. */
const mb = (bytes: number) => bytes / 1e6;

/** Samples a worker process' VmRSS every 250 ms until stopped. */
export function sampleRss(worker: WorkerProcess): { stop(): { firstMB: number; peakMB: number } } {
  let peak = 0;
  let first: number | undefined;
  const sampler = setInterval(() => {
    const rss = worker.rss();
    if (rss === undefined) return;
    first ??= rss;
    peak = Math.max(peak, rss);
  }, 250);
  return {
    stop() {
      clearInterval(sampler);
      return { firstMB: mb(first ?? Number.NaN), peakMB: peak > 0 ? mb(peak) : Number.NaN };
    },
  };
}

/**
 * Waits until `count` more requests have reached the receiver and no `deliver` job is left (the
 * last attempts are then recorded too). Progress comes from the receiver's in-memory count:
 * counting a million-row jobs table every second would cost PostgreSQL ~80 ms a time.
 */
export async function waitForDeliveries(
  sql: postgres.Sql,
  receiver: Receiver,
  spec: { from: number; count: number; worker: WorkerProcess; what: string; deadlineMs: number },
): Promise<void> {
  const deadline = Date.now() + spec.deadlineMs;
  const died = spec.worker.exited.then((code) => {
    throw new Error(`${spec.what}: the worker process exited (code ${code}) before the queue was drained`);
  });
  died.catch(() => {}); // the worker exits later, on our SIGTERM
  await Promise.race([
    died,
    receiver.waitForCount(spec.from + spec.count, deadline - Date.now()).catch(async () => {
      throw new Error(
        `${spec.what}: only ${(await receiver.stats()).count - spec.from} of ${spec.count} deliveries arrived by the deadline`,
      );
    }),
  ]);
  while (true) {
    const [row] = await sql<{ n: number }[]>`
      select count(*)::int as n from graphile_worker._private_jobs
       where task_id = (select id from graphile_worker._private_tasks where identifier = 'deliver')`;
    if (row!.n === 0) return;
    if (Date.now() > deadline) throw new Error(`${spec.what}: ${row!.n} of ${spec.count} deliveries still queued at the deadline`);
    await sleep(100);
  }
}

/** The attempts that match `which`: how many, and from the first start to the last record (epoch ms). */
export async function attemptWindow(sql: postgres.Sql, which: postgres.PendingQuery<postgres.Row[]>) {
  const [window] = await sql<{ attempts: number; succeeded: number; firstStartedAt: number; lastRecordedAt: number }[]>`
    select count(*)::int as attempts, count(*) filter (where status_code = 200)::int as succeeded,
           (extract(epoch from min(started_at)) * 1000)::float as "firstStartedAt",
           (extract(epoch from max(created_at)) * 1000)::float as "lastRecordedAt"
      from attempts where ${which}`;
  return window!;
}

export interface DrainResult {
  count: number;
  attempts: number;
  succeeded: number;
  ms: number;
  perSecond: number;
  rssFirstMB: number;
  rssPeakMB: number;
  cpu: CpuUsage | undefined;
  exitCode: number | null;
}

/**
 * Starts `hookline worker` on a filled queue (deliveries `dlv_<label>_…`) and waits until it has
 * delivered them all. Rate = deliveries / (last attempt recorded − first attempt started), from the
 * attempt rows; then the worker is stopped with SIGTERM.
 */
export async function drainWithWorkerProcess(
  hookline: BenchHookline,
  receiver: Receiver,
  label: string,
  count: number,
): Promise<DrainResult> {
  const sql = hookline.workerRuntime.deps.sql;
  const receivedBefore = (await receiver.stats()).count;
  const cpu = startCpuMeter();
  const worker = startWorkerProcess(hookline.env);
  const rss = sampleRss(worker);
  let usage: CpuUsage | undefined;
  let exitCode: number | null;
  let memory: { firstMB: number; peakMB: number };
  try {
    // Bounded: at least 100 deliveries/s, or the scenario fails.
    await waitForDeliveries(sql, receiver, { from: receivedBefore, count, worker, what: label, deadlineMs: Math.max(120_000, count * 10) });
  } finally {
    memory = rss.stop();
    usage = cpu.stop();
    exitCode = await worker.stop();
  }
  const window = await attemptWindow(sql, sql`delivery_id like ${`dlv_${label}_%`}`);
  const ms = window.lastRecordedAt - window.firstStartedAt;
  return {
    count,
    attempts: window.attempts,
    succeeded: window.succeeded,
    ms,
    perSecond: perSecond(count, ms),
    rssFirstMB: memory.firstMB,
    rssPeakMB: memory.peakMB,
    cpu: usage,
    exitCode,
  };
}
