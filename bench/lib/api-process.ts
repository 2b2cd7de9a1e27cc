// `hookline serve` as production runs it: its own Node process started from server/bin/hookline.js
// with the product's env, listening on a free loopback port. Used where the HTTP path itself is
// measured (ingest). BENCH_API_NODE_OPTIONS puts Node flags on its command line, e.g.
// `--cpu-prof --cpu-prof-dir=/tmp/p` to profile the API alone; SIGTERM stops it gracefully.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface ApiProcess {
  /** `http://127.0.0.1:<port>` */
  url: string;
  pid: number;
  stop(graceMs?: number): Promise<number | null>;
}

const bin = fileURLToPath(new URL('../../server/bin/hookline.js', import.meta.url));
const projectRoot = fileURLToPath(new URL('../..', import.meta.url));

export async function startApiProcess(env: Record<string, string>, timeoutMs = 60_000): Promise<ApiProcess> {
  const flags = (process.env.BENCH_API_NODE_OPTIONS ?? '').split(/\s+/).filter(Boolean);
  const child: ChildProcess = spawn(process.execPath, [...flags, bin, 'serve'], {
    cwd: projectRoot,
    env: { ...process.env, ...env, HOOKLINE_HOST: '127.0.0.1', HOOKLINE_PORT: '0' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      process.removeListener('exit', killOnExit);
      resolve(code);
    }),
  );
  // The API prints its address on stdout once listening; everything else it says goes to stderr.
  const url = await new Promise<string>((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`hookline serve did not listen within ${timeoutMs} ms`)), timeoutMs);
    child.stdout!.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      const match = /hookline API on (http:\/\/[^/\s]+)\/trpc/.exec(seen);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`hookline serve exited (${code}) before listening`));
    });
  });
  child.stdout!.pipe(process.stderr);
  return {
    url,
    pid: child.pid!,
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
