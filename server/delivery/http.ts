// The one place hookline makes outbound HTTP requests: a webhook POST to a receiver, guarded
// against SSRF at connect time. Nothing else in the project may call fetch or undici.
//
// The URL is judged first (shared/url-rules.ts). Then every connection goes through two guards:
// IP-literal hosts are judged in the connector, DNS names in the socket's lookup, which
// resolves once, judges every address and hands only those to the socket. The address judged
// is the address connected to, so DNS rebinding between registration and delivery (or between
// a check and the connect) cannot reach a private address.
//
// Names resolve through server/delivery/dns.ts (not getaddrinfo), each lookup within its own
// deadline, shorter than the attempt's: a DNS server that never answers ends as error 'dns' and
// holds nothing other deliveries need. What a tenant reads in an attempt's error never carries an
// address its endpoint's name resolved to (that may be the operator's internal network); the
// operator's log gets the detail.
import net from 'node:net';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { Agent, buildConnector } from 'undici';
import { addressKind, judgeAddress, judgeUrl, localhostAddresses, type UrlPolicy } from '../../shared/url-rules.js';
import type { Logger } from '../logger.js';
import { createDnsResolver, defaultDnsTimeoutMs, type ResolvedAddress, type Resolver } from './dns.js';

export type { Resolver } from './dns.js';

export type PostError = 'timeout' | 'dns' | 'connect' | 'tls' | 'network' | 'blocked' | 'invalid_url';

export type PostResult =
  | {
      kind: 'response';
      status: number;
      headers: Record<string, string | string[] | undefined>;
      /** The first 1 KiB of the response body, decoded as UTF-8. */
      body: string;
      durationMs: number;
    }
  | { kind: 'error'; error: PostError; message: string; durationMs: number };

export interface WebhookRequest {
  headers: Record<string, string>;
  body: string | Buffer;
}

export interface WebhookHttpClient {
  /** Never throws for network conditions: every outcome is a PostResult. */
  post(url: string, request: WebhookRequest): Promise<PostResult>;
  close(): Promise<void>;
}

export interface WebhookHttpClientOptions {
  policy: UrlPolicy;
  /** Deadline for the whole attempt: DNS, connect, TLS, response headers and body. */
  timeoutMs: number;
  /** Deadline for one name lookup (default: half the attempt's, at most 5 s); shorter than timeoutMs. */
  dnsTimeoutMs?: number;
  /** Default: server/delivery/dns.ts with the system's hosts file and DNS servers. */
  resolver?: Resolver;
  /** Where the detail of a blocked destination goes (the operator's log). */
  logger?: Pick<Logger, 'warn'>;
  /** Keep-alive connections per receiver origin. */
  connections?: number;
}

const BODY_PREVIEW_BYTES = 1024;
/** URLs judged per client: a process delivers to the same few endpoints over and over. */
const MAX_JUDGED_URLS = 10_000;
// Reading a short remainder lets the keep-alive connection be reused; past this it is cheaper
// to drop the connection than to download a receiver's large reply.
const BODY_DRAIN_LIMIT_BYTES = 64 * 1024;

/**
 * Thrown inside the connect path when the destination is not allowed; becomes error 'blocked'.
 * `message` is what the tenant reads; `detail` (with the address) is for the operator's log.
 */
export class BlockedDestinationError extends Error {
  override name = 'BlockedDestinationError';
  constructor(
    message: string,
    readonly detail?: string,
  ) {
    super(message);
  }
}

/** Thrown by the guarded lookup when the name cannot be resolved; becomes error 'dns'. */
export class DnsLookupError extends Error {
  override name = 'DnsLookupError';
}

export interface GuardedLookupOptions {
  /** A lookup not answered by then fails as DnsLookupError (the resolver may go on, unheard). */
  timeoutMs: number;
}

/**
 * Resolves a name and judges every address. One blocked address condemns the whole answer:
 * whoever controls the DNS record controls the mix, and with several addresses the socket
 * (Happy Eyeballs) picks which one it connects to, not us.
 */
async function resolveAllowedAddresses(
  hostname: string,
  policy: UrlPolicy,
  resolver: Resolver,
  timeoutMs: number,
): Promise<ResolvedAddress[]> {
  let addresses: ResolvedAddress[];
  try {
    // `localhost` names stand for loopback (shared/url-rules.ts): no resolver is asked.
    const noAnswer = () => new DnsLookupError(`${hostname}: no DNS answer within ${timeoutMs} ms`);
    addresses = localhostAddresses(hostname, policy) ?? (await withinDeadline(resolver(hostname), timeoutMs, noAnswer));
  } catch (error) {
    if (error instanceof DnsLookupError) throw error;
    throw new DnsLookupError(`could not resolve ${hostname}: ${withoutAddresses(errorMessage(error))}`, { cause: error });
  }
  if (addresses.length === 0) throw new DnsLookupError(`${hostname} has no addresses`);
  for (const { address } of addresses) {
    const reason = judgeAddress(address, policy);
    if (reason !== null) {
      throw new BlockedDestinationError(
        `${hostname} resolves to a blocked address (${addressKind(address)}); see HOOKLINE_ALLOWED_NETWORKS`,
        `${hostname} resolves to ${address}: ${reason}`,
      );
    }
  }
  return addresses;
}

/** Settles as `promise` does, or rejects with `timedOut()` after `ms`, whichever comes first. */
function withinDeadline<T>(promise: Promise<T>, ms: number, timedOut: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(timedOut()), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/**
 * A `lookup` for net.connect / tls.connect that only ever yields judged addresses. Node calls
 * it with `{ all: true }` when it may try several addresses (autoSelectFamily) and without
 * otherwise; both callback shapes are answered.
 */
export function createGuardedLookup(policy: UrlPolicy, resolver: Resolver, guard: GuardedLookupOptions): net.LookupFunction {
  return (hostname, options, callback) => {
    const wantedFamily = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : options.family;
    // then(onFulfilled, onRejected) rather than .catch: the callback must run exactly once.
    resolveAllowedAddresses(hostname, policy, resolver, guard.timeoutMs).then(
      (allowed) => {
        const addresses = wantedFamily === 4 || wantedFamily === 6 ? allowed.filter((a) => a.family === wantedFamily) : allowed;
        const first = addresses[0];
        if (first === undefined) callback(new DnsLookupError(`${hostname} has no IPv${wantedFamily} address`), '');
        else if (options.all) callback(null, addresses);
        else callback(null, first.address, first.family);
      },
      (error: NodeJS.ErrnoException) => callback(error, ''),
    );
  };
}

/**
 * Judges the host a connector is asked to connect to. IP literals never reach `lookup`, so
 * they are judged here; names are judged address by address in the guarded lookup.
 */
export function guardConnectTarget(host: string, policy: UrlPolicy): string | null {
  return net.isIP(host) === 0 ? null : judgeAddress(host, policy);
}

function createGuardedConnector(policy: UrlPolicy, resolver: Resolver, timeoutMs: number, dnsTimeoutMs: number): buildConnector.connector {
  const connect = buildConnector({ lookup: createGuardedLookup(policy, resolver, { timeoutMs: dnsTimeoutMs }), timeout: timeoutMs });
  return (options, callback) => {
    const reason = guardConnectTarget(options.hostname, policy);
    if (reason !== null) {
      callback(new BlockedDestinationError(reason), null);
      return;
    }
    connect(options, callback);
  };
}

export function createWebhookHttpClient(options: WebhookHttpClientOptions): WebhookHttpClient {
  const { policy, timeoutMs, connections = 100, logger } = options;
  const dnsTimeoutMs = options.dnsTimeoutMs ?? defaultDnsTimeoutMs(timeoutMs);
  const ownDns = options.resolver ? undefined : createDnsResolver({ timeoutMs: dnsTimeoutMs });
  const resolver = options.resolver ?? ownDns!.resolve;
  // No maxRedirections and no redirect interceptor: a 3xx is the receiver's answer, and
  // following it would let a receiver point us at any address.
  const agent = new Agent({
    connections,
    pipelining: 1,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    connect: createGuardedConnector(policy, resolver, timeoutMs, dnsTimeoutMs),
  });

  // The verdict on a URL string never changes for a fixed policy (judging makes no connection), so
  // each is judged once; the addresses are still judged on every connection.
  const destinations = new Map<string, Destination>();
  const destinationOf = (rawUrl: string): Destination => {
    let destination = destinations.get(rawUrl);
    if (!destination) {
      const verdict = judgeUrl(rawUrl, policy);
      destination = verdict.ok
        ? { ok: true, origin: verdict.url.origin, path: `${verdict.url.pathname}${verdict.url.search}` }
        : { ok: false, error: URL.canParse(rawUrl) ? 'blocked' : 'invalid_url', reason: verdict.reason };
      if (destinations.size >= MAX_JUDGED_URLS) destinations.clear();
      destinations.set(rawUrl, destination);
    }
    return destination;
  };

  async function post(rawUrl: string, request: WebhookRequest): Promise<PostResult> {
    const startedAt = performance.now();
    const elapsedMs = () => Math.round(performance.now() - startedAt);

    const destination = destinationOf(rawUrl);
    if (!destination.ok) return { kind: 'error', error: destination.error, message: destination.reason, durationMs: elapsedMs() };

    const deadline = AbortSignal.timeout(timeoutMs);
    try {
      const response = await agent.request({
        origin: destination.origin,
        path: destination.path,
        method: 'POST',
        headers: request.headers,
        body: request.body,
        signal: deadline,
      });
      const body = await readBodyPreview(response.body);
      return { kind: 'response', status: response.statusCode, headers: response.headers, body, durationMs: elapsedMs() };
    } catch (error) {
      const { kind, message } = deadline.aborted
        ? { kind: 'timeout' as const, message: `no complete response within ${timeoutMs} ms` }
        : classifyError(error);
      if (error instanceof BlockedDestinationError && error.detail !== undefined) {
        logger?.warn(
          { url: destination.origin, detail: error.detail },
          'delivery blocked: the name resolves to an address that is not allowed',
        );
      }
      return { kind: 'error', error: kind, message, durationMs: elapsedMs() };
    }
  }

  return {
    post,
    async close() {
      ownDns?.close();
      await agent.close();
    },
  };
}

type Destination = { ok: true; origin: string; path: string } | { ok: false; error: 'blocked' | 'invalid_url'; reason: string };

/**
 * Keeps the first 1 KiB for the attempt record; drains a short rest, drops the connection for a
 * long one. (Listeners rather than `for await`: an async iterator per response costs more.)
 */
function readBodyPreview(body: Readable): Promise<string> {
  return new Promise((resolve, reject) => {
    const preview: Buffer[] = [];
    let previewBytes = 0;
    let receivedBytes = 0;
    const finish = (error?: unknown) => {
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onError);
      body.off('close', onClose);
      body.on('error', () => {}); // a stream destroyed below may still report its abort
      if (error !== undefined) reject(error);
      // StringDecoder.write holds back a multi-byte character cut in half at the 1 KiB boundary.
      else resolve(new StringDecoder('utf8').write(Buffer.concat(preview)));
    };
    const onData = (chunk: Buffer) => {
      receivedBytes += chunk.length;
      if (previewBytes < BODY_PREVIEW_BYTES) {
        const kept = chunk.subarray(0, BODY_PREVIEW_BYTES - previewBytes);
        preview.push(kept);
        previewBytes += kept.length;
      }
      if (receivedBytes > BODY_DRAIN_LIMIT_BYTES) {
        // Destroying the body drops the connection instead of downloading the rest.
        finish();
        body.destroy();
      }
    };
    const onEnd = () => finish();
    const onError = (error: unknown) => finish(error);
    const onClose = () => finish(new Error('the response body closed before it ended'));
    body.on('data', onData);
    body.once('end', onEnd);
    body.once('error', onError);
    body.once('close', onClose);
  });
}

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);
const CONNECT_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'EHOSTDOWN', 'ENETDOWN']);
const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'ENODATA']);
// OpenSSL and Node TLS codes: ERR_TLS_*, ERR_SSL_*, certificate verification codes, EPROTO.
const TLS_CODE = /^(ERR_TLS_|ERR_SSL_|EPROTO$)|CERT|UNABLE_TO_VERIFY/;

function classifyError(error: unknown): { kind: PostError; message: string } {
  // Blocked and DNS messages are written to be shown; anything else (a socket's "connect
  // ECONNREFUSED 10.1.2.3:443") may name an address the endpoint's name resolved to.
  if (error instanceof BlockedDestinationError) return { kind: 'blocked', message: error.message };
  if (error instanceof DnsLookupError) return { kind: 'dns', message: error.message };
  const message = withoutAddresses(errorMessage(error));
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    if (TIMEOUT_CODES.has(code)) return { kind: 'timeout', message };
    if (CONNECT_CODES.has(code)) return { kind: 'connect', message };
    if (DNS_CODES.has(code)) return { kind: 'dns', message };
    if (TLS_CODE.test(code)) return { kind: 'tls', message };
  }
  return { kind: 'network', message };
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// Runs of characters an IP address (with a port) is written in; each run is checked by net.isIP.
const ADDRESS_LIKE = /\[?[0-9A-Fa-f:.]*[:.][0-9A-Fa-f:.]*(?:%[\w.-]+)?\]?(?::\d+)?/g;

/** The message with every IP address (and its port) replaced by "[address withheld]". */
export function withoutAddresses(message: string): string {
  return message.replace(ADDRESS_LIKE, (token) => {
    const bare = token
      .replace(/^\[/, '')
      .replace(/\](?::\d+)?$/, '')
      .replace(/%[\w.-]+$/, '');
    const isAddress = net.isIP(bare) !== 0 || net.isIPv4(bare.replace(/:\d+$/, ''));
    return isAddress ? '[address withheld]' : token;
  });
}
