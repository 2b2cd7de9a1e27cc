// Endpoint URL safety (SSRF) rules: which URLs and IP addresses hookline may send webhooks to.
// Pure code: the API judges a URL when an endpoint is registered, the worker judges every
// resolved address again at connect time (server/delivery/http.ts), because DNS can change
// between the two. A refusal carries, apart from its reason, the setting that would lift it, which
// registration shows the caller (`refusalMessage`).
import ipaddr from 'ipaddr.js';

type IPAddress = ipaddr.IPv4 | ipaddr.IPv6;

/** One CIDR from HOOKLINE_ALLOWED_NETWORKS, parsed once at start. */
export interface AllowedNetwork {
  readonly cidr: string;
  readonly address: IPAddress;
  readonly prefixLength: number;
}

export interface UrlPolicy {
  /** Accept `http://` as well as `https://` (local development only). */
  allowHttp: boolean;
  /** Networks exempt from the private-address rule; never from the scheme or credential rules. */
  allowedNetworks: readonly AllowedNetwork[];
}

export type UrlVerdict = { ok: true; url: URL } | ({ ok: false } & UrlRefusal);

export interface UrlRefusal {
  /** Why the URL is refused: what a delivery attempt records too. */
  reason: string;
  /** What would lift the refusal (the setting that does), for whoever registers the URL; null when nothing does. */
  remedy: string | null;
}

/** A refusal as the caller registering a URL reads it: the reason, then what would lift it. */
export function refusalMessage(refusal: UrlRefusal): string {
  return refusal.remedy === null ? refusal.reason : `${refusal.reason} (${refusal.remedy})`;
}

export const MAX_URL_LENGTH = 2048;

/** Parses a comma-separated CIDR list; an empty string means no exemptions. */
export function parseAllowedNetworks(csv: string): AllowedNetwork[] {
  return csv
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
    .map(parseAllowedNetwork);
}

function parseAllowedNetwork(cidr: string): AllowedNetwork {
  let parsed: [IPAddress, number];
  try {
    parsed = ipaddr.parseCIDR(cidr);
  } catch {
    throw new Error(`allowed network "${cidr}" is not a valid CIDR (expected e.g. 10.0.0.0/8 or ::1/128)`);
  }
  const [address, prefixLength] = parsed;
  // Addresses are judged after ipaddr.process(), which turns ::ffff:a.b.c.d into plain IPv4,
  // so an IPv4-mapped CIDR would never match unless it is stated as IPv4 too.
  if (address.kind() === 'ipv6' && prefixLength >= 96 && (address as ipaddr.IPv6).isIPv4MappedAddress()) {
    return { cidr, address: (address as ipaddr.IPv6).toIPv4Address(), prefixLength: prefixLength - 96 };
  }
  return { cidr, address, prefixLength };
}

function isInAllowedNetworks(ip: IPAddress, networks: readonly AllowedNetwork[]): boolean {
  return networks.some((network) => network.address.kind() === ip.kind() && ip.match(network.address, network.prefixLength));
}

const HTTP_REMEDY = 'http:// is accepted when HOOKLINE_ALLOW_HTTP=true, for local development only';
const ADDRESS_REMEDY = 'allowed when its network is listed in HOOKLINE_ALLOWED_NETWORKS';
const LOCALHOST_REMEDY = 'allowed when HOOKLINE_ALLOWED_NETWORKS lists 127.0.0.0/8 or ::1/128';
// No setting exempts a name, only addresses.
const LOCAL_NAME_REMEDY =
  'names of local networks are never allowed: register the receiver by its IP address, allowed when its network is listed in HOOKLINE_ALLOWED_NETWORKS';

/**
 * The loopback addresses `localhost` stands for. RFC 6761 §6.3: `localhost` and every name under
 * `.localhost` are loopback, and an application may answer them itself; hookline does, so no
 * resolver (nor /etc/hosts) decides where they go.
 */
const LOCALHOST_ADDRESSES: ReadonlyArray<{ address: string; family: 4 | 6 }> = [
  { address: '127.0.0.1', family: 4 },
  { address: '::1', family: 6 },
];

function isLocalhostName(hostname: string): boolean {
  const name = hostname.toLowerCase().replace(/\.+$/, '');
  return name === 'localhost' || name.endsWith('.localhost');
}

/**
 * For `localhost` and `*.localhost`: the loopback addresses this policy allows (127.0.0.1, ::1,
 * either, or none), which are the addresses such a name connects to. null for any other name.
 */
export function localhostAddresses(hostname: string, policy: UrlPolicy): Array<{ address: string; family: 4 | 6 }> | null {
  if (!isLocalhostName(hostname)) return null;
  return LOCALHOST_ADDRESSES.filter(({ address }) => judgeAddress(address, policy) === null);
}

// Names that only mean something inside the machine or the cloud it runs in. DNS for them is
// whatever the local resolver says, so they are refused before any lookup.
const BLOCKED_HOSTNAMES = new Set([
  'metadata',
  'metadata.google.internal',
  'metadata.goog',
  'instance-data',
  'instance-data.ec2.internal',
  'metadata.tencentyun.com',
  'metadata.platformequinix.com',
]);

// Special-use suffixes (RFC 6762, RFC 8375, ICANN's .internal) that never name a public host.
// (`.localhost` is loopback, judged as such above.)
const BLOCKED_HOSTNAME_SUFFIXES = ['.local', '.localdomain', '.internal', '.home.arpa'];

// Special-purpose ranges with the words used in reasons. Checked before ipaddr.js's own
// range(), which also flags all of these in version 2.5; listing them here keeps the reasons
// precise and keeps these ranges closed even if a later ipaddr.js renames or drops one.
const BLOCKED_RANGES: ReadonlyArray<readonly [cidr: string, label: string]> = [
  ['0.0.0.0/8', 'this-network'],
  ['10.0.0.0/8', 'private'],
  ['100.64.0.0/10', 'carrier-grade NAT'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link-local'],
  ['172.16.0.0/12', 'private'],
  ['192.0.0.0/24', 'IETF protocol assignment'],
  ['192.0.2.0/24', 'documentation'],
  ['192.88.99.0/24', '6to4 relay anycast'],
  ['192.168.0.0/16', 'private'],
  ['198.18.0.0/15', 'benchmarking'],
  ['198.51.100.0/24', 'documentation'],
  ['203.0.113.0/24', 'documentation'],
  ['224.0.0.0/4', 'multicast'],
  ['255.255.255.255/32', 'broadcast'],
  ['240.0.0.0/4', 'reserved'],
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
  ['64:ff9b:1::/48', 'local-use NAT64'],
  ['100::/64', 'discard-only'],
  ['2001:db8::/32', 'documentation'],
  ['2001::/23', 'IETF protocol assignment'],
  ['3fff::/20', 'documentation'],
  ['fc00::/7', 'unique-local'],
  ['fe80::/10', 'link-local'],
  ['fec0::/10', 'site-local'],
  ['ff00::/8', 'multicast'],
];

const BLOCKED_RANGE_LIST = BLOCKED_RANGES.map(([cidr, label]) => ({ label, range: ipaddr.parseCIDR(cidr) }));

// ipaddr.js range names (lib/ipaddr.js, SpecialRanges) in the words used in reasons.
const IPADDR_RANGE_WORDS: Record<string, string> = {
  unspecified: 'unspecified',
  broadcast: 'broadcast',
  multicast: 'multicast',
  linkLocal: 'link-local',
  loopback: 'loopback',
  carrierGradeNat: 'carrier-grade NAT',
  private: 'private',
  reserved: 'reserved',
  as112: 'AS112',
  amt: 'AMT',
  uniqueLocal: 'unique-local',
  ipv4Mapped: 'IPv4-mapped',
  deprecatedSiteLocal: 'site-local',
  discard: 'discard-only',
  rfc6145: 'IPv4-translated',
  rfc6052: 'NAT64',
  '6to4': '6to4',
  teredo: 'Teredo',
  benchmarking: 'benchmarking',
  as112v6: 'AS112',
  deprecatedOrchid: 'ORCHID',
  orchid2: 'ORCHIDv2',
  droneRemoteIdProtocolEntityTags: 'drone remote ID',
  segmentRouting: 'segment-routing',
};

const GLOBAL_UNICAST_IPV6 = ipaddr.parseCIDR('2000::/3');
const NAT64_WELL_KNOWN = ipaddr.parseCIDR('64:ff9b::/96');
const SIX_TO_FOUR = ipaddr.parseCIDR('2002::/16');
const TEREDO = ipaddr.parseCIDR('2001::/32');
const IPV4_COMPATIBLE = ipaddr.parseCIDR('::/96');

/** Why this address may not be reached, or null when it is a public unicast address. */
function blockedLabel(ip: IPAddress): string | null {
  for (const { label, range } of BLOCKED_RANGE_LIST) {
    if (range[0].kind() === ip.kind() && ip.match(range)) return label;
  }
  const range: string = ip.range();
  if (range !== 'unicast') return IPADDR_RANGE_WORDS[range] ?? `special-purpose (${range})`;
  return null;
}

function ipv4FromLast32Bits(ip: ipaddr.IPv6, xorMask = 0): ipaddr.IPv4 {
  const bits = (((ip.parts[6] ?? 0) << 16) | (ip.parts[7] ?? 0)) ^ xorMask;
  return new ipaddr.IPv4([(bits >>> 24) & 0xff, (bits >>> 16) & 0xff, (bits >>> 8) & 0xff, bits & 0xff]);
}

/**
 * Judges an IP address (as DNS or a URL gives it; IPv6 without brackets).
 * Returns null when it may be reached, else the reason.
 */
export function judgeAddress(address: string, policy: UrlPolicy): string | null {
  const text = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  // Only canonical forms: anything else (octal, hex, short IPv4) is spelled differently by
  // every parser, and DNS answers and WHATWG-parsed URLs are always canonical.
  if (!ipaddr.IPv4.isValidFourPartDecimal(text) && !ipaddr.IPv6.isValid(text)) {
    return `${address} is not an IP address`;
  }
  const ip = ipaddr.process(text);
  if (isInAllowedNetworks(ip, policy.allowedNetworks)) return null;
  if (ip.kind() === 'ipv6') {
    const embeddedReason = judgeIPv4InsideIPv6(ip as ipaddr.IPv6, policy);
    if (embeddedReason !== undefined) return embeddedReason;
  }
  const label = blockedLabel(ip);
  if (label !== null) return `${label} address ${ip.toString()} is not allowed`;
  if (ip.kind() === 'ipv6' && !ip.match(GLOBAL_UNICAST_IPV6)) {
    return `IPv6 address ${ip.toString()} is not allowed: it is outside the global unicast range 2000::/3`;
  }
  return null;
}

/**
 * IPv6 forms that carry an IPv4 address and reach it through a translator or tunnel.
 * Returns undefined when the address is none of them.
 */
function judgeIPv4InsideIPv6(ip: ipaddr.IPv6, policy: UrlPolicy): string | null | undefined {
  const text = ip.toString();
  if (ip.match(NAT64_WELL_KNOWN)) {
    // IPv6-only networks with DNS64 hand out 64:ff9b::a.b.c.d for every IPv4-only receiver,
    // so these are judged by the IPv4 address the NAT64 gateway will connect to.
    const ipv4 = ipv4FromLast32Bits(ip);
    if (isInAllowedNetworks(ipv4, policy.allowedNetworks)) return null;
    const label = blockedLabel(ipv4);
    return label === null ? null : `NAT64 address ${text} is not allowed: it embeds ${label} address ${ipv4.toString()}`;
  }
  // 6to4, Teredo and IPv4-compatible addresses are deprecated tunnels no receiver needs; they
  // are refused outright, naming the IPv4 address they would reach.
  if (ip.match(SIX_TO_FOUR)) {
    const ipv4 = new ipaddr.IPv4([ip.parts[1]! >> 8, ip.parts[1]! & 0xff, ip.parts[2]! >> 8, ip.parts[2]! & 0xff]);
    return `6to4 address ${text} is not allowed (it embeds IPv4 address ${ipv4.toString()})`;
  }
  if (ip.match(TEREDO)) {
    // RFC 4380: the client's IPv4 address is stored inverted in the last 32 bits.
    return `Teredo address ${text} is not allowed (its client is IPv4 address ${ipv4FromLast32Bits(ip, 0xffffffff).toString()})`;
  }
  if (ip.match(IPV4_COMPATIBLE) && ip.range() === 'unicast') {
    return `IPv4-compatible address ${text} is not allowed (it embeds IPv4 address ${ipv4FromLast32Bits(ip).toString()})`;
  }
  return undefined;
}

/** Judges a DNS name (already lower-cased and punycoded by WHATWG URL). */
function judgeHostname(hostname: string, policy: UrlPolicy): UrlRefusal | null {
  const name = hostname.replace(/\.+$/, '');
  if (name === '') return { reason: `hostname ${hostname} is not allowed`, remedy: null };
  const loopback = localhostAddresses(name, policy);
  if (loopback !== null) {
    if (loopback.length > 0) return null;
    return { reason: `hostname ${hostname} is not allowed: it is loopback (127.0.0.1 and ::1)`, remedy: LOCALHOST_REMEDY };
  }
  if (BLOCKED_HOSTNAMES.has(name) || BLOCKED_HOSTNAME_SUFFIXES.some((suffix) => name.endsWith(suffix))) {
    return { reason: `hostname ${hostname} is not allowed`, remedy: LOCAL_NAME_REMEDY };
  }
  // A name without a dot is resolved through the machine's search domains (intranet,
  // kubernetes service names), never through public DNS.
  if (!name.includes('.')) {
    return {
      reason: `hostname ${hostname} is not allowed: single-label names only resolve inside a local network`,
      remedy: LOCAL_NAME_REMEDY,
    };
  }
  return null;
}

// Every ASCII control character, space, and any Unicode whitespace: WHATWG URL silently
// strips or percent-encodes these, so the URL stored would differ from the one submitted.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const CONTROL_OR_WHITESPACE = /[\u0000-\u0020\u007f]|\s/;

/** Judges an endpoint URL. On success returns the parsed URL, whose canonical form should be stored. */
export function judgeUrl(raw: string, policy: UrlPolicy): UrlVerdict {
  const reject = (reason: string, remedy: string | null = null): UrlVerdict => ({ ok: false, reason, remedy });
  if (raw.length > MAX_URL_LENGTH) return reject(`URLs longer than ${MAX_URL_LENGTH} characters are not allowed`);
  // Browsers and WHATWG treat "\" as "/" in http URLs, other parsers do not: a classic way to
  // make two parsers see two different hosts.
  if (raw.includes('\\')) return reject('URLs with backslashes are not allowed');
  if (CONTROL_OR_WHITESPACE.test(raw)) return reject('URLs with control characters or whitespace are not allowed');

  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return reject('not a valid absolute URL');
  }
  const schemeAllowed = url.protocol === 'https:' || (policy.allowHttp && url.protocol === 'http:');
  if (!schemeAllowed) {
    if (policy.allowHttp) return reject('only http and https URLs are allowed');
    return reject('only https URLs are allowed', url.protocol === 'http:' ? HTTP_REMEDY : null);
  }
  if (url.username !== '' || url.password !== '') return reject('URLs with credentials are not allowed');

  // WHATWG has already turned every IPv4 spelling (decimal, octal, hex, short, percent-encoded,
  // full-width) into dotted decimal and wrapped IPv6 in brackets, so the canonical host is
  // either an IP literal or a DNS name.
  const host = url.hostname;
  const isIpLiteral = host.startsWith('[') || ipaddr.IPv4.isValidFourPartDecimal(host);
  if (isIpLiteral) {
    const reason = judgeAddress(host, policy);
    return reason === null ? { ok: true, url } : reject(reason, ADDRESS_REMEDY);
  }
  const refusal = judgeHostname(host, policy);
  return refusal === null ? { ok: true, url } : { ok: false, ...refusal };
}

/**
 * The kind of an address in the words reasons use ("private", "loopback", "link-local"), without
 * the address itself: what a tenant may be told about where its endpoint's name points (the
 * address may be the operator's internal network). "public" when no rule blocks its range.
 */
export function addressKind(address: string): string {
  const text = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  if (!ipaddr.IPv4.isValidFourPartDecimal(text) && !ipaddr.IPv6.isValid(text)) return 'malformed';
  const ip = ipaddr.process(text);
  const label = blockedLabel(ip);
  if (label !== null) return label;
  return ip.kind() === 'ipv6' && !ip.match(GLOBAL_UNICAST_IPV6) ? 'non-global IPv6' : 'public';
}
