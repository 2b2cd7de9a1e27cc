// CPU accounting from /proc (Linux): how busy the machine was during a measurement, how much of
// that was the bench itself (this process and its descendants: receiver child, embedded
// PostgreSQL and its backends) and how much was other load. Benchmarks on a shared box are only
// as good as this number: figures taken while other processes used the CPUs say so.
import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { sleep } from './clock.js';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

interface TreeTicks {
  /** This process (driver, in-process worker, sender). */
  self: number;
  /** PostgreSQL processes started by the bench (embedded server and its backends). */
  postgres: number;
  /** Processes labelled 'worker process' (`hookline worker` children). */
  workerProcess: number;
  /** Other descendants (the receiver children), including reaped ones. */
  children: number;
}

const labels = new Map<number, 'worker process' | 'receiver'>();

/** Names a child process for the CPU split (unlabelled node children count as receivers). */
export function labelProcess(pid: number, label: 'worker process' | 'receiver'): void {
  labels.set(pid, label);
}

interface Snapshot {
  at: number;
  machineBusy: number;
  tree: TreeTicks;
}

export interface CpuUsage {
  seconds: number;
  /** CPUs in use on average (0..cpus). */
  machine: number;
  bench: number;
  /** The bench's share, split: this process, `hookline worker` children, PostgreSQL, receivers. */
  worker: number;
  workerProcess: number;
  postgres: number;
  receiver: number;
  other: number;
  cpus: number;
}

function machineBusyTicks(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  const [, ...fields] = line.trim().split(/\s+/);
  // user nice system idle iowait irq softirq steal: busy is everything but idle and iowait.
  const [user, nice, system, , , irq, softirq, steal] = fields.map(Number) as number[];
  return user! + nice! + system! + irq! + softirq! + (steal ?? 0);
}

/**
 * CPU ticks of `root` and all its descendants: utime+stime of each, plus cutime+cstime (the
 * reaped children's time, so a backend that exited still counts, in its parent's bucket).
 */
function treeTicks(root: number): TreeTicks {
  const procs = new Map<number, { ppid: number; comm: string; own: number; reaped: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // rest[0] is field 3 (state), so field n is rest[n - 3]: ppid 4, utime 14 … cstime 17.
      procs.set(Number(entry), {
        ppid: Number(rest[1]),
        comm,
        own: Number(rest[11]) + Number(rest[12]),
        reaped: Number(rest[13]) + Number(rest[14]),
      });
    } catch {
      // exited while we looked
    }
  }
  const out: TreeTicks = { self: 0, postgres: 0, workerProcess: 0, children: 0 };
  for (const [pid, proc] of procs) {
    if (pid === root) {
      out.self += proc.own;
      out.children += proc.reaped;
      continue;
    }
    for (let p: number | undefined = proc.ppid; p !== undefined && p > 1; p = procs.get(p)?.ppid) {
      if (p === root) {
        if (proc.comm === 'postgres') out.postgres += proc.own + proc.reaped;
        else if (labels.get(pid) === 'worker process') out.workerProcess += proc.own + proc.reaped;
        else out.children += proc.own + proc.reaped;
        break;
      }
    }
  }
  return out;
}

function snapshot(): Snapshot | undefined {
  try {
    return { at: performance.now(), machineBusy: machineBusyTicks(), tree: treeTicks(process.pid) };
  } catch {
    return undefined; // not Linux
  }
}

function usageBetween(start: Snapshot, end: Snapshot): CpuUsage {
  const seconds = (end.at - start.at) / 1000;
  const cpusUsed = (ticks: number) => ticks / TICKS_PER_SECOND / seconds;
  const machine = cpusUsed(end.machineBusy - start.machineBusy);
  const worker = cpusUsed(end.tree.self - start.tree.self);
  const postgres = cpusUsed(end.tree.postgres - start.tree.postgres);
  const workerProcess = cpusUsed(end.tree.workerProcess - start.tree.workerProcess);
  const receiver = cpusUsed(end.tree.children - start.tree.children);
  const bench = worker + workerProcess + postgres + receiver;
  return { seconds, machine, bench, worker, workerProcess, postgres, receiver, other: Math.max(0, machine - bench), cpus: cpus().length };
}

/** Starts measuring; `stop()` gives the average CPU use since. */
export function startCpuMeter(): { stop(): CpuUsage | undefined } {
  const start = snapshot();
  return {
    stop() {
      const end = snapshot();
      return start && end ? usageBetween(start, end) : undefined;
    },
  };
}

export function describeCpu(usage: CpuUsage | undefined): string {
  if (!usage) return 'CPU accounting unavailable (no /proc)';
  const f = (n: number) => n.toFixed(2);
  const warning = usage.other > 0.2 ? ' — OTHER LOAD PRESENT, figures are pessimistic' : '';
  return (
    `CPUs busy (of ${usage.cpus}): bench process ${f(usage.worker)}, ` +
    (usage.workerProcess > 0 ? `hookline worker process ${f(usage.workerProcess)}, ` : '') +
    `PostgreSQL ${f(usage.postgres)}, ` +
    `receiver ${f(usage.receiver)}, other processes ${f(usage.other)}${warning}`
  );
}

/**
 * Waits (up to `maxWaitMs`) for a second in which processes outside the bench use less than
 * `threshold` CPUs, so a scenario does not start in the middle of someone else's burst.
 */
export async function waitForQuiet(log: (line: string) => void, maxWaitMs = 120_000, threshold = 0.25): Promise<CpuUsage | undefined> {
  const deadline = Date.now() + maxWaitMs;
  let warned = false;
  while (true) {
    const meter = startCpuMeter();
    await sleep(1000);
    const usage = meter.stop();
    if (!usage || usage.other < threshold) return usage;
    if (Date.now() > deadline) {
      log(`machine still busy (other processes use ${usage.other.toFixed(2)} CPUs); starting anyway`);
      return usage;
    }
    if (!warned) {
      log(`waiting for other processes to go quiet (they use ${usage.other.toFixed(2)} CPUs)`);
      warned = true;
    }
  }
}
