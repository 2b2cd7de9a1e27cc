// Failed authentications (a request that presents a key that is no key of ours): each is logged —
// the address, why it failed, never the key — and an address that fails more than
// HOOKLINE_AUTH_FAILURES_PER_MINUTE times in a minute has each further failure answered only after
// HOOKLINE_AUTH_FAILURE_DELAY, so guessing keys from it is slow. Only failures wait: a valid key is
// judged first and answered at once, so no valid caller is slowed, not even one behind the same
// proxy as a guesser. Counted in memory, per API process; an IPv6 address counts by its /64 (what
// one host is usually given). While an address is over its limit, its failures are counted but not
// logged one by one; the first failure of its next minute logs how many there were.
import ipaddr from 'ipaddr.js';
import type { Logger } from '../logger.js';

export type AuthFailureReason = 'not a bearer key' | 'malformed key' | 'unknown key' | 'wrong key';

export interface AuthFailure {
  reason: AuthFailureReason;
  /** The tenant whose key prefix matched, when only the rest of the key was wrong. */
  tenantId?: string;
}

export interface AuthFailureThrottle {
  /** Logs the failure and resolves when its answer may go out (at once, or after the delay). */
  failed(source: string | undefined, failure: AuthFailure, path?: string): Promise<void>;
}

interface SourceWindow {
  windowStart: number;
  failures: number;
}

const WINDOW_MS = 60_000;
/** Addresses remembered at most (a spray of addresses must not grow the map without bound). */
const MAX_SOURCES = 100_000;

export function createAuthFailureThrottle(
  options: { failuresPerMinute: number; delayMs: number; logger: Logger },
  now: () => number = Date.now,
): AuthFailureThrottle {
  const sources = new Map<string, SourceWindow>();

  function windowOf(source: string, at: number): { window: SourceWindow; previousFailures: number } {
    let window = sources.get(source);
    let previousFailures = 0;
    if (window && at - window.windowStart >= WINDOW_MS) {
      previousFailures = window.failures;
      sources.delete(source);
      window = undefined;
    }
    if (!window) {
      if (sources.size >= MAX_SOURCES) forgetExpired(at);
      window = { windowStart: at, failures: 0 };
      sources.set(source, window);
    }
    return { window, previousFailures };
  }

  function forgetExpired(at: number): void {
    for (const [source, window] of sources) {
      if (at - window.windowStart >= WINDOW_MS || sources.size >= MAX_SOURCES) sources.delete(source);
      else break; // Insertion order is window order: the rest are newer.
    }
  }

  return {
    async failed(address, failure, path) {
      const source = sourceOf(address);
      const { window, previousFailures } = windowOf(source, now());
      window.failures += 1;
      const over = window.failures > options.failuresPerMinute;
      if (!over) {
        options.logger.warn(
          {
            source,
            reason: failure.reason,
            ...(failure.tenantId && { tenantId: failure.tenantId }),
            ...(path && { path }),
            ...(previousFailures > options.failuresPerMinute && { failuresPreviousMinute: previousFailures }),
          },
          'authentication failed',
        );
        return;
      }
      if (window.failures === options.failuresPerMinute + 1) {
        options.logger.warn(
          { source, failures: window.failures, delayMs: options.delayMs },
          'authentication failures over the limit: further failures from this address are answered late and not logged one by one this minute',
        );
      }
      await new Promise<void>((resolve) => setTimeout(resolve, options.delayMs));
    },
  };
}

/** The address a failure counts against: IPv4 as is (also when IPv4-mapped), IPv6 by its /64. */
export function sourceOf(address: string | undefined): string {
  if (!address || !ipaddr.isValid(address)) return address ?? 'unknown';
  const parsed = ipaddr.process(address);
  if (parsed.kind() === 'ipv4') return parsed.toString();
  return `${ipaddr.IPv6.networkAddressFromCIDR(`${parsed.toString()}/64`).toString()}/64`;
}
