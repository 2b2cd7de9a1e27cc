// The webhook receiver, run as its own Node process (forked by receiver.ts) so that answering
// requests does not take event-loop time from the worker being measured — as a real receiver on
// another host would not. Loopback only. Mode `ok` answers 200 as soon as the body has arrived
// and records the arrival time (per webhook-id and path when asked to); mode `slow` does the same
// but answers `delayMs` later (a receiver that takes its time); mode `hang` accepts connections and
// requests and never answers. The process exits when its parent goes away.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { now } from './clock.js';

export type ReceiverMode = 'ok' | 'slow' | 'hang';

export type ReceiverCommand =
  | { type: 'start'; mode: ReceiverMode; ports: number; record: boolean; delayMs: number }
  | { type: 'reset' }
  | { type: 'stats' }
  | { type: 'waitForCount'; count: number }
  | { type: 'arrivals' }
  | { type: 'close' };

export interface ReceiverStats {
  count: number;
  /** Requests that carried no `webhook-signature` header. */
  unsigned: number;
  firstAt: number | null;
  lastAt: number | null;
}

/** [webhook-id, path, arrival time (clock.now())] */
export type Arrival = [string, string, number];

const servers: Server[] = [];
let record = false;
let count = 0;
let unsigned = 0;
let firstAt: number | null = null;
let lastAt: number | null = null;
let arrivals: Arrival[] = [];
const countWaiters: Array<{ count: number; reply: (stats: ReceiverStats) => void }> = [];

const stats = (): ReceiverStats => ({ count, unsigned, firstAt, lastAt });

function wakeWaiters(): void {
  for (let i = countWaiters.length - 1; i >= 0; i--) {
    const waiter = countWaiters[i]!;
    if (count >= waiter.count) {
      countWaiters.splice(i, 1);
      waiter.reply(stats());
    }
  }
}

function startServer(mode: ReceiverMode, delayMs: number): Promise<number> {
  const server =
    mode === 'hang'
      ? createServer((req) => {
          req.resume(); // read and discard; never answer
        })
      : createServer((req, res) => {
          req.on('data', () => {});
          req.on('end', () => {
            const at = now();
            count++;
            firstAt ??= at;
            lastAt = at;
            const id = req.headers['webhook-id'];
            if (req.headers['webhook-signature'] === undefined) unsigned++;
            if (record) arrivals.push([typeof id === 'string' ? id : '', req.url ?? '/', at]);
            const answer = () => {
              res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
              res.end('ok');
            };
            if (mode === 'slow') setTimeout(answer, delayMs);
            else answer();
            if (countWaiters.length > 0) wakeWaiters();
          });
        });
  servers.push(server);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

async function handle(command: ReceiverCommand): Promise<unknown> {
  switch (command.type) {
    case 'start': {
      record = command.record;
      const ports: number[] = [];
      for (let i = 0; i < command.ports; i++) ports.push(await startServer(command.mode, command.delayMs));
      return { ports };
    }
    case 'reset':
      count = 0;
      unsigned = 0;
      firstAt = null;
      lastAt = null;
      arrivals = [];
      return stats();
    case 'stats':
      return stats();
    case 'waitForCount':
      return new Promise((resolve) => {
        countWaiters.push({ count: command.count, reply: resolve });
        wakeWaiters();
      });
    case 'arrivals': {
      const out = arrivals;
      arrivals = [];
      return out;
    }
    case 'close':
      await Promise.all(
        servers.map(
          (server) =>
            new Promise<void>((resolve) => {
              server.closeAllConnections();
              server.close(() => resolve());
            }),
        ),
      );
      return null;
  }
}

process.on('message', (message: { id: number; command: ReceiverCommand }) => {
  handle(message.command).then(
    (result) => process.send?.({ id: message.id, result }),
    (error: unknown) => process.send?.({ id: message.id, error: String(error) }),
  );
});
// Never outlive the bench run.
process.on('disconnect', () => process.exit(0));
