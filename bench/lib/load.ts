// Load generators over the product's sendEvent: closed loop (as fast as `concurrency` senders
// go) and open loop (events at fixed intended times, whatever the system does — latency is
// measured from the intended time, so a stall is not hidden by sending less during it).
import { sendEvent, type SendDeps } from '../../server/events/send.js';
import { now, sleep } from './clock.js';
import { BENCH_EVENT_TYPE, benchPayload } from './hookline.js';

export interface SentEvent {
  tenantId: string;
  eventId: string;
  /** When the send was due (open loop) or started (closed loop), clock.now(). */
  intendedAt: number;
  /** How long sendEvent took (the API's share of the latency). */
  sendMs: number;
  deliveries: number;
}

export interface SendFailure {
  tenantId: string;
  error: string;
}

async function sendOne(deps: SendDeps, tenantId: string, n: number, intendedAt: number): Promise<SentEvent> {
  const startedAt = now();
  const { event, deliveries } = await sendEvent(deps, tenantId, { type: BENCH_EVENT_TYPE, payload: benchPayload(n) });
  return { tenantId, eventId: event.id, intendedAt, sendMs: now() - startedAt, deliveries: deliveries.length };
}

/** Sends `total` events round-robin over `tenantIds` with `concurrency` senders in parallel. */
export async function sendClosedLoop(
  deps: SendDeps,
  spec: { tenantIds: readonly string[]; total: number; concurrency: number; offset?: number },
): Promise<{ sent: SentEvent[]; startedAt: number; endedAt: number }> {
  const sent: SentEvent[] = [];
  let next = 0;
  const startedAt = now();
  const sender = async () => {
    while (next < spec.total) {
      const n = next++;
      sent.push(await sendOne(deps, spec.tenantIds[n % spec.tenantIds.length]!, (spec.offset ?? 0) + n, now()));
    }
  };
  await Promise.all(Array.from({ length: Math.min(spec.concurrency, spec.total) }, sender));
  return { sent, startedAt, endedAt: now() };
}

/**
 * Sends `ratePerSecond` events for `durationMs`, round-robin over `tenantIds`, each at its own
 * intended time. Returns once every send has settled (bounded: sendEvent is one transaction).
 */
export async function sendOpenLoop(
  deps: SendDeps,
  spec: { tenantIds: readonly string[]; ratePerSecond: number; durationMs: number; offset?: number; signal?: AbortSignal },
): Promise<{ sent: SentEvent[]; failed: SendFailure[]; startedAt: number; maxLagMs: number }> {
  const intervalMs = 1000 / spec.ratePerSecond;
  const total = Math.round((spec.durationMs / 1000) * spec.ratePerSecond);
  const sent: SentEvent[] = [];
  const failed: SendFailure[] = [];
  const inFlight: Array<Promise<void>> = [];
  const startedAt = now();
  let maxLagMs = 0;
  for (let i = 0; i < total && !spec.signal?.aborted; i++) {
    const due = startedAt + i * intervalMs;
    const wait = due - now();
    if (wait > 1) await sleep(wait);
    maxLagMs = Math.max(maxLagMs, now() - due);
    const tenantId = spec.tenantIds[i % spec.tenantIds.length]!;
    inFlight.push(
      sendOne(deps, tenantId, (spec.offset ?? 0) + i, due).then(
        (event) => void sent.push(event),
        (error: unknown) => void failed.push({ tenantId, error: String(error) }),
      ),
    );
  }
  await Promise.all(inFlight);
  return { sent, failed, startedAt, maxLagMs };
}
