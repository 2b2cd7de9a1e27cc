// Tests of the outbound webhook HTTP client (server/delivery/http.ts) and its connect-time SSRF
// guards.
//
// Network rule: these tests send packets only to loopback (127.0.0.1, ::1), even if the code
// under test were broken. Private and public addresses are therefore only ever handed to the
// guard functions directly, never to a client that could open a socket; real sockets only see
// resolvers that answer with loopback addresses.
import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BlockedDestinationError,
  DnsLookupError,
  createGuardedLookup,
  createWebhookHttpClient,
  guardConnectTarget,
  withoutAddresses,
  type Resolver,
  type WebhookHttpClient,
} from '../../server/delivery/http.js';
import { judgeAddress, judgeUrl, parseAllowedNetworks, type UrlPolicy } from '../../shared/url-rules.js';

const loopbackAllowed: UrlPolicy = { allowHttp: true, allowedNetworks: parseAllowedNetworks('127.0.0.0/8,::1/128') };
const nothingAllowed: UrlPolicy = { allowHttp: true, allowedNetworks: [] };

type Addresses = Awaited<ReturnType<Resolver>>;

/** A resolver answering from a fixed table; unknown names fail like getaddrinfo does. */
function tableResolver(table: Record<string, Addresses>): Resolver {
  return async (hostname) => {
    const addresses = table[hostname];
    if (addresses) return addresses;
    throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
  };
}

const v4 = (address: string) => ({ address, family: 4 as const });
const v6 = (address: string) => ({ address, family: 6 as const });

// ---------------------------------------------------------------------------------------------
// Loopback receivers

interface ReceivedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

interface Receiver {
  port: number;
  requests: ReceivedRequest[];
  connections: () => number;
}

const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startReceiver(respond: (req: ReceivedRequest, res: http.ServerResponse) => void, host = '127.0.0.1'): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  let connections = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const received = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) };
      requests.push(received);
      respond(received, res);
    });
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, host, resolve));
  cleanups.push(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { port: (server.address() as net.AddressInfo).port, requests, connections: () => connections };
}

function client(options: Parameters<typeof createWebhookHttpClient>[0]): WebhookHttpClient {
  const created = createWebhookHttpClient(options);
  cleanups.push(() => created.close());
  return created;
}

const ok = (_req: ReceivedRequest, res: http.ServerResponse) => res.end('ok');
const webhook = { headers: { 'content-type': 'application/json' }, body: '{"hello":"world"}' };

async function closedLoopbackPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function hasIPv6Loopback(): Promise<boolean> {
  const server = net.createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(0, '::1', () => server.close(() => resolve(true)));
  });
}

// ---------------------------------------------------------------------------------------------
// Guards, without sockets: the only place non-loopback addresses appear.

describe('guardConnectTarget (IP literals never reach lookup)', () => {
  it.each([
    ['10.0.0.1', 'private address 10.0.0.1 is not allowed'],
    ['169.254.169.254', 'link-local address 169.254.169.254 is not allowed'],
    ['100.64.0.1', 'carrier-grade NAT address 100.64.0.1'],
    ['127.0.0.1', 'loopback address 127.0.0.1 is not allowed'],
    ['::1', 'loopback address ::1 is not allowed'],
    ['::ffff:10.0.0.1', 'private address 10.0.0.1'],
    ['fd00::1', 'unique-local address fd00::1'],
    ['64:ff9b::a00:1', 'it embeds private address 10.0.0.1'],
  ])('blocks %s', (host, reason) => {
    expect(guardConnectTarget(host, nothingAllowed)).toContain(reason);
  });

  it('allows public and allowlisted addresses, and leaves names to the lookup', () => {
    expect(guardConnectTarget('8.8.8.8', nothingAllowed)).toBeNull();
    expect(guardConnectTarget('2606:4700:4700::1111', nothingAllowed)).toBeNull();
    expect(guardConnectTarget('127.0.0.1', loopbackAllowed)).toBeNull();
    expect(guardConnectTarget('::1', loopbackAllowed)).toBeNull();
    expect(guardConnectTarget('receiver.test', nothingAllowed)).toBeNull();
  });
});

describe('createGuardedLookup (names, judged address by address)', () => {
  const resolver = tableResolver({
    'internal.test': [v4('10.0.0.1')],
    'metadata.test': [v4('169.254.169.254')],
    'mixed.test': [v4('93.184.215.14'), v4('10.0.0.1')],
    'mapped.test': [v6('::ffff:192.168.0.1')],
    'ula.test': [v6('fd00::1')],
    'public.test': [v4('93.184.215.14'), v6('2606:2800:21f:cb07:6820:80da:af6b:8b2c')],
    'empty.test': [],
  });
  const lookup = createGuardedLookup(nothingAllowed, resolver, { timeoutMs: 1000 });

  function callLookup(hostname: string, options: { all?: boolean; family?: number }) {
    return new Promise<{ error: Error | null; address: unknown; family: unknown }>((resolve) => {
      lookup(hostname, options, (error, address, family) => resolve({ error, address, family }));
    });
  }

  it.each([
    ['internal.test', 'private', '10.0.0.1', 'internal.test resolves to 10.0.0.1: private address 10.0.0.1 is not allowed'],
    ['metadata.test', 'link-local', '169.254.169.254', 'link-local address 169.254.169.254 is not allowed'],
    ['mixed.test', 'private', '10.0.0.1', 'mixed.test resolves to 10.0.0.1: private address 10.0.0.1'],
    ['mapped.test', 'private', '192.168.0.1', 'private address 192.168.0.1'],
    ['ula.test', 'unique-local', 'fd00::1', 'unique-local address fd00::1'],
  ])(
    'blocks %s in both callback shapes; the message names the kind, only the detail the address',
    async (hostname, kind, address, detail) => {
      for (const options of [{ all: true }, {}, { family: 4 }]) {
        const { error } = await callLookup(hostname, options);
        expect(error).toBeInstanceOf(BlockedDestinationError);
        expect(error?.message).toBe(`${hostname} resolves to a blocked address (${kind}); see HOOKLINE_ALLOWED_NETWORKS`);
        expect(error?.message).not.toContain(address);
        expect((error as BlockedDestinationError).detail).toContain(detail);
      }
    },
  );

  it('answers { all: true } with every address', async () => {
    const { error, address } = await callLookup('public.test', { all: true });
    expect(error).toBeNull();
    expect(address).toEqual([v4('93.184.215.14'), v6('2606:2800:21f:cb07:6820:80da:af6b:8b2c')]);
  });

  it('answers a single-address lookup with (address, family), honouring family', async () => {
    expect(await callLookup('public.test', {})).toEqual({ error: null, address: '93.184.215.14', family: 4 });
    expect(await callLookup('public.test', { family: 6 })).toEqual({
      error: null,
      address: '2606:2800:21f:cb07:6820:80da:af6b:8b2c',
      family: 6,
    });
  });

  it('reports resolver failures and empty answers as DNS errors', async () => {
    const failed = await callLookup('nowhere.test', { all: true });
    expect(failed.error).toBeInstanceOf(DnsLookupError);
    expect(failed.error?.message).toContain('could not resolve nowhere.test');
    const empty = await callLookup('empty.test', {});
    expect(empty.error).toBeInstanceOf(DnsLookupError);
  });
});

// ---------------------------------------------------------------------------------------------
// Real sockets, loopback only.

describe('webhook HTTP client over loopback', () => {
  it('(a) blocks an IP-literal loopback URL that is not allowlisted; the receiver sees nothing', async () => {
    const receiver = await startReceiver(ok);
    const result = await client({ policy: nothingAllowed, timeoutMs: 2000 }).post(`http://127.0.0.1:${receiver.port}/`, webhook);
    expect(result).toMatchObject({ kind: 'error', error: 'blocked', message: 'loopback address 127.0.0.1 is not allowed' });
    expect(receiver.connections()).toBe(0);
  });

  it('reports URLs it cannot parse as invalid_url and disallowed schemes as blocked', async () => {
    const receiver = await startReceiver(ok);
    const httpsOnly = client({ policy: { allowHttp: false, allowedNetworks: loopbackAllowed.allowedNetworks }, timeoutMs: 2000 });
    expect(await httpsOnly.post('::not a url::', webhook)).toMatchObject({ kind: 'error', error: 'invalid_url' });
    expect(await httpsOnly.post(`http://127.0.0.1:${receiver.port}/`, webhook)).toMatchObject({
      kind: 'error',
      error: 'blocked',
      message: 'only https URLs are allowed',
    });
    expect(receiver.connections()).toBe(0);
  });

  it('(b) delivers to an allowlisted address: headers and body bytes intact, status and first 1 KiB returned', async () => {
    const replyBody = `${'x'.repeat(1023)}é${'y'.repeat(4000)}`;
    const receiver = await startReceiver((_req, res) => {
      res.writeHead(201, { 'x-reply': 'yes' }).end(replyBody);
    });
    const payload = Buffer.concat([Buffer.from('{"bytes":"'), Buffer.from(Array.from({ length: 256 }, (_, i) => i)), Buffer.from('"}')]);
    const result = await client({ policy: loopbackAllowed, timeoutMs: 2000 }).post(
      `http://127.0.0.1:${receiver.port}/hooks?tenant=t1#frag`,
      {
        headers: { 'content-type': 'application/json', 'webhook-id': 'msg_1', 'webhook-signature': 'v1,abc= v1,def=' },
        body: payload,
      },
    );

    expect(result).toMatchObject({ kind: 'response', status: 201 });
    if (result.kind !== 'response') return;
    expect(result.headers['x-reply']).toBe('yes');
    // 1023 ASCII bytes, then "é" cut in half at the 1 KiB boundary: the half is dropped.
    expect(result.body).toBe('x'.repeat(1023));
    // The receiver answers at once: well inside the 2 s timeout.
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
    expect(result.durationMs).toBeLessThan(2000);

    expect(receiver.requests).toHaveLength(1);
    const [received] = receiver.requests;
    expect(received?.method).toBe('POST');
    expect(received?.url).toBe('/hooks?tenant=t1');
    expect(received?.headers['content-type']).toBe('application/json');
    expect(received?.headers['webhook-id']).toBe('msg_1');
    expect(received?.headers['webhook-signature']).toBe('v1,abc= v1,def=');
    expect(received?.headers['content-length']).toBe(String(payload.length));
    expect(received?.body.equals(payload)).toBe(true);
  });

  it('(c) delivers to a name resolving to an allowlisted address, and blocks it when not allowlisted', async () => {
    const receiver = await startReceiver(ok);
    const resolver = tableResolver({ 'receiver.test': [v4('127.0.0.1')] });
    const url = `http://receiver.test:${receiver.port}/`;

    const blocked = await client({ policy: nothingAllowed, timeoutMs: 2000, resolver }).post(url, webhook);
    expect(blocked).toMatchObject({
      kind: 'error',
      error: 'blocked',
      message: 'receiver.test resolves to a blocked address (loopback); see HOOKLINE_ALLOWED_NETWORKS',
    });
    expect(receiver.connections()).toBe(0);

    const delivered = await client({ policy: loopbackAllowed, timeoutMs: 2000, resolver }).post(url, webhook);
    expect(delivered).toMatchObject({ kind: 'response', status: 200, body: 'ok' });
    expect(receiver.requests[0]?.headers.host).toBe(`receiver.test:${receiver.port}`);
  });

  it('(d) blocks DNS rebinding: public at registration, loopback at connect', async () => {
    const receiver = await startReceiver(ok);
    const answers: Addresses[] = [[v4('93.184.215.14')], [v4('127.0.0.1')]];
    let calls = 0;
    // After the first answer (consumed by the test's own registration check below, never by
    // the client) this resolver only ever answers loopback.
    const rebinding: Resolver = async () => answers[Math.min(calls++, answers.length - 1)]!;
    const url = `http://rebind.test:${receiver.port}/`;

    // Registration: the URL passes the rules and the name resolves to a public address.
    expect(judgeUrl(url, nothingAllowed).ok).toBe(true);
    const atRegistration = await rebinding('rebind.test');
    expect(atRegistration.map(({ address }) => judgeAddress(address, nothingAllowed))).toEqual([null]);

    const result = await client({ policy: nothingAllowed, timeoutMs: 2000, resolver: rebinding }).post(url, webhook);
    expect(result).toMatchObject({ kind: 'error', error: 'blocked' });
    expect(result.kind === 'error' && result.message).toBe(
      'rebind.test resolves to a blocked address (loopback); see HOOKLINE_ALLOWED_NETWORKS',
    );
    expect(receiver.connections()).toBe(0);
  });

  it('(d) blocks a name whose answer mixes an allowed and a blocked address', async () => {
    const receiver = await startReceiver(ok);
    // 127.0.0.1 stands in for a public address (allowlisted), 127.0.0.2 for a private one:
    // the point is the mix, and both stay on loopback whatever the client does.
    const policy: UrlPolicy = { allowHttp: true, allowedNetworks: parseAllowedNetworks('127.0.0.1/32') };
    const resolver = tableResolver({ 'single.test': [v4('127.0.0.1')], 'mixed.test': [v4('127.0.0.1'), v4('127.0.0.2')] });
    const http1 = client({ policy, timeoutMs: 2000, resolver });

    expect(await http1.post(`http://single.test:${receiver.port}/`, webhook)).toMatchObject({ kind: 'response', status: 200 });
    const mixed = await http1.post(`http://mixed.test:${receiver.port}/`, webhook);
    expect(mixed).toMatchObject({
      kind: 'error',
      error: 'blocked',
      message: 'mixed.test resolves to a blocked address (loopback); see HOOKLINE_ALLOWED_NETWORKS',
    });
    expect(receiver.requests).toHaveLength(1);
  });

  it('(e) returns a 3xx as the response and never follows it', async () => {
    const receiver = await startReceiver((req, res) => {
      // Pointing back at the same receiver makes a followed redirect visible as a second request.
      if (req.url === '/start') res.writeHead(302, { location: `http://127.0.0.1:${receiver.port}/followed` }).end('moved');
      else res.end('followed');
    });
    const result = await client({ policy: loopbackAllowed, timeoutMs: 2000 }).post(`http://127.0.0.1:${receiver.port}/start`, webhook);
    expect(result).toMatchObject({ kind: 'response', status: 302, body: 'moved' });
    expect(result.kind === 'response' && result.headers.location).toBe(`http://127.0.0.1:${receiver.port}/followed`);
    expect(receiver.requests.map((req) => req.url)).toEqual(['/start']);
  });

  it('(f) times out a receiver that never answers, within about timeoutMs', async () => {
    const receiver = await startReceiver(() => {});
    const result = await client({ policy: loopbackAllowed, timeoutMs: 300 }).post(`http://127.0.0.1:${receiver.port}/`, webhook);
    expect(result).toMatchObject({ kind: 'error', error: 'timeout' });
    expect(result.durationMs).toBeGreaterThanOrEqual(250);
    expect(result.durationMs).toBeLessThan(1500);
    expect(receiver.requests).toHaveLength(1);
  });

  it('(f) times out a receiver that sends headers but stalls the body', async () => {
    const receiver = await startReceiver((_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('partial');
    });
    const result = await client({ policy: loopbackAllowed, timeoutMs: 300 }).post(`http://127.0.0.1:${receiver.port}/`, webhook);
    expect(result).toMatchObject({ kind: 'error', error: 'timeout' });
    expect(result.durationMs).toBeLessThan(1500);
  });

  it('(g) reports a refused connection on a closed loopback port as connect', async () => {
    const port = await closedLoopbackPort();
    const result = await client({ policy: loopbackAllowed, timeoutMs: 2000 }).post(`http://127.0.0.1:${port}/`, webhook);
    expect(result).toMatchObject({ kind: 'error', error: 'connect' });
    expect(result.kind === 'error' && result.message).toContain('ECONNREFUSED');
  });

  it('(h) delivers to [::1] when ::1/128 is allowlisted, and blocks it otherwise', async () => {
    const ipv6 = await hasIPv6Loopback();
    if (!ipv6) {
      const port = await closedLoopbackPort();
      const result = await client({ policy: loopbackAllowed, timeoutMs: 2000 }).post(`http://[::1]:${port}/`, webhook);
      expect(result).toMatchObject({ kind: 'error', error: 'connect' });
      return;
    }
    const receiver = await startReceiver(ok, '::1');
    const url = `http://[::1]:${receiver.port}/`;
    const onlyIPv4Loopback: UrlPolicy = { allowHttp: true, allowedNetworks: parseAllowedNetworks('127.0.0.0/8') };

    expect(await client({ policy: onlyIPv4Loopback, timeoutMs: 2000 }).post(url, webhook)).toMatchObject({
      kind: 'error',
      error: 'blocked',
      message: 'loopback address ::1 is not allowed',
    });
    expect(receiver.connections()).toBe(0);
    expect(await client({ policy: loopbackAllowed, timeoutMs: 2000 }).post(url, webhook)).toMatchObject({
      kind: 'response',
      status: 200,
      body: 'ok',
    });
  });

  it('reports a failed name resolution as dns', async () => {
    const result = await client({ policy: loopbackAllowed, timeoutMs: 2000, resolver: tableResolver({}) }).post(
      'http://nowhere.test/',
      webhook,
    );
    expect(result).toMatchObject({ kind: 'error', error: 'dns' });
    expect(result.kind === 'error' && result.message).toContain('could not resolve nowhere.test');
  });

  it('ends a lookup that is never answered as dns at its own deadline, inside the attempt deadline', async () => {
    const receiver = await startReceiver(ok);
    const asked: string[] = [];
    const neverAnswers: Resolver = (hostname) => {
      asked.push(hostname);
      return new Promise(() => {});
    };
    const result = await client({ policy: loopbackAllowed, timeoutMs: 1500, dnsTimeoutMs: 200, resolver: neverAnswers }).post(
      `http://stalled.test:${receiver.port}/`,
      webhook,
    );
    expect(result).toMatchObject({ kind: 'error', error: 'dns', message: 'stalled.test: no DNS answer within 200 ms' });
    expect(result.durationMs).toBeGreaterThanOrEqual(180);
    expect(result.durationMs).toBeLessThan(1000);
    expect(asked).toEqual(['stalled.test']);
    expect(receiver.connections()).toBe(0);
  });

  it('gives a lookup half the attempt deadline by default', async () => {
    const result = await client({ policy: loopbackAllowed, timeoutMs: 400, resolver: () => new Promise(() => {}) }).post(
      'http://stalled.test/',
      webhook,
    );
    expect(result).toMatchObject({ kind: 'error', error: 'dns', message: 'stalled.test: no DNS answer within 200 ms' });
  });

  it('keeps the address a name resolved to out of a connect error, and a blocked one in the operator log only', async () => {
    const port = await closedLoopbackPort();
    const resolver = tableResolver({ 'refusing.test': [v4('127.0.0.1')], 'inside.test': [v4('127.0.0.3')] });
    const logged: Array<{ detail: unknown; message: string }> = [];
    const logger = { warn: (detail: unknown, message: string) => logged.push({ detail, message }) } as never;
    const policy: UrlPolicy = { allowHttp: true, allowedNetworks: parseAllowedNetworks('127.0.0.1/32') };
    const http1 = client({ policy, timeoutMs: 2000, resolver, logger });

    const refused = await http1.post(`http://refusing.test:${port}/`, webhook);
    expect(refused).toMatchObject({ kind: 'error', error: 'connect' });
    expect(refused.kind === 'error' && refused.message).toContain('ECONNREFUSED');
    expect(refused.kind === 'error' && refused.message).not.toContain('127.0.0.1');

    const blocked = await http1.post(`http://inside.test:${port}/`, webhook);
    expect(blocked).toMatchObject({
      kind: 'error',
      error: 'blocked',
      message: 'inside.test resolves to a blocked address (loopback); see HOOKLINE_ALLOWED_NETWORKS',
    });
    expect(logged).toEqual([
      {
        detail: {
          url: `http://inside.test:${port}`,
          detail: 'inside.test resolves to 127.0.0.3: loopback address 127.0.0.3 is not allowed',
        },
        message: expect.stringContaining('delivery blocked'),
      },
    ]);
  });

  it('reports a TLS handshake failure as tls', async () => {
    // An https URL pointed at a plain-HTTP receiver: the handshake cannot succeed.
    const receiver = await startReceiver(ok);
    const policy: UrlPolicy = { allowHttp: false, allowedNetworks: loopbackAllowed.allowedNetworks };
    const result = await client({ policy, timeoutMs: 2000 }).post(`https://127.0.0.1:${receiver.port}/`, webhook);
    expect(result).toMatchObject({ kind: 'error', error: 'tls' });
  });

  it('reuses the keep-alive connection after a short reply, and drops it after a long one', async () => {
    const receiver = await startReceiver((req, res) => {
      res.end(req.url === '/large' ? Buffer.alloc(1024 * 1024, 'z') : 'short reply');
    });
    // One connection per origin, so a second connection can only mean the first was dropped.
    const http1 = client({ policy: loopbackAllowed, timeoutMs: 2000, connections: 1 });
    const base = `http://127.0.0.1:${receiver.port}`;

    expect(await http1.post(`${base}/short`, webhook)).toMatchObject({ kind: 'response', body: 'short reply' });
    expect(await http1.post(`${base}/short`, webhook)).toMatchObject({ kind: 'response', body: 'short reply' });
    expect(receiver.connections()).toBe(1);

    const large = await http1.post(`${base}/large`, webhook);
    expect(large).toMatchObject({ kind: 'response', status: 200, body: 'z'.repeat(1024) });
    expect(await http1.post(`${base}/short`, webhook)).toMatchObject({ kind: 'response', body: 'short reply' });
    expect(receiver.connections()).toBe(2);
  });
});

describe('withoutAddresses', () => {
  it.each([
    ['connect ECONNREFUSED 10.96.0.10:443', 'connect ECONNREFUSED [address withheld]'],
    ['connect ETIMEDOUT 10.0.0.1', 'connect ETIMEDOUT [address withheld]'],
    ['connect EHOSTUNREACH fd00::1:443', 'connect EHOSTUNREACH [address withheld]'],
    ['connect ECONNREFUSED [2001:db8::1]:8443 after 3 tries', 'connect ECONNREFUSED [address withheld] after 3 tries'],
    ['IP: ::ffff:10.0.0.1 is not in the list', 'IP: [address withheld] is not in the list'],
  ])('%s', (message, expected) => {
    expect(withoutAddresses(message)).toBe(expected);
  });

  it('leaves words, versions, times and names alone', () => {
    const message = 'HTTP/1.1 at 12:30:45 from receiver.example.com: other side closed (v1.2)';
    expect(withoutAddresses(message)).toBe(message);
  });
});
