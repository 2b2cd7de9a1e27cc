// Per-tenant fixed-window call counters (server/limits/tenant-rate-limits.ts): one upsert per call,
// one row per tenant and action, so the count holds across every API process.
import { sql } from 'drizzle-orm';
import { tenantRateLimits } from '../schema.js';
import type { Writer } from './executor.js';

type RateLimitRow = typeof tenantRateLimits.$inferSelect;

/**
 * Counts one call of `action` by the tenant in the current window of `windowMs` (windows are
 * aligned to the epoch); returns the calls counted in it so far, this one included, and the
 * milliseconds left in it. Throws the foreign-key violation (23503) when the tenant does not exist.
 */
export async function recordTenantCall(
  db: Pick<Writer, 'insert'>,
  params: Pick<RateLimitRow, 'tenantId' | 'action'> & { windowMs: number },
): Promise<{ calls: number; msLeft: number }> {
  const window = sql`make_interval(secs => ${params.windowMs / 1000})`;
  const windowStart = sql`date_bin(${window}, now(), timestamptz 'epoch')`;
  // A call in a later window starts the count again; greatest() keeps a transaction that began
  // just before the window turned from setting the window back.
  const [row] = await db
    .insert(tenantRateLimits)
    .values({ tenantId: params.tenantId, action: params.action, windowStart, calls: 1 })
    .onConflictDoUpdate({
      target: [tenantRateLimits.tenantId, tenantRateLimits.action],
      set: {
        calls: sql`case when ${tenantRateLimits.windowStart} >= excluded.window_start then ${tenantRateLimits.calls} + 1 else 1 end`,
        windowStart: sql`greatest(${tenantRateLimits.windowStart}, excluded.window_start)`,
      },
    })
    .returning({
      calls: tenantRateLimits.calls,
      msLeft: sql<number>`ceil(extract(epoch from ${tenantRateLimits.windowStart} + ${window} - now()) * 1000)::int`,
    });
  return row!;
}
