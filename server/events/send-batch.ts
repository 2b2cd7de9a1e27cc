// events.sendBatch: many events in one call, each standing alone. Every item goes through the same
// path as events.send (sendEvent), started in the same turn of the event loop, so the group-commit
// batcher of the fan-out (server/events/send.ts) writes them together: a batch of up to 100 small
// events is one statement, one round trip to PostgreSQL. An item that fails (unknown tenant, unknown
// or archived type, payload too large, refused URL) gets its own error in its own place; the others
// are accepted as usual.
import type { TRPC_ERROR_CODE_KEY } from '@trpc/server/rpc';
import { DomainError, PayloadTooLargeError } from '../errors.js';
import type { Delivery, Event } from './present.js';
import { sendEvent, type SendDeps, type SendEventInput } from './send.js';

/** The most events one events.sendBatch call carries. */
export const MAX_BATCH_EVENTS = 1_000;

export interface BatchItem extends SendEventInput {
  tenantId: string;
}

export type BatchResult =
  | { ok: true; event: Event; deliveries: Delivery[] }
  | { ok: false; error: { code: TRPC_ERROR_CODE_KEY; message: string } };

/**
 * Sends each item; one result per item, in order. Items that share a tenant and idempotency key go
 * in successive rounds (the first occurrence in the first round, the second in the next…), so a
 * later one answers with the event the first accepted, exactly as a repeated events.send does.
 * An error that is no item's own (the database unreachable) fails the whole call.
 */
export async function sendEventBatch(
  deps: SendDeps,
  items: readonly BatchItem[],
  codeOf: (error: DomainError) => TRPC_ERROR_CODE_KEY,
): Promise<{ results: BatchResult[] }> {
  const bytes = Buffer.byteLength(JSON.stringify(items));
  if (bytes > deps.config.maxBatchBytes) {
    throw new PayloadTooLargeError(
      `the batch is ${bytes} bytes serialized, over the limit of ${deps.config.maxBatchBytes} bytes (HOOKLINE_MAX_BATCH_BYTES)`,
    );
  }
  const results: BatchResult[] = new Array(items.length);
  for (const round of idempotencyRounds(items)) {
    await Promise.all(
      round.map(async (index) => {
        const { tenantId, ...input } = items[index]!;
        try {
          const { event, deliveries } = await sendEvent(deps, tenantId, input);
          results[index] = { ok: true, event, deliveries };
        } catch (error) {
          if (!(error instanceof DomainError)) throw error;
          results[index] = { ok: false, error: { code: codeOf(error), message: error.message } };
        }
      }),
    );
  }
  return { results };
}

/** Item indexes in rounds: the n-th item with a given tenant and idempotency key goes in round n. */
export function idempotencyRounds(items: readonly Pick<BatchItem, 'tenantId' | 'idempotencyKey'>[]): number[][] {
  const seen = new Map<string, number>();
  const rounds: number[][] = [];
  items.forEach((item, index) => {
    let round = 0;
    if (item.idempotencyKey !== undefined) {
      const key = `${item.tenantId}\u0000${item.idempotencyKey}`;
      round = seen.get(key) ?? 0;
      seen.set(key, round + 1);
    }
    (rounds[round] ??= []).push(index);
  });
  return rounds;
}
