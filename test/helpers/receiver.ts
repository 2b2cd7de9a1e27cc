// A real HTTP receiver on loopback that records every request and answers as the test says.
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  receivedAt: number;
}

export interface Reply {
  status?: number;
  headers?: Record<string, string>;
  body?: string;
  /** Wait this long before answering. */
  delayMs?: number;
  /** Never answer (a black hole that accepts the connection). */
  hang?: boolean;
  /** Answer once this settles (the test decides when a request in flight ends). */
  until?: Promise<unknown>;
}

export interface Receiver {
  url: string;
  port: number;
  requests: ReceivedRequest[];
  /** Requests received and not yet answered whose connection is still open. */
  openCount(): number;
  /** Resolves once `count` requests (optionally matching) have arrived. */
  waitFor(count: number, options?: { timeoutMs?: number; match?: (r: ReceivedRequest) => boolean }): Promise<ReceivedRequest[]>;
  close(): Promise<void>;
}

export async function startReceiver(
  reply: (request: ReceivedRequest, index: number) => Reply = () => ({}),
  /** The loopback address to listen on: 127.0.0.1, or ::1. */
  host: '127.0.0.1' | '::1' = '127.0.0.1',
): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  const waiters = new Set<() => void>();
  let open = 0;
  const server = createServer((req, res) => {
    open++;
    res.once('close', () => open--);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const request: ReceivedRequest = {
        method: req.method ?? '',
        path: req.url ?? '/',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        receivedAt: Date.now(),
      };
      requests.push(request);
      for (const wake of waiters) wake();
      const answer = reply(request, requests.length - 1);
      if (answer.hang) return;
      const send = () => {
        res.writeHead(answer.status ?? 200, { 'content-type': 'text/plain', ...answer.headers });
        res.end(answer.body ?? 'ok');
      };
      if (answer.until) void answer.until.finally(send);
      else if (answer.delayMs) setTimeout(send, answer.delayMs);
      else send();
    });
  });
  server.listen(0, host);
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host === '::1' ? '[::1]' : host}:${port}`,
    port,
    requests,
    openCount: () => open,
    waitFor(count, options = {}) {
      const { timeoutMs = 15_000, match = () => true } = options;
      return new Promise((resolve, reject) => {
        const check = () => {
          const matching = requests.filter(match);
          if (matching.length >= count) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(matching);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`expected ${count} requests within ${timeoutMs} ms, got ${requests.filter(match).length}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Polls until `check` returns a truthy value. */
export async function eventually<T>(check: () => Promise<T | undefined | null | false>, timeoutMs = 15_000, intervalMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
}

/**
 * Receivers started by one test file, closed after each test: call `receiver()` in a test and
 * register `closeAll` with `afterEach`.
 * @deprecated Use `cleanupTracker()` from ./fixtures.ts, which closes receivers, apps, workers and
 * child processes alike. Kept only so that tests written against it on other branches still compile.
 */
export function receiverTracker() {
  const started: Receiver[] = [];
  return {
    async receiver(...args: Parameters<typeof startReceiver>): Promise<Receiver> {
      const r = await startReceiver(...args);
      started.push(r);
      return r;
    },
    async closeAll(): Promise<void> {
      await Promise.all(started.splice(0).map((r) => r.close()));
    },
  };
}
