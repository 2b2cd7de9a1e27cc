// Tests of the delivery resolver (server/delivery/dns.ts): /etc/hosts, then c-ares against a real
// DNS server on loopback UDP (test/helpers/dns-server.ts), with search domains, a TTL cache and
// failures that end in time. No query leaves the machine: every resolver here is pointed at the
// loopback server, and hosts and resolv.conf are temporary files.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  createDnsResolver,
  parseHostsFile,
  parseResolvConf,
  searchCandidates,
  type DnsResolverOptions,
} from '../../server/delivery/dns.js';
import { ConfigError, loadConfig } from '../../server/env.js';
import { startFakeDnsServer, type DnsAnswer, type FakeDnsServer } from '../helpers/dns-server.js';

const directory = mkdtempSync(join(tmpdir(), 'hookline-dns-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(directory, name);
  writeFileSync(path, text);
  return path;
}
const emptyHosts = file('hosts-empty', '');

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function dnsServer(answer: (name: string) => DnsAnswer): Promise<FakeDnsServer> {
  const server = await startFakeDnsServer(answer);
  cleanups.push(() => server.close());
  return server;
}

function resolverFor(server: FakeDnsServer, options: Partial<DnsResolverOptions> = {}) {
  const resolver = createDnsResolver({ timeoutMs: 300, servers: [server.server], hostsPath: emptyHosts, resolvConfPath: null, ...options });
  cleanups.push(() => resolver.close());
  return resolver;
}

const queriesFor = (server: FakeDnsServer, name: string) => server.queries.filter((q) => q.name === name).length;

describe('createDnsResolver over a loopback DNS server', () => {
  it('answers A and AAAA, keeps the answer for its TTL, and asks again once it expires', async () => {
    const server = await dnsServer(() => ({ addresses: ['127.0.0.1', '::1'], ttl: 30 }));
    let clock = 1_000_000;
    const { resolve } = resolverFor(server, { now: () => clock });

    expect(await resolve('Receiver.Test')).toEqual([
      { address: '127.0.0.1', family: 4 },
      { address: '::1', family: 6 },
    ]);
    expect(server.queries.map((q) => `${q.name} ${q.type}`).sort()).toEqual(['receiver.test A', 'receiver.test AAAA']);

    clock += 29_000;
    await resolve('receiver.test');
    expect(server.queries).toHaveLength(2);

    clock += 2_000;
    await resolve('receiver.test');
    expect(server.queries).toHaveLength(4);
  });

  it('does not keep a TTL-0 answer, and keeps a long TTL at most 5 minutes', async () => {
    const server = await dnsServer((name) => ({ addresses: ['127.0.0.1'], ttl: name.startsWith('zero') ? 0 : 86_400 }));
    let clock = 1_000_000;
    const { resolve } = resolverFor(server, { now: () => clock });

    await resolve('zero.test');
    await resolve('zero.test');
    expect(queriesFor(server, 'zero.test')).toBe(4);

    await resolve('day.test');
    clock += 4 * 60_000;
    await resolve('day.test');
    expect(queriesFor(server, 'day.test')).toBe(2);
    clock += 61_000;
    await resolve('day.test');
    expect(queriesFor(server, 'day.test')).toBe(4);
  });

  it('keeps at most maxEntries names, dropping the oldest', async () => {
    const server = await dnsServer(() => ({ addresses: ['127.0.0.1'], ttl: 300 }));
    const { resolve } = resolverFor(server, { maxEntries: 2 });
    for (const name of ['one.test', 'two.test', 'three.test', 'three.test', 'two.test']) await resolve(name);
    expect(['one.test', 'two.test', 'three.test'].map((name) => queriesFor(server, name))).toEqual([2, 2, 2]);
    await resolve('one.test'); // evicted by three.test
    expect(queriesFor(server, 'one.test')).toBe(4);
  });

  it('sends one query for many concurrent lookups of a name', async () => {
    const server = await dnsServer(() => ({ addresses: ['127.0.0.1'], ttl: 300 }));
    const { resolve } = resolverFor(server);
    const answers = await Promise.all(Array.from({ length: 20 }, () => resolve('busy.test')));
    expect(answers.every((a) => a[0]?.address === '127.0.0.1')).toBe(true);
    expect(queriesFor(server, 'busy.test')).toBe(2); // A and AAAA
  });

  it('ends a lookup the server never answers in about its timeout, while other names answer at once', async () => {
    const server = await dnsServer((name) => (name.endsWith('.stall.test') ? 'swallow' : { addresses: ['127.0.0.1'], ttl: 60 }));
    let clock = Date.now();
    const { resolve } = resolverFor(server, { timeoutMs: 300, now: () => clock });

    const startedAt = performance.now();
    const stalled = Array.from({ length: 50 }, (_, i) =>
      resolve(`a${i}.stall.test`).then(
        () => ({ error: undefined, ms: performance.now() - startedAt }),
        (error: NodeJS.ErrnoException) => ({ error, ms: performance.now() - startedAt }),
      ),
    );
    const answered = await resolve('b.ok.test');
    const answeredMs = performance.now() - startedAt;
    expect(answered).toEqual([{ address: '127.0.0.1', family: 4 }]);
    expect(answeredMs).toBeLessThan(200);

    const outcomes = await Promise.all(stalled);
    for (const { error, ms } of outcomes) {
      expect(error?.code).toBe('ETIMEOUT');
      expect(ms).toBeGreaterThanOrEqual(290);
      expect(ms).toBeLessThan(800);
    }

    // The failure is remembered for a moment: the next attempt fails at once without a query.
    const before = server.queries.length;
    await expect(resolve('a0.stall.test')).rejects.toMatchObject({ code: 'ETIMEOUT' });
    expect(server.queries.length).toBe(before);
    clock += 3_000;
    await expect(resolve('a0.stall.test')).rejects.toMatchObject({ code: 'ETIMEOUT' });
    expect(server.queries.length).toBeGreaterThan(before);
  });

  it('answers names in the hosts file without a query', async () => {
    const server = await dnsServer(() => ({ addresses: ['127.0.0.9'], ttl: 60 }));
    const hostsPath = file(
      'hosts',
      '# comment\n127.0.0.1\tlocalhost\n127.0.0.5  Receiver.Example.com alias.example.com # trailing\n::1 receiver.example.com\n',
    );
    const { resolve } = resolverFor(server, { hostsPath });
    expect(await resolve('receiver.example.com')).toEqual([
      { address: '127.0.0.5', family: 4 },
      { address: '::1', family: 6 },
    ]);
    expect(await resolve('alias.example.com.')).toEqual([{ address: '127.0.0.5', family: 4 }]);
    expect(server.queries).toHaveLength(0);
    expect(await resolve('other.example.com')).toEqual([{ address: '127.0.0.9', family: 4 }]);
  });

  it("applies resolv.conf's search domains in glibc's order, and stops at a server that does not answer", async () => {
    const server = await dnsServer((name) => {
      if (name === 'hooks.staging.svc.test') return { addresses: ['127.0.0.7'], ttl: 60 };
      if (name === 'api.example.org') return { addresses: ['127.0.0.8'], ttl: 60 };
      if (name.startsWith('slow.')) return 'swallow';
      return 'nxdomain';
    });
    const resolvConfPath = file('resolv.conf', 'nameserver 127.0.0.1\nsearch ns.svc.test svc.test\noptions ndots:3 timeout:1\n');
    const { resolve } = resolverFor(server, { resolvConfPath });

    // Fewer dots than ndots: the search domains first, then the name as given.
    expect(await resolve('hooks.staging')).toEqual([{ address: '127.0.0.7', family: 4 }]);
    expect([...new Set(server.queries.map((q) => q.name))]).toEqual(['hooks.staging.ns.svc.test', 'hooks.staging.svc.test']);
    expect(await resolve('api.example.org')).toEqual([{ address: '127.0.0.8', family: 4 }]);

    server.queries.length = 0;
    // The error names no search domain (the operator's own): only the failure and its code.
    await expect(resolve('slow.example.org')).rejects.toMatchObject({
      code: 'ETIMEOUT',
      message: 'the DNS server did not answer within 300 ms (ETIMEOUT)',
    });
    expect([...new Set(server.queries.map((q) => q.name))]).toEqual(['slow.example.org.ns.svc.test']);
  });

  it('reports a name that does not exist', async () => {
    const server = await dnsServer(() => 'nxdomain');
    const { resolve } = resolverFor(server);
    await expect(resolve('nowhere.test')).rejects.toMatchObject({ code: 'ENOTFOUND', message: 'no such name (ENOTFOUND)' });
  });
});

describe('resolver configuration files', () => {
  it('searchCandidates follows ndots and a trailing dot', () => {
    expect(searchCandidates('a.b', ['x.test', 'y.test'], 1)).toEqual(['a.b', 'a.b.x.test', 'a.b.y.test']);
    expect(searchCandidates('a.b', ['x.test'], 5)).toEqual(['a.b.x.test', 'a.b']);
    expect(searchCandidates('a.b.', ['x.test'], 5)).toEqual(['a.b']);
    expect(searchCandidates('a.b', [], 5)).toEqual(['a.b']);
  });

  it('parseResolvConf reads search, domain and ndots; the last search line wins', () => {
    expect(parseResolvConf('nameserver 10.0.0.1\ndomain corp.test\nsearch a.test B.test.  # note\noptions ndots:5 attempts:2\n')).toEqual({
      search: ['a.test', 'b.test'],
      ndots: 5,
    });
    expect(parseResolvConf('')).toEqual({ search: [], ndots: 1 });
  });

  it('parseHostsFile skips comments and lines that are not addresses', () => {
    const hosts = parseHostsFile('# x\nnot-an-ip name.test\n10.0.0.1 a.test b.test\n\n10.0.0.1 a.test\n');
    expect([...hosts.entries()]).toEqual([
      ['a.test', [{ address: '10.0.0.1', family: 4 }]],
      ['b.test', [{ address: '10.0.0.1', family: 4 }]],
    ]);
  });
});

describe('HOOKLINE_DNS_TIMEOUT', () => {
  it('defaults to half the attempt timeout, at most 5 s, and must be shorter than HOOKLINE_TIMEOUT', () => {
    expect(loadConfig({}).dnsTimeoutMs).toBe(5_000);
    expect(loadConfig({ HOOKLINE_TIMEOUT: '2s' }).dnsTimeoutMs).toBe(1_000);
    expect(loadConfig({ HOOKLINE_TIMEOUT: '2s', HOOKLINE_DNS_TIMEOUT: '1500ms' }).dnsTimeoutMs).toBe(1_500);
    expect(() => loadConfig({ HOOKLINE_TIMEOUT: '2s', HOOKLINE_DNS_TIMEOUT: '2s' })).toThrow(ConfigError);
    expect(() => loadConfig({ HOOKLINE_DNS_TIMEOUT: 'soon' })).toThrow(/HOOKLINE_DNS_TIMEOUT/);
  });
});
