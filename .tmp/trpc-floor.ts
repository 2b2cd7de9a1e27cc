// Server: a trivial tRPC mutation on the standalone adapter; prints CPU µs per request over a window.
import { createServer } from 'node:http';
import { initTRPC } from '@trpc/server';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import { z } from 'zod';
const t = initTRPC.create();
const router = t.router({ send: t.procedure.input(z.object({ tenantId: z.string(), type: z.string(), payload: z.record(z.string(), z.unknown()) })).mutation(({ input }) => ({ event: { id: 'evt_x', ...input }, deliveries: [] })) });
const mode = process.argv[2];
const handler = createHTTPHandler({ router, basePath: '/trpc/' });
let n = 0;
const server = createServer((req, res) => {
  n++;
  if (mode === 'bare') { let b=''; req.on('data', (c) => (b += c)); req.on('end', () => { res.writeHead(200, { 'content-type': 'application/json' }); res.end(b); }); return; }
  if (mode === 'trpc-body') { const chunks: Buffer[] = []; req.on('data', (c) => chunks.push(c)); req.on('end', () => { (req as any).body = Buffer.concat(chunks).toString('utf8'); handler(req, res); }); return; }
  handler(req, res);
});
server.listen(0, '127.0.0.1', () => process.send!({ port: (server.address() as any).port }));
process.on('message', (m: any) => { if (m === 'cpu') process.send!({ cpu: process.cpuUsage(), n }); });
