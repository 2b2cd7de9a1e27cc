// Failed-authentication throttling (server/security/auth-failures.ts) on a controlled clock: the
// allowance per address and minute, the late answers past it, what is logged, and how addresses
// are grouped (IPv4-mapped as IPv4, IPv6 by /64).
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../server/logger.js';
import { createAuthFailureThrottle, sourceOf } from '../../server/security/auth-failures.js';

function setup() {
  let clock = 1_000_000;
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger('warn', { write: (line: string) => void lines.push(JSON.parse(line)) });
  const throttle = createAuthFailureThrottle({ failuresPerMinute: 2, delayMs: 50, logger }, () => clock);
  const timed = async (source: string) => {
    const started = performance.now();
    await throttle.failed(source, { reason: 'unknown key' });
    return performance.now() - started;
  };
  return { timed, lines, advance: (ms: number) => (clock += ms) };
}

describe('auth failure throttle', () => {
  it('answers the allowance at once, then late, per address, until the minute ends', async () => {
    const { timed, lines, advance } = setup();
    expect(await timed('198.51.100.7')).toBeLessThan(40);
    expect(await timed('198.51.100.7')).toBeLessThan(40);
    expect(await timed('198.51.100.7')).toBeGreaterThanOrEqual(45);
    expect(await timed('198.51.100.7')).toBeGreaterThanOrEqual(45);
    // Another address has its own allowance.
    expect(await timed('198.51.100.8')).toBeLessThan(40);
    advance(60_000);
    expect(await timed('198.51.100.7')).toBeLessThan(40);

    const messages = lines.map((l) => [l.msg, l.source]);
    expect(messages).toEqual([
      ['authentication failed', '198.51.100.7'],
      ['authentication failed', '198.51.100.7'],
      [expect.stringMatching(/^authentication failures over the limit/), '198.51.100.7'],
      ['authentication failed', '198.51.100.8'],
      ['authentication failed', '198.51.100.7'],
    ]);
    // The first failure of the next minute says how many the address made in the last one.
    expect(lines.at(-1)).toMatchObject({ failuresPreviousMinute: 4, reason: 'unknown key' });
  });

  it('counts IPv4-mapped addresses as IPv4 and IPv6 addresses by their /64', () => {
    expect(sourceOf('::ffff:203.0.113.9')).toBe('203.0.113.9');
    expect(sourceOf('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(sourceOf('2001:db8:1:2:bbbb::2')).toBe('2001:db8:1:2::/64');
    expect(sourceOf(undefined)).toBe('unknown');
  });
});
