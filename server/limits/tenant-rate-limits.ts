// Per-tenant rate limits of the procedures that make work on demand for the worker and the
// tenant's receiver: endpoints.sendTest, deliveries.retry, endpoints.recover. A fixed window per
// tenant and action, counted by one upsert in PostgreSQL (one row per tenant and action, no
// growth), so the limit holds across every API process. Over the limit: RateLimitedError, which
// the API answers with TOO_MANY_REQUESTS and a Retry-After header (the seconds left in the window).
import { pgErrorCode } from '../../db/errors.js';
import { recordTenantCall } from '../../db/sql/tenant-rate-limits.js';
import type { AppDeps } from '../deps.js';
import type { TenantRateLimitedAction } from '../env.js';
import { NotFoundError, RateLimitedError } from '../errors.js';

const DESCRIBED: Record<TenantRateLimitedAction, { procedure: string; setting: string }> = {
  sendTest: { procedure: 'endpoints.sendTest', setting: 'HOOKLINE_SEND_TEST_LIMIT' },
  retry: { procedure: 'deliveries.retry', setting: 'HOOKLINE_RETRY_LIMIT' },
  recover: { procedure: 'endpoints.recover', setting: 'HOOKLINE_RECOVER_LIMIT' },
};

/** Counts one call of `action` for the tenant; throws RateLimitedError when it is over the limit. */
export async function countTenantCall(
  deps: Pick<AppDeps, 'db' | 'config'>,
  tenantId: string,
  action: TenantRateLimitedAction,
): Promise<void> {
  const { limit, windowMs } = deps.config.tenantRateLimits[action];
  const row = await recordTenantCall(deps.db, { tenantId, action, windowMs }).catch((error: unknown) => {
    // 23503: the tenant was deleted a moment ago.
    if (pgErrorCode(error) === '23503') throw new NotFoundError('tenant not found');
    throw error;
  });
  if (row.calls <= limit) return;
  const { procedure, setting } = DESCRIBED[action];
  const retryAfterSeconds = Math.max(1, Math.ceil(row.msLeft / 1000));
  throw new RateLimitedError(
    `${procedure} is limited to ${limit} calls per ${windowMs / 1000} s per tenant (${setting}); try again in ${retryAfterSeconds} s`,
    retryAfterSeconds,
  );
}
