// Name resolution for webhook deliveries, built so that one tenant's dead DNS cannot hold back
// another tenant's deliveries.
//
// Not getaddrinfo (dns.lookup): it runs on libuv's thread pool (4 threads, shared with fs and
// crypto), cannot be cancelled, and a name whose DNS server never answers holds a thread for the
// system resolver's full timeout (seconds × tries × search domains), long after the attempt gave
// up. Twenty such names fill the pool and every other lookup queues behind them. Instead:
//   1. /etc/hosts, read by us (operators map names there: Docker `extra_hosts`, Kubernetes
//      `hostAliases`), exact name only, as glibc's `files` source does;
//   2. DNS through c-ares (dns.promises.Resolver): queries are UDP packets on the event loop, so a
//      query that is never answered occupies nothing but a timer; the servers are the system's
//      (c-ares reads /etc/resolv.conf); the `search` domains and `ndots` of /etc/resolv.conf are
//      applied here, in glibc's order, since c-ares' query API skips them (Kubernetes service
//      names such as `receiver.staging` rely on them).
// Answers are cached by their TTL (bounded, capped), failures briefly, and concurrent lookups of a
// name share one query. A lookup ends at its deadline, its queries cancelled.
import dns from 'node:dns';
import { readFile } from 'node:fs/promises';
import net from 'node:net';

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Maps a hostname to its addresses; rejects when it cannot. Injectable: tests answer their own names. */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export interface DnsResolverOptions {
  /** How long one lookup may take, search domains included; its queries are then cancelled. */
  timeoutMs: number;
  /** DNS servers (`host:port`) instead of the system's: tests point these at a loopback server. */
  servers?: readonly string[];
  hostsPath?: string;
  /** Where `search` and `ndots` are read from; null = no search domains. */
  resolvConfPath?: string | null;
  /** Names kept in the cache at most. */
  maxEntries?: number;
  now?: () => number;
}

export interface DnsResolver {
  resolve: Resolver;
  /** Ends every query still waiting (at shutdown). */
  close(): void;
}

/** A lookup's deadline when none is configured: half the attempt's, at most 5 s. */
export function defaultDnsTimeoutMs(attemptTimeoutMs: number): number {
  return Math.max(1, Math.min(5_000, Math.floor(attemptTimeoutMs / 2)));
}

/** A TTL is honoured up to this: a long-lived worker still notices a moved receiver. */
const MAX_TTL_MS = 5 * 60_000;
/**
 * How long a failed lookup (no such name, no answer) is remembered: a burst of deliveries to a dead
 * name pays one timeout, not one each; short enough that the first retry (5 s) asks again.
 */
const FAILURE_TTL_MS = 2_000;
/** /etc/hosts and /etc/resolv.conf are read again at most this often. */
const SYSTEM_FILES_TTL_MS = 10_000;

type CacheEntry = { expiresAt: number; addresses: ResolvedAddress[] } | { expiresAt: number; error: Error };

export function createDnsResolver(options: DnsResolverOptions): DnsResolver {
  const { timeoutMs, maxEntries = 10_000, now = Date.now } = options;
  const hostsPath = options.hostsPath ?? '/etc/hosts';
  const resolvConfPath = options.resolvConfPath === undefined ? '/etc/resolv.conf' : options.resolvConfPath;
  const channels = new Set<dns.promises.Resolver>();
  const cache = new Map<string, CacheEntry>();
  const inFlight = new Map<string, Promise<ResolvedAddress[]>>();
  const systemFiles = cachedLoad(now, SYSTEM_FILES_TTL_MS, () => readSystemFiles(hostsPath, resolvConfPath));

  function remember(hostname: string, entry: CacheEntry): void {
    cache.delete(hostname);
    // Map keeps insertion order: the first key is the least recently stored.
    if (cache.size >= maxEntries) cache.delete(cache.keys().next().value!);
    cache.set(hostname, entry);
  }

  async function lookup(hostname: string): Promise<ResolvedAddress[]> {
    const { hosts, search, ndots } = await systemFiles();
    const fromHosts = hosts.get(hostname.replace(/\.$/, ''));
    if (fromHosts) return fromHosts;
    // A c-ares channel of its own per lookup, so that the deadline can cancel this lookup's
    // queries (cancel() ends every query of a channel), and c-ares' timeouts, which it adapts to
    // the latencies it has seen, start from the configured one (a channel that has seen fast cache
    // hits would give up on a slow name early). Its timeout doubles on the retry: t + 2t = the budget.
    const channel = new dns.promises.Resolver({ timeout: Math.max(1, Math.floor(timeoutMs / 3)), tries: 2 });
    if (options.servers) channel.setServers([...options.servers]);
    channels.add(channel);
    let timedOut = false;
    const deadline = setTimeout(() => {
      timedOut = true;
      channel.cancel();
    }, timeoutMs);
    let lastError: Error | undefined;
    try {
      for (const candidate of searchCandidates(hostname, search, ndots)) {
        try {
          const { addresses, ttlSeconds } = await queryBothFamilies(channel, candidate);
          remember(hostname, { expiresAt: now() + Math.min(ttlSeconds * 1000, MAX_TTL_MS), addresses });
          return addresses;
        } catch (error) {
          lastError = error as Error;
          // Only "no such name" moves on to the next search domain; a server that does not answer
          // or fails is an answer for all of them (as glibc stops).
          if (!isNoSuchName(error)) break;
        }
      }
    } finally {
      clearTimeout(deadline);
      channel.cancel();
      channels.delete(channel);
    }
    const error = timedOut
      ? Object.assign(new Error(`the DNS server did not answer within ${timeoutMs} ms (${dns.TIMEOUT})`), { code: dns.TIMEOUT })
      : describedFailure(lastError);
    remember(hostname, { expiresAt: now() + FAILURE_TTL_MS, error });
    throw error;
  }

  const resolve: Resolver = (hostname) => {
    const name = hostname.toLowerCase();
    const cached = cache.get(name);
    if (cached && cached.expiresAt > now()) {
      return 'error' in cached ? Promise.reject(cached.error) : Promise.resolve(cached.addresses);
    }
    let pending = inFlight.get(name);
    if (!pending) {
      pending = lookup(name).finally(() => inFlight.delete(name));
      inFlight.set(name, pending);
    }
    return pending;
  };

  return {
    resolve,
    close() {
      for (const channel of channels) channel.cancel();
    },
  };
}

/** A/AAAA in parallel; either family alone is an answer. The TTL is the shortest of the records'. */
async function queryBothFamilies(
  resolver: dns.promises.Resolver,
  hostname: string,
): Promise<{ addresses: ResolvedAddress[]; ttlSeconds: number }> {
  const [v4, v6] = await Promise.allSettled([resolver.resolve4(hostname, { ttl: true }), resolver.resolve6(hostname, { ttl: true })]);
  const records = [
    ...(v4.status === 'fulfilled' ? v4.value.map((r) => ({ address: r.address, family: 4 as const, ttl: r.ttl })) : []),
    ...(v6.status === 'fulfilled' ? v6.value.map((r) => ({ address: r.address, family: 6 as const, ttl: r.ttl })) : []),
  ];
  if (records.length === 0) {
    // Report the more telling failure: a timeout or server failure over "no records of this type".
    const reasons = [v4, v6].flatMap((r) => (r.status === 'rejected' ? [r.reason as NodeJS.ErrnoException] : []));
    throw reasons.find((r) => !isNoSuchName(r)) ?? reasons[0] ?? new Error(`${hostname} has no addresses`);
  }
  return {
    addresses: records.map(({ address, family }) => ({ address, family })),
    ttlSeconds: Math.min(...records.map((r) => r.ttl)),
  };
}

const FAILURE_WORDS: Record<string, string> = {
  [dns.TIMEOUT]: 'the DNS server did not answer',
  [dns.NOTFOUND]: 'no such name',
  [dns.NODATA]: 'the name has no address records',
  [dns.SERVFAIL]: 'the DNS server failed',
  [dns.REFUSED]: 'the DNS server refused the query',
  [dns.CONNREFUSED]: 'the DNS server could not be reached',
};

/**
 * The failure in words and its code, without the name c-ares last asked: with search domains that
 * is the name plus one of the operator's domains, which is not the tenant's business.
 */
function describedFailure(error: Error | undefined): Error {
  const code = (error as NodeJS.ErrnoException | undefined)?.code ?? dns.NODATA;
  return Object.assign(new Error(`${FAILURE_WORDS[code] ?? 'the lookup failed'} (${code})`, { cause: error }), { code });
}

function isNoSuchName(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === dns.NOTFOUND || code === dns.NODATA;
}

/**
 * The names to query, in glibc's order (resolv.conf(5)): a name with at least `ndots` dots is
 * tried as given first, then with each search domain; a shorter one the other way round; a name
 * ending in a dot only as given.
 */
export function searchCandidates(hostname: string, search: readonly string[], ndots: number): string[] {
  if (hostname.endsWith('.')) return [hostname.slice(0, -1)];
  const dots = hostname.split('.').length - 1;
  const withDomains = search.map((domain) => `${hostname}.${domain}`);
  return dots >= ndots ? [hostname, ...withDomains] : [...withDomains, hostname];
}

export interface SystemResolverFiles {
  /** Lower-cased name → its addresses, in file order. */
  hosts: Map<string, ResolvedAddress[]>;
  search: string[];
  ndots: number;
}

/** Parses hosts(5): `address name [aliases…]`, `#` comments. */
export function parseHostsFile(text: string): Map<string, ResolvedAddress[]> {
  const hosts = new Map<string, ResolvedAddress[]>();
  for (const line of text.split('\n')) {
    const [address, ...names] = line.replace(/#.*/, '').trim().split(/\s+/);
    const family = net.isIP(address ?? '');
    if (family === 0) continue;
    for (const name of names) {
      const key = name.toLowerCase().replace(/\.$/, '');
      const list = hosts.get(key) ?? [];
      if (!list.some((a) => a.address === address)) list.push({ address: address!, family: family as 4 | 6 });
      hosts.set(key, list);
    }
  }
  return hosts;
}

/** The search list and ndots of resolv.conf(5) (the last `search` or `domain` line wins). */
export function parseResolvConf(text: string): { search: string[]; ndots: number } {
  let search: string[] = [];
  let ndots = 1;
  for (const line of text.split('\n')) {
    const [keyword, ...values] = line
      .replace(/[#;].*/, '')
      .trim()
      .split(/\s+/);
    if (keyword === 'search' || keyword === 'domain') {
      search = values.map((domain) => domain.toLowerCase().replace(/\.$/, '')).filter((domain) => domain !== '');
    } else if (keyword === 'options') {
      for (const option of values) {
        const match = /^ndots:(\d+)$/.exec(option);
        if (match) ndots = Math.min(Number(match[1]), 15);
      }
    }
  }
  return { search, ndots };
}

async function readSystemFiles(hostsPath: string, resolvConfPath: string | null): Promise<SystemResolverFiles> {
  const read = (path: string) => readFile(path, 'utf8').catch(() => '');
  const [hostsText, resolvConfText] = await Promise.all([read(hostsPath), resolvConfPath === null ? '' : read(resolvConfPath)]);
  return { hosts: parseHostsFile(hostsText), ...parseResolvConf(resolvConfText) };
}

/** `load()` at most once per `ttlMs`; callers meanwhile share the last result (or the load under way). */
function cachedLoad<T>(now: () => number, ttlMs: number, load: () => Promise<T>): () => Promise<T> {
  let current: { at: number; value: Promise<T> } | undefined;
  return () => {
    if (!current || now() - current.at >= ttlMs) current = { at: now(), value: load() };
    return current.value;
  };
}
