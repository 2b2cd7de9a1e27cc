// Starts a loopback webhook receiver in a child Node process (receiver-child.ts) and talks to it
// over IPC: its URLs, counts, the arrival time of the n-th request, and per-webhook-id arrivals.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { labelProcess } from './cpu.js';
import type { Arrival, ReceiverCommand, ReceiverMode, ReceiverStats } from './receiver-child.js';

export type { Arrival, ReceiverStats };

export interface Receiver {
  /** One `http://127.0.0.1:<port>` per listening port. */
  urls: string[];
  pid: number;
  stats(): Promise<ReceiverStats>;
  reset(): Promise<void>;
  /** Resolves when `count` requests have arrived in total; `lastAt` is then the n-th arrival. */
  waitForCount(count: number, timeoutMs: number): Promise<ReceiverStats>;
  /** Arrivals recorded since the last call (only with `record: true`). */
  takeArrivals(): Promise<Arrival[]>;
  close(): Promise<void>;
}

export interface ReceiverOptions {
  mode: ReceiverMode;
  /** Listening ports (each a separate origin). Default 1. */
  ports?: number;
  /** Keep [webhook-id, path, time] of every request (for latency); counts only otherwise. */
  record?: boolean;
  /** Mode `slow`: how long each answer takes. Default 100 ms. */
  delayMs?: number;
}

const childModule = fileURLToPath(new URL('./receiver-child.ts', import.meta.url));

export async function startReceiver(options: ReceiverOptions): Promise<Receiver> {
  // The child runs TypeScript through tsx like the parent, but without the parent's other flags
  // (e.g. --cpu-prof, which would profile the receiver too).
  const child: ChildProcess = fork(childModule, [], {
    execArgv: ['--import', import.meta.resolve('tsx')],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  labelProcess(child.pid!, 'receiver');
  let nextId = 1;
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  child.on('message', (message: { id: number; result?: unknown; error?: string }) => {
    const waiter = pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id);
    if (message.error !== undefined) waiter.reject(new Error(`receiver: ${message.error}`));
    else waiter.resolve(message.result);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('exit', (code) => {
    for (const waiter of pending.values()) waiter.reject(new Error(`receiver process exited (${code})`));
    pending.clear();
  });

  const call = <T>(command: ReceiverCommand, timeoutMs = 30_000): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`receiver did not answer "${command.type}" within ${timeoutMs} ms`));
      }, timeoutMs);
      pending.set(id, {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value as T);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      child.send({ id, command });
    });

  const { ports } = await call<{ ports: number[] }>({
    type: 'start',
    mode: options.mode,
    ports: options.ports ?? 1,
    record: options.record ?? false,
    delayMs: options.delayMs ?? 100,
  });
  return {
    urls: ports.map((port) => `http://127.0.0.1:${port}`),
    pid: child.pid!,
    stats: () => call<ReceiverStats>({ type: 'stats' }),
    reset: () => call<void>({ type: 'reset' }),
    waitForCount: (count, timeoutMs) => call<ReceiverStats>({ type: 'waitForCount', count }, timeoutMs),
    takeArrivals: () => call<Arrival[]>({ type: 'arrivals' }, 120_000),
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      await call<void>({ type: 'close' }, 10_000).catch(() => {});
      child.disconnect();
      const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(killer);
    },
  };
}
