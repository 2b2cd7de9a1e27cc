// A rate-limited call says when to try again: the `Retry-After` header of tRPC and REST answers alike.
import type { TRPCError } from '@trpc/server';
import { RateLimitedError } from '../errors.js';

/** tRPC's `responseMeta`: `Retry-After` (seconds) when any of the answer's errors is a rate limit. */
export function retryAfterMeta({ errors }: { errors: readonly TRPCError[] }): { headers?: Record<string, string> } {
  const retryAfter = Math.max(0, ...errors.map((e) => (e.cause instanceof RateLimitedError ? e.cause.retryAfterSeconds : 0)));
  return retryAfter > 0 ? { headers: { 'retry-after': String(retryAfter) } } : {};
}
