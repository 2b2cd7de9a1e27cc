// What an attempt's result means for its delivery: succeeded, retry after a delay, or failed.
// Pure, so the retry rules can be read and tested on their own.
import { GONE_DISABLE_REASON, GONE_STATUS } from '../endpoints/health.js';
import type { PostResult } from './http.js';

export type Outcome =
  | { kind: 'succeeded' }
  | { kind: 'retry'; delayMs: number; reason: string }
  | { kind: 'failed'; reason: string; disableEndpoint?: string };

export interface OutcomeRules {
  /** Delays before each retry after the first attempt (HOOKLINE_RETRY_SCHEDULE). */
  retryScheduleMs: readonly number[];
  /** Source of randomness for jitter (tests pass a constant). */
  random?: () => number;
  now?: () => number;
}

/** The longest a receiver's Retry-After may push a retry out. */
export const MAX_RETRY_AFTER_MS = 6 * 3_600_000;

export function decideOutcome(result: PostResult, attempt: number, rules: OutcomeRules): Outcome {
  if (result.kind === 'response') {
    const { status } = result;
    if (status >= 200 && status < 300) return { kind: 'succeeded' };
    // The 410 rule (endpoints/health.ts): the delivery fails and the endpoint is disabled.
    if (status === GONE_STATUS) return { kind: 'failed', reason: 'HTTP 410 Gone', disableEndpoint: GONE_DISABLE_REASON };
    const reason = status >= 300 && status < 400 ? `HTTP ${status} (redirects are not followed)` : `HTTP ${status}`;
    const retryAfter = status === 429 || status === 503 ? parseRetryAfter(header(result.headers, 'retry-after'), rules.now) : undefined;
    return retryOrFail(attempt, rules, reason, retryAfter);
  }
  // A destination that is not allowed stays not allowed: retrying cannot help.
  if (result.error === 'blocked' || result.error === 'invalid_url') {
    return { kind: 'failed', reason: `${result.error}: ${result.message}` };
  }
  return retryOrFail(attempt, rules, `${result.error}: ${result.message}`, undefined);
}

function retryOrFail(attempt: number, rules: OutcomeRules, reason: string, retryAfterMs: number | undefined): Outcome {
  const scheduled = rules.retryScheduleMs[attempt - 1];
  if (scheduled === undefined) return { kind: 'failed', reason: `${reason}; no retries left` };
  const random = rules.random ?? Math.random;
  const jittered = Math.round(scheduled * (0.8 + 0.4 * random()));
  // Retry-After can only lengthen the wait, and only up to a bound, so a receiver cannot park a
  // delivery for days nor make us retry faster than the schedule.
  const delayMs = retryAfterMs === undefined ? jittered : Math.min(Math.max(retryAfterMs, jittered), MAX_RETRY_AFTER_MS);
  return { kind: 'retry', delayMs, reason };
}

/** Retry-After as delay-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now: () => number = Date.now): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now());
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}
