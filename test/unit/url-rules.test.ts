// Table-driven tests of the endpoint URL safety rules (shared/url-rules.ts): every spelling of
// an internal address we know of, the boundaries of each blocked range, and the exemptions.
import { describe, expect, it } from 'vitest';
import {
  judgeAddress,
  judgeUrl,
  localhostAddresses,
  parseAllowedNetworks,
  refusalMessage,
  type UrlPolicy,
} from '../../shared/url-rules.js';

const httpsOnly: UrlPolicy = { allowHttp: false, allowedNetworks: [] };
const withHttp: UrlPolicy = { allowHttp: true, allowedNetworks: [] };
const localTesting: UrlPolicy = { allowHttp: true, allowedNetworks: parseAllowedNetworks('127.0.0.0/8,::1/128') };
const loopbackOnlyHttps: UrlPolicy = { allowHttp: false, allowedNetworks: parseAllowedNetworks('127.0.0.0/8') };
const privateTen: UrlPolicy = { allowHttp: true, allowedNetworks: parseAllowedNetworks('10.0.0.0/8') };
const mappedTen: UrlPolicy = { allowHttp: true, allowedNetworks: parseAllowedNetworks('::ffff:10.0.0.0/104') };
const uniqueLocal: UrlPolicy = { allowHttp: false, allowedNetworks: parseAllowedNetworks('fd00::/8') };

type Row =
  | { url: string; policy?: UrlPolicy; href?: string; note?: string }
  | { url: string; policy?: UrlPolicy; reason: string; note?: string };

const accepted: Row[] = [
  { url: 'https://example.com/hooks' },
  { url: 'https://api.example.com:8443/v1/hooks?tenant=1' },
  { url: 'https://EXAMPLE.com/Path', href: 'https://example.com/Path' },
  { url: 'https://example.com./', note: 'fully qualified name with trailing dot' },
  { url: 'https://receiver.test/' },
  { url: 'https://bücher.example/', href: 'https://xn--bcher-kva.example/', note: 'IDN becomes punycode' },
  { url: 'https://8.8.8.8/' },
  { url: 'https://1.1.1.1/' },
  { url: 'https://[2606:4700:4700::1111]/' },
  { url: 'https://[2001:4860:4860::8888]/', note: 'outside 2001::/23' },
  { url: 'https://[::ffff:8.8.8.8]/', note: 'IPv4-mapped public address' },
  { url: 'https://[64:ff9b::8.8.8.8]/', href: 'https://[64:ff9b::808:808]/', note: 'DNS64/NAT64 to a public IPv4' },
  { url: 'https://9.255.255.255/', note: 'just below 10.0.0.0/8' },
  { url: 'https://11.0.0.0/', note: 'just above 10.0.0.0/8' },
  { url: 'https://172.15.255.255/', note: 'just below 172.16.0.0/12' },
  { url: 'https://172.32.0.0/', note: 'just above 172.16.0.0/12' },
  { url: 'https://192.167.255.255/', note: 'just below 192.168.0.0/16' },
  { url: 'https://192.169.0.0/', note: 'just above 192.168.0.0/16' },
  { url: 'https://100.63.255.255/', note: 'just below 100.64.0.0/10' },
  { url: 'https://100.128.0.0/', note: 'just above 100.64.0.0/10' },
  { url: 'https://169.253.255.255/', note: 'just below 169.254.0.0/16' },
  { url: 'https://169.255.0.0/', note: 'just above 169.254.0.0/16' },
  { url: 'https://126.255.255.255/', note: 'just below 127.0.0.0/8' },
  { url: 'https://128.0.0.0/', note: 'just above 127.0.0.0/8' },
  { url: 'https://198.17.255.255/', note: 'just below 198.18.0.0/15' },
  { url: 'https://198.20.0.0/', note: 'just above 198.18.0.0/15' },
  { url: 'https://223.255.255.255/', note: 'just below 224.0.0.0/4' },
  { url: 'https://1.0.0.0/', note: 'just above 0.0.0.0/8' },
  { url: 'http://example.com/', policy: withHttp },
  { url: 'http://127.0.0.1:3000/hook', policy: localTesting },
  { url: 'http://2130706433/', policy: localTesting, href: 'http://127.0.0.1/' },
  { url: 'http://[::1]:3000/', policy: localTesting },
  { url: 'http://[::ffff:127.0.0.1]/', policy: localTesting, note: 'IPv4-mapped matched against an IPv4 CIDR' },
  { url: 'http://10.1.2.3/', policy: privateTen },
  { url: 'http://10.0.0.1/', policy: mappedTen, note: 'IPv4-mapped CIDR matches plain IPv4' },
  { url: 'https://[fd00::5]/', policy: uniqueLocal },
  // localhost names are loopback: allowed when a loopback address is
  { url: 'http://localhost:3000/hook', policy: localTesting },
  { url: 'http://LOCALHOST:3000/', policy: localTesting, href: 'http://localhost:3000/' },
  { url: 'http://localhost./', policy: localTesting },
  { url: 'http://api.localhost:8080/', policy: localTesting, note: 'a name under .localhost' },
  { url: 'https://localhost/', policy: loopbackOnlyHttps, note: '127.0.0.0/8 alone is enough' },
  { url: 'https://localhost.example.com/', note: 'an ordinary name that starts with localhost' },
  {
    url: 'http://localhost/',
    policy: { allowHttp: true, allowedNetworks: parseAllowedNetworks('::1/128') },
    note: '::1/128 alone is enough',
  },
];

const rejected: Row[] = [
  // Schemes
  { url: 'http://example.com/', reason: 'only https URLs are allowed' },
  { url: 'ftp://example.com/', policy: withHttp, reason: 'only http and https URLs are allowed' },
  { url: 'file:///etc/passwd', reason: 'only https URLs are allowed' },
  { url: 'javascript:alert(1)', reason: 'only https URLs are allowed' },
  { url: 'gopher://example.com:70/', policy: withHttp, reason: 'only http and https URLs are allowed' },
  {
    url: 'http://127.0.0.1/',
    policy: loopbackOnlyHttps,
    reason: 'only https URLs are allowed',
    note: 'allowlist does not exempt the scheme rule',
  },
  // Credentials
  { url: 'https://user:pass@example.com/', reason: 'URLs with credentials are not allowed' },
  { url: 'https://user@example.com/', reason: 'URLs with credentials are not allowed' },
  { url: 'https://:secret@example.com/', reason: 'URLs with credentials are not allowed' },
  { url: 'https://user:pass@127.0.0.1/', policy: loopbackOnlyHttps, reason: 'URLs with credentials are not allowed' },
  // Parser differentials and malformed input
  { url: 'https://example.com\\@10.0.0.1/', reason: 'backslashes' },
  { url: 'https:\\\\10.0.0.1\\', reason: 'backslashes' },
  { url: 'https://example.com/\n', reason: 'control characters or whitespace' },
  { url: 'https://exa\tmple.com/', reason: 'control characters or whitespace' },
  { url: ' https://example.com/', reason: 'control characters or whitespace' },
  { url: 'https://example.com/a b', reason: 'control characters or whitespace' },
  { url: 'https://example.com/\u0000', reason: 'control characters or whitespace' },
  { url: 'https://example.com/\u007f', reason: 'control characters or whitespace' },
  { url: 'https://example.com/\u00a0', reason: 'control characters or whitespace' },
  { url: `https://example.com/${'a'.repeat(2040)}`, reason: 'longer than 2048 characters' },
  { url: 'not a url', reason: 'control characters or whitespace' },
  { url: 'example.com/hook', reason: 'not a valid absolute URL' },
  { url: 'https://', reason: 'not a valid absolute URL' },
  { url: 'https://1.2.3.4.5/', reason: 'not a valid absolute URL' },
  // Names
  { url: 'https://localhost/', reason: 'hostname localhost is not allowed' },
  { url: 'https://LOCALHOST:8080/', reason: 'hostname localhost is not allowed' },
  { url: 'https://localhost./', reason: 'hostname localhost. is not allowed' },
  { url: 'https://api.localhost/', reason: 'hostname api.localhost is not allowed' },
  { url: 'http://localhost/', policy: privateTen, reason: 'hostname localhost is not allowed', note: 'allowlist of another network' },
  {
    url: 'http://localhost.localdomain/',
    policy: localTesting,
    reason: 'hostname localhost.localdomain is not allowed',
    note: 'not a localhost name',
  },
  { url: 'https://metadata.google.internal/computeMetadata/v1/', reason: 'hostname metadata.google.internal is not allowed' },
  { url: 'https://metadata/', reason: 'hostname metadata is not allowed' },
  { url: 'https://metadata.goog/', reason: 'hostname metadata.goog is not allowed' },
  { url: 'https://instance-data/', reason: 'hostname instance-data is not allowed' },
  { url: 'https://instance-data.ec2.internal/', reason: 'hostname instance-data.ec2.internal is not allowed' },
  { url: 'https://db.internal/', reason: 'hostname db.internal is not allowed' },
  { url: 'https://printer.local/', reason: 'hostname printer.local is not allowed' },
  { url: 'https://router.home.arpa/', reason: 'hostname router.home.arpa is not allowed' },
  { url: 'https://intranet/', reason: 'single-label names' },
  // Loopback in every IPv4 spelling WHATWG accepts
  { url: 'https://127.0.0.1/', reason: 'loopback address 127.0.0.1 is not allowed' },
  { url: 'https://127.255.255.255/', reason: 'loopback address 127.255.255.255' },
  { url: 'https://2130706433/', reason: 'loopback address 127.0.0.1', note: 'decimal' },
  { url: 'https://0177.0.0.1/', reason: 'loopback address 127.0.0.1', note: 'octal' },
  { url: 'https://017700000001/', reason: 'loopback address 127.0.0.1', note: 'octal, one number' },
  { url: 'https://0x7f.1/', reason: 'loopback address 127.0.0.1', note: 'hex, short' },
  { url: 'https://0x7f000001/', reason: 'loopback address 127.0.0.1', note: 'hex, one number' },
  { url: 'https://127.1/', reason: 'loopback address 127.0.0.1', note: 'short' },
  { url: 'https://127.0.0.1./', reason: 'loopback address 127.0.0.1', note: 'trailing dot' },
  { url: 'https://%31%32%37.0.0.1/', reason: 'loopback address 127.0.0.1', note: 'percent-encoded' },
  { url: 'https://１２７.０.０.１/', reason: 'loopback address 127.0.0.1', note: 'full-width digits' },
  { url: 'http://127.0.0.1/', policy: privateTen, reason: 'loopback address 127.0.0.1', note: 'allowlist of another network' },
  // Other IPv4 special-purpose ranges
  { url: 'https://10.0.0.1/', reason: 'private address 10.0.0.1 is not allowed' },
  { url: 'https://10.255.255.255/', reason: 'private address 10.255.255.255' },
  { url: 'https://172.16.0.1/', reason: 'private address 172.16.0.1' },
  { url: 'https://172.31.255.255/', reason: 'private address 172.31.255.255' },
  { url: 'https://192.168.1.1/', reason: 'private address 192.168.1.1' },
  { url: 'https://0xa9fea9fe/', reason: 'link-local address 169.254.169.254', note: 'cloud metadata, hex' },
  { url: 'https://169.254.169.254/latest/meta-data/', reason: 'link-local address 169.254.169.254' },
  { url: 'https://100.64.0.1/', reason: 'carrier-grade NAT address 100.64.0.1' },
  { url: 'https://100.127.255.255/', reason: 'carrier-grade NAT address 100.127.255.255' },
  { url: 'https://100.100.100.200/', reason: 'carrier-grade NAT address 100.100.100.200', note: 'Alibaba metadata' },
  { url: 'https://0.0.0.0/', reason: 'this-network address 0.0.0.0' },
  { url: 'https://0/', reason: 'this-network address 0.0.0.0' },
  { url: 'https://0.255.255.255/', reason: 'this-network address 0.255.255.255' },
  { url: 'https://255.255.255.255/', reason: 'broadcast address 255.255.255.255' },
  { url: 'https://224.0.0.1/', reason: 'multicast address 224.0.0.1' },
  { url: 'https://239.255.255.250/', reason: 'multicast address 239.255.255.250' },
  { url: 'https://240.0.0.1/', reason: 'reserved address 240.0.0.1' },
  { url: 'https://192.0.0.1/', reason: 'IETF protocol assignment address 192.0.0.1' },
  { url: 'https://192.0.2.1/', reason: 'documentation address 192.0.2.1' },
  { url: 'https://198.51.100.7/', reason: 'documentation address 198.51.100.7' },
  { url: 'https://203.0.113.5/', reason: 'documentation address 203.0.113.5' },
  { url: 'https://198.18.0.1/', reason: 'benchmarking address 198.18.0.1' },
  { url: 'https://198.19.255.255/', reason: 'benchmarking address 198.19.255.255' },
  { url: 'https://192.88.99.1/', reason: '6to4 relay anycast address 192.88.99.1' },
  { url: 'https://192.175.48.1/', reason: 'AS112 address 192.175.48.1', note: 'caught by ipaddr.js range()' },
  // IPv6
  { url: 'https://[::1]/', reason: 'loopback address ::1 is not allowed' },
  { url: 'https://[0:0:0:0:0:0:0:1]/', reason: 'loopback address ::1' },
  { url: 'https://[::]/', reason: 'unspecified address ::' },
  {
    url: 'http://[::1]/',
    policy: { allowHttp: true, allowedNetworks: parseAllowedNetworks('127.0.0.0/8') },
    reason: 'loopback address ::1',
    note: 'IPv4 allowlist does not cover ::1',
  },
  { url: 'https://[::ffff:127.0.0.1]/', reason: 'loopback address 127.0.0.1', note: 'IPv4-mapped' },
  { url: 'https://[::ffff:7f00:1]/', reason: 'loopback address 127.0.0.1', note: 'IPv4-mapped, hex' },
  { url: 'https://[::ffff:10.0.0.1]/', reason: 'private address 10.0.0.1', note: 'IPv4-mapped' },
  { url: 'https://[::ffff:169.254.169.254]/', reason: 'link-local address 169.254.169.254', note: 'IPv4-mapped' },
  { url: 'https://[::127.0.0.1]/', reason: 'IPv4-compatible address ::7f00:1 is not allowed (it embeds IPv4 address 127.0.0.1)' },
  { url: 'https://[::8.8.8.8]/', reason: 'IPv4-compatible address', note: 'deprecated form, refused even for a public IPv4' },
  { url: 'https://[::ffff:0:7f00:1]/', reason: 'IPv4-translated address', note: 'RFC 6145' },
  { url: 'https://[64:ff9b::127.0.0.1]/', reason: 'NAT64 address 64:ff9b::7f00:1 is not allowed: it embeds loopback address 127.0.0.1' },
  { url: 'https://[64:ff9b::10.0.0.1]/', reason: 'it embeds private address 10.0.0.1' },
  { url: 'https://[64:ff9b::a9fe:a9fe]/', reason: 'it embeds link-local address 169.254.169.254' },
  { url: 'https://[64:ff9b:1::a00:1]/', reason: 'local-use NAT64 address' },
  { url: 'https://[2002:7f00:1::]/', reason: '6to4 address 2002:7f00:1:: is not allowed (it embeds IPv4 address 127.0.0.1)' },
  { url: 'https://[2002:808:808::1]/', reason: '6to4 address', note: 'deprecated tunnel, refused even for a public IPv4' },
  {
    url: 'https://[2001:0:4136:e378:8000:63bf:80ff:fffe]/',
    reason: 'Teredo address 2001:0:4136:e378:8000:63bf:80ff:fffe is not allowed (its client is IPv4 address 127.0.0.1)',
  },
  { url: 'https://[fc00::1]/', reason: 'unique-local address fc00::1' },
  { url: 'https://[fd12:3456:789a::1]/', reason: 'unique-local address fd12:3456:789a::1' },
  { url: 'https://[fe80::1]/', reason: 'link-local address fe80::1' },
  { url: 'https://[febf:ffff::1]/', reason: 'link-local address febf:ffff::1' },
  { url: 'https://[fec0::1]/', reason: 'site-local address fec0::1' },
  { url: 'https://[ff02::1]/', reason: 'multicast address ff02::1' },
  { url: 'https://[2001:db8::1]/', reason: 'documentation address 2001:db8::1' },
  { url: 'https://[3fff::1]/', reason: 'documentation address 3fff::1' },
  { url: 'https://[100::1]/', reason: 'discard-only address 100::1' },
  { url: 'https://[2001:2::1]/', reason: 'IETF protocol assignment address 2001:2::1', note: 'benchmarking, inside 2001::/23' },
  { url: 'https://[2620:4f:8000::1]/', reason: 'AS112 address 2620:4f:8000::1', note: 'caught by ipaddr.js range()' },
  { url: 'https://[5f00::1]/', reason: 'segment-routing address 5f00::1' },
  { url: 'https://[4000::1]/', reason: 'outside the global unicast range 2000::/3' },
];

function describeRow(row: Row): string {
  const url = row.url.length > 80 ? `${row.url.slice(0, 60)}… (${row.url.length} chars)` : JSON.stringify(row.url);
  return row.note ? `${url} (${row.note})` : url;
}

describe('judgeUrl', () => {
  it('covers at least 60 URL forms', () => {
    expect(accepted.length + rejected.length).toBeGreaterThanOrEqual(60);
  });

  describe('accepts', () => {
    it.each(accepted.map((row) => [describeRow(row), row] as const))('%s', (_name, row) => {
      const verdict = judgeUrl(row.url, row.policy ?? httpsOnly);
      expect(verdict).toMatchObject({ ok: true });
      if (verdict.ok && 'href' in row && row.href) expect(verdict.url.href).toBe(row.href);
    });
  });

  describe('rejects', () => {
    it.each(rejected.map((row) => [describeRow(row), row] as const))('%s', (_name, row) => {
      const verdict = judgeUrl(row.url, row.policy ?? httpsOnly);
      expect(verdict.ok).toBe(false);
      if (!verdict.ok && 'reason' in row) expect(verdict.reason).toContain(row.reason);
    });
  });
});

describe('refusals name the setting that lifts them', () => {
  it.each([
    ['http:// without HOOKLINE_ALLOW_HTTP', 'http://hooks.example.com/', httpsOnly, 'HOOKLINE_ALLOW_HTTP=true'],
    ['a loopback address', 'https://127.0.0.1/', httpsOnly, 'HOOKLINE_ALLOWED_NETWORKS'],
    ['an IPv6 loopback address', 'https://[::1]/', httpsOnly, 'HOOKLINE_ALLOWED_NETWORKS'],
    ['a private address', 'https://10.1.2.3/', httpsOnly, 'HOOKLINE_ALLOWED_NETWORKS'],
    ['a NAT64 address embedding a private one', 'https://[64:ff9b::10.0.0.1]/', httpsOnly, 'HOOKLINE_ALLOWED_NETWORKS'],
    ['localhost without an allowed loopback', 'https://localhost/', httpsOnly, 'HOOKLINE_ALLOWED_NETWORKS lists 127.0.0.0/8 or ::1/128'],
    ['localhost under another allowlist', 'http://localhost/', privateTen, 'HOOKLINE_ALLOWED_NETWORKS lists 127.0.0.0/8 or ::1/128'],
    ['an internal name', 'https://db.internal/', httpsOnly, 'listed in HOOKLINE_ALLOWED_NETWORKS'],
    ['a single-label name', 'https://intranet/', httpsOnly, 'listed in HOOKLINE_ALLOWED_NETWORKS'],
  ])('%s', (_label, url, policy, setting) => {
    const verdict = judgeUrl(url, policy);
    expect(verdict.ok).toBe(false);
    if (!verdict.ok) {
      expect(verdict.remedy).toContain(setting);
      expect(refusalMessage(verdict)).toBe(`${verdict.reason} (${verdict.remedy})`);
      // The reason alone (what a delivery attempt records) stays as it was.
      expect(verdict.reason).not.toContain('HOOKLINE_');
    }
  });

  it.each([
    ['another scheme (no setting lifts it)', 'ftp://example.com/', httpsOnly],
    ['credentials', 'https://user:pass@example.com/', httpsOnly],
    ['http:// when allowed but the scheme is ftp', 'ftp://example.com/', withHttp],
  ])('%s does not name one', (_label, url, policy) => {
    const verdict = judgeUrl(url, policy);
    expect(verdict.ok).toBe(false);
    if (!verdict.ok) {
      expect(verdict.remedy).toBeNull();
      expect(refusalMessage(verdict)).toBe(verdict.reason);
    }
  });
});

describe('localhostAddresses', () => {
  it('maps localhost names to the loopback addresses the policy allows, and nothing else', () => {
    const v4 = { address: '127.0.0.1', family: 4 };
    const v6 = { address: '::1', family: 6 };
    expect(localhostAddresses('localhost', localTesting)).toEqual([v4, v6]);
    expect(localhostAddresses('LocalHost.', localTesting)).toEqual([v4, v6]);
    expect(localhostAddresses('a.b.localhost', localTesting)).toEqual([v4, v6]);
    expect(localhostAddresses('localhost', loopbackOnlyHttps)).toEqual([v4]);
    expect(localhostAddresses('localhost', { allowHttp: true, allowedNetworks: parseAllowedNetworks('::1/128') })).toEqual([v6]);
    expect(localhostAddresses('localhost', httpsOnly)).toEqual([]);
    expect(localhostAddresses('localhost', privateTen)).toEqual([]);
    expect(localhostAddresses('example.com', localTesting)).toBeNull();
    expect(localhostAddresses('localhost.example.com', localTesting)).toBeNull();
    expect(localhostAddresses('notlocalhost', localTesting)).toBeNull();
  });
});

describe('judgeAddress', () => {
  it.each([
    ['8.8.8.8', null],
    ['2606:4700:4700::1111', null],
    ['[2606:4700:4700::1111]', null],
    ['10.0.0.1', 'private address 10.0.0.1 is not allowed'],
    ['::1', 'loopback address ::1 is not allowed'],
    ['::ffff:127.0.0.1', 'loopback address 127.0.0.1 is not allowed'],
    ['fe80::1%eth0', 'link-local address'],
    ['0177.0.0.1', '0177.0.0.1 is not an IP address'],
    ['127.1', '127.1 is not an IP address'],
    ['example.com', 'example.com is not an IP address'],
  ])('%s', (address, expected) => {
    const reason = judgeAddress(address, httpsOnly);
    if (expected === null) expect(reason).toBeNull();
    else expect(reason).toContain(expected);
  });

  it('exempts allowlisted networks, IPv4-mapped included', () => {
    expect(judgeAddress('127.0.0.1', localTesting)).toBeNull();
    expect(judgeAddress('::ffff:127.0.0.1', localTesting)).toBeNull();
    expect(judgeAddress('::1', localTesting)).toBeNull();
    expect(judgeAddress('10.0.0.1', localTesting)).toContain('private address 10.0.0.1');
  });
});

describe('parseAllowedNetworks', () => {
  it('reads an empty list as no exemptions', () => {
    expect(parseAllowedNetworks('')).toEqual([]);
    expect(parseAllowedNetworks(' , ')).toEqual([]);
  });

  it('reads IPv4 and IPv6 CIDRs, trimming spaces', () => {
    const networks = parseAllowedNetworks(' 127.0.0.0/8 , ::1/128,10.0.0.0/8');
    expect(networks.map((network) => [network.cidr, network.address.kind(), network.prefixLength])).toEqual([
      ['127.0.0.0/8', 'ipv4', 8],
      ['::1/128', 'ipv6', 128],
      ['10.0.0.0/8', 'ipv4', 8],
    ]);
  });

  it('stores an IPv4-mapped CIDR as IPv4', () => {
    const [network] = parseAllowedNetworks('::ffff:10.0.0.0/104');
    expect(network?.address.toString()).toBe('10.0.0.0');
    expect(network?.prefixLength).toBe(8);
  });

  it.each(['10.0.0.0/33', 'not-a-cidr', '10.0.0.1', '::1/129', '10.0.0.0/8/8'])('names the bad entry %s', (entry) => {
    expect(() => parseAllowedNetworks(`127.0.0.0/8,${entry}`)).toThrow(`allowed network "${entry}" is not a valid CIDR`);
  });
});
