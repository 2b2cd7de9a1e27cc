// Retries on time: a retry runs within its schedule's ±20 % jitter + 250 ms, however long
// graphile-worker's poll interval is, because the worker wakes its job fetch at the retry's run_at
// (server/worker/retry-wake.ts). Measured at a real loopback receiver, gaps between attempts.
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_POLL_INTERVAL_MS } from '../server/worker/settings.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { cleanupTracker, tenantWithEndpoint } from './helpers/fixtures.js';

const cleanup = cleanupTracker();
let app: TestApp | undefined;
afterEach(async () => {
  await cleanup.runAll();
  await app?.close();
  app = undefined;
});

/** Sends one event to a receiver that fails twice, then succeeds; returns the gaps between attempts. */
async function gapsBetweenAttempts(schedule: string, pollIntervalMs: number): Promise<number[]> {
  app = await startTestApp({ env: { HOOKLINE_RETRY_SCHEDULE: schedule }, worker: { pollIntervalMs } });
  await app.admin.eventTypes.upsert.mutate({ name: 'job.failed' });
  const r = await cleanup.receiver((_request, index) => (index < 2 ? { status: 503 } : { status: 200 }));
  const { tenantId } = await tenantWithEndpoint(app, r.url, { tenantName: 'On time' });
  await app.admin.events.send.mutate({ tenantId, type: 'job.failed', payload: {} });
  const requests = await r.waitFor(3);
  return [requests[1]!.receivedAt - requests[0]!.receivedAt, requests[2]!.receivedAt - requests[1]!.receivedAt];
}

function expectOnSchedule(gaps: number[], scheduleMs: number[]) {
  gaps.forEach((gap, i) => {
    expect(gap).toBeGreaterThanOrEqual(scheduleMs[i]! * 0.8);
    expect(gap).toBeLessThanOrEqual(scheduleMs[i]! * 1.2 + 250);
  });
}

describe('retry timing', () => {
  it('retries at 300 ms and 600 ms (±20 % + 250 ms) with a 2 s poll interval (graphile-worker’s default)', async () => {
    // Before the wake-up, each retry waited for the next poll: about 2 s.
    expectOnSchedule(await gapsBetweenAttempts('300ms,600ms', 2_000), [300, 600]);
  });

  it('retries at 100 ms and 100 ms (±20 % + 250 ms) with hookline’s own 500 ms poll interval', async () => {
    // Before: the retry ran at the next poll, about 500 ms after the failure (over 370 ms whatever the jitter).
    expectOnSchedule(await gapsBetweenAttempts('100ms,100ms', DEFAULT_POLL_INTERVAL_MS), [100, 100]);
  });

  it('retries at 1 s and 1 s (±20 % + 250 ms) with hookline’s own poll interval', async () => {
    // Before: a 1 s retry arrived up to 1.5 s later (the measurement).
    expectOnSchedule(await gapsBetweenAttempts('1s,1s', DEFAULT_POLL_INTERVAL_MS), [1000, 1000]);
  });
});
