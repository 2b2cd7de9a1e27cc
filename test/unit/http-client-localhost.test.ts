// `localhost` at connect time (server/delivery/http.ts with shared/url-rules.ts): the name stands
// for the loopback addresses the policy allows, no resolver is asked, and those addresses are still
// judged. Loopback sockets only.
import http from 'node:http';
import type net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createGuardedLookup, createWebhookHttpClient, type Resolver } from '../../server/delivery/http.js';
import { parseAllowedNetworks, type UrlPolicy } from '../../shared/url-rules.js';

const policy = (allowedNetworks: string): UrlPolicy => ({ allowHttp: true, allowedNetworks: parseAllowedNetworks(allowedNetworks) });
const webhook = { headers: { 'content-type': 'application/json' }, body: '{"hello":"localhost"}' };

/** A resolver that records every name it is asked and answers none. */
function recordingResolver(): { resolver: Resolver; asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    resolver: async (hostname) => {
      asked.push(hostname);
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    },
  };
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startReceiver(): Promise<{ port: number; hosts: string[]; connections: () => number }> {
  const hosts: string[] = [];
  let connections = 0;
  const server = http.createServer((req, res) => {
    hosts.push(req.headers.host ?? '');
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { port: (server.address() as net.AddressInfo).port, hosts, connections: () => connections };
}

function lookupOnce(lookup: net.LookupFunction, hostname: string, options: { all?: boolean; family?: number }) {
  return new Promise<{ error: Error | null; address: unknown }>((resolve) => {
    lookup(hostname, options as never, (error, address) => resolve({ error, address }));
  });
}

describe('localhost at connect time', () => {
  it('the guarded lookup answers localhost names with the allowed loopback addresses, asking no resolver', async () => {
    const { resolver, asked } = recordingResolver();
    const both = createGuardedLookup(policy('127.0.0.0/8,::1/128'), resolver, { timeoutMs: 1000 });
    expect(await lookupOnce(both, 'localhost', { all: true })).toEqual({
      error: null,
      address: [
        { address: '127.0.0.1', family: 4 },
        { address: '::1', family: 6 },
      ],
    });
    expect(await lookupOnce(both, 'api.localhost', { family: 6 })).toMatchObject({ error: null, address: '::1' });
    const ipv4Only = createGuardedLookup(policy('127.0.0.0/8'), resolver, { timeoutMs: 1000 });
    expect(await lookupOnce(ipv4Only, 'localhost', { all: true })).toEqual({
      error: null,
      address: [{ address: '127.0.0.1', family: 4 }],
    });
    expect(asked).toEqual([]);
  });

  it('delivers to http://localhost:port when loopback is allowed (127.0.0.0/8 alone is enough)', async () => {
    const receiver = await startReceiver();
    for (const allowed of ['127.0.0.0/8,::1/128', '127.0.0.0/8']) {
      const { resolver, asked } = recordingResolver();
      const client = createWebhookHttpClient({ policy: policy(allowed), timeoutMs: 2000, resolver });
      cleanups.push(() => client.close());
      const result = await client.post(`http://localhost:${receiver.port}/hook`, webhook);
      expect(result).toMatchObject({ kind: 'response', status: 200, body: 'ok' });
      expect(asked).toEqual([]);
    }
    expect(receiver.hosts).toEqual([`localhost:${receiver.port}`, `localhost:${receiver.port}`]);
  });

  it('blocks localhost when no loopback address is allowed; the receiver sees nothing', async () => {
    const receiver = await startReceiver();
    const { resolver, asked } = recordingResolver();
    const client = createWebhookHttpClient({ policy: policy('10.0.0.0/8'), timeoutMs: 2000, resolver });
    cleanups.push(() => client.close());
    const result = await client.post(`http://localhost:${receiver.port}/hook`, webhook);
    expect(result).toMatchObject({ kind: 'error', error: 'blocked' });
    expect(receiver.connections()).toBe(0);
    expect(asked).toEqual([]);
  });
});
