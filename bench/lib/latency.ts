// Send-to-receive latency: joins what the sender sent (event id, intended time) with what the
// receiver saw (webhook-id, arrival time). An event never received within the wait counts as
// infinitely late, so losses show up in the high percentiles instead of vanishing.
import type { SentEvent } from './load.js';
import type { Arrival } from './receiver.js';
import { summarize, type Summary } from './stats.js';

export interface LatencyReport {
  sent: number;
  received: number;
  /** Intended send time → first arrival at the receiver. */
  endToEnd: Summary;
  /** sendEvent's own duration (API side: the event, its deliveries and jobs committed). */
  send: Summary;
  /** Send returned (committed) → arrival: the worker's share (pickup, load, sign, POST). */
  afterCommit: Summary;
}

export function joinLatencies(sent: readonly SentEvent[], arrivals: readonly Arrival[]): LatencyReport {
  const firstArrival = firstArrivals(arrivals);
  const endToEnd: number[] = [];
  const afterCommit: number[] = [];
  let received = 0;
  for (const event of sent) {
    const at = firstArrival.get(event.eventId);
    if (at === undefined) {
      endToEnd.push(Number.POSITIVE_INFINITY);
      afterCommit.push(Number.POSITIVE_INFINITY);
      continue;
    }
    received++;
    endToEnd.push(at - event.intendedAt);
    afterCommit.push(at - (event.intendedAt + event.sendMs));
  }
  return {
    sent: sent.length,
    received,
    endToEnd: summarize(endToEnd),
    send: summarize(sent.map((e) => e.sendMs)),
    afterCommit: summarize(afterCommit),
  };
}

/** Each webhook id's first arrival time (retries and duplicates arrive later). */
function firstArrivals(arrivals: readonly Arrival[]): Map<string, number> {
  const first = new Map<string, number>();
  for (const [id, , at] of arrivals) {
    const seen = first.get(id);
    if (seen === undefined || at < seen) first.set(id, at);
  }
  return first;
}

/** Each sent event's intended send time and its send-to-receive latency (∞ when never received). */
export function latencySamples(sent: readonly SentEvent[], arrivals: readonly Arrival[]): Array<{ at: number; ms: number }> {
  const firstArrival = firstArrivals(arrivals);
  return sent.map((event) => {
    const at = firstArrival.get(event.eventId);
    return { at: event.intendedAt, ms: at === undefined ? Number.POSITIVE_INFINITY : at - event.intendedAt };
  });
}

export function describeLatency(report: LatencyReport): string {
  const f = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '∞');
  const s = report.endToEnd;
  return `p50 ${f(s.p50)} / p95 ${f(s.p95)} / p99 ${f(s.p99)} / max ${f(s.max)} ms over ${report.sent} events (${report.received} received)`;
}
