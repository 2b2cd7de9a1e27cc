// `hookline worker` as production runs it: its own Node process started from server/bin/hookline.js
// with the product's env. Used where the worker's own footprint matters (RSS in the backlog
// scenario). Its RSS is read from /proc; SIGTERM stops it gracefully.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { labelProcess } from './cpu.js';

export interface WorkerProcess {
  pid: number;
  /** Resolves with the exit code whenever the process ends (also if it dies on its own). */
  exited: Promise<number | null>;
  /** Resident set size in bytes, from /proc/<pid>/status; undefined once exited or off Linux. */
  rss(): number | undefined;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
}

const bin = fileURLToPath(new URL('../../server/bin/hookline.js', import.meta.url));
const projectRoot = fileURLToPath(new URL('../..', import.meta.url));

/** `wrap`: turns the worker's command line into another that runs it (e.g. in a mount namespace). */
export function startWorkerProcess(env: Record<string, string>, options: { wrap?: (command: string[]) => string[] } = {}): WorkerProcess {
  // BENCH_WORKER_NODE_OPTIONS: Node flags for the worker alone, put on its command line (so flags
  // NODE_OPTIONS refuses work too), e.g. `--max-old-space-size=128` or `--cpu-prof --cpu-prof-dir=/tmp/p`.
  const flags = (process.env.BENCH_WORKER_NODE_OPTIONS ?? '').split(/\s+/).filter(Boolean);
  const command = [process.execPath, ...flags, bin, 'worker'];
  const [file, ...args] = options.wrap ? options.wrap(command) : command;
  const child: ChildProcess = spawn(file!, args, {
    cwd: projectRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  child.stdout!.pipe(process.stderr); // warnings and errors the worker logs (JSON lines)
  labelProcess(child.pid!, 'worker process');
  // Never outlive the bench run (a deadline or an interrupt exits the bench process).
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.once('exit', () => process.removeListener('exit', killOnExit));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    pid: child.pid!,
    exited,
    rss() {
      try {
        const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        return match ? Number(match[1]) * 1024 : undefined;
      } catch {
        return undefined;
      }
    },
    async stop(graceMs = 30_000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(killer);
      return code;
    },
  };
}
