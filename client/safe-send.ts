// Safe retries of sends. A send whose answer is lost (the API killed mid-request, a connection
// dropped by a proxy) may already be stored: retried as it was, it would make a second event. So
// the client gives every send an idempotency key when the caller gave none, and only then retries
// failures that may have reached the server (no answer at all, or 503 SERVICE_UNAVAILABLE), with
// bounded, jittered backoff: a retry of a stored send answers with the stored event.
import { randomUUID } from 'node:crypto';
import { retryLink, type TRPCClientError, type TRPCLink } from '@trpc/client';
import type { AppRouter } from './router.js';

/** How sends are retried; `false` in the client options turns retries off (keys are still added). */
export interface SendRetryOptions {
  /** Attempts in all, the first included (default 4; 1 = never retry). */
  attempts?: number;
  /** The wait before retry n is between half and all of min(maxDelayMs, baseDelayMs × 2^(n−1)) (default 200). */
  baseDelayMs?: number;
  /** The longest wait between two attempts (default 5,000). */
  maxDelayMs?: number;
}

export const defaultSendRetry = { attempts: 4, baseDelayMs: 200, maxDelayMs: 5_000 } as const satisfies Required<SendRetryOptions>;

/**
 * How each send procedure's input gets its keys: one per event. A procedure added to the API that
 * sends events gets one line here.
 */
const keyedInputs: Record<string, (input: unknown, newKey: () => string) => unknown> = {
  'events.send': (input, newKey) => withKey(input, newKey),
  'events.sendBatch': (input, newKey) =>
    isObject(input) && Array.isArray(input.events)
      ? { ...input, events: input.events.map((item: unknown) => withKey(item, newKey)) }
      : input,
};

/** Whether the procedure at `path` sends events (and so is keyed and retried). */
export function isSendProcedure(path: string): boolean {
  return Object.hasOwn(keyedInputs, path);
}

/** A link that gives each event of a send an idempotency key, unless the caller gave one. */
export function idempotencyKeyLink(newKey: () => string = randomUUID): TRPCLink<AppRouter> {
  return () =>
    ({ op, next }) => {
      const addKeys = op.type === 'mutation' ? keyedInputs[op.path] : undefined;
      return next(addKeys ? { ...op, input: addKeys(op.input, newKey) } : op);
    };
}

/** A link that retries sends after a failure that may have left them stored (placed after idempotencyKeyLink). */
export function sendRetryLink(options: SendRetryOptions = {}): TRPCLink<AppRouter> {
  const attempts = options.attempts ?? defaultSendRetry.attempts;
  const baseDelayMs = options.baseDelayMs ?? defaultSendRetry.baseDelayMs;
  const maxDelayMs = options.maxDelayMs ?? defaultSendRetry.maxDelayMs;
  if (!Number.isInteger(attempts) || attempts < 1) throw new RangeError(`retry attempts must be a whole number >= 1, got ${attempts}`);
  if (!(baseDelayMs >= 0) || !(maxDelayMs >= 0)) throw new RangeError('retry delays must be >= 0 ms');
  return retryLink<AppRouter>({
    retry: ({ op, error, attempts: made }) => op.type === 'mutation' && isSendProcedure(op.path) && made < attempts && mayBeRetried(error),
    // Jittered: producers that failed together (an API restart) do not come back together.
    retryDelayMs: (made) => {
      const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** (made - 1));
      return ceiling / 2 + Math.random() * (ceiling / 2);
    },
  });
}

/**
 * No answer (connection refused or reset, a timeout, a proxy's page instead of the API's JSON), or
 * the API saying it cannot serve now. Every other answer is the API's verdict and is final; an
 * abort is the caller's.
 */
function mayBeRetried(error: TRPCClientError<AppRouter>): boolean {
  if (error.data) return error.data.code === 'SERVICE_UNAVAILABLE';
  return error.cause?.name !== 'AbortError';
}

function withKey(item: unknown, newKey: () => string): unknown {
  return isObject(item) && item.idempotencyKey === undefined ? { ...item, idempotencyKey: newKey() } : item;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
