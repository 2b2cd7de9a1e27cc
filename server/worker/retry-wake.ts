// Retries on time. graphile-worker finds a job whose run_at is in the future only when it next
// polls (pollInterval): a retry scheduled in 1 s ran up to a poll interval late (1.5 s with our
// 500 ms). So when this worker schedules a retry, it also asks to be woken at the retry's run_at,
// and the wake-up nudges graphile-worker's job fetch. Another worker may be the one that runs the
// job; that is fine, the nudge only saves waiting for the next poll.
//
// Cheap under load: wake-up times are rounded up to `granularityMs` and kept once each in a sorted
// list with one timer for the earliest, so a backlog of retries costs a list of numbers, not a
// timer each. Past `maxPending` distinct times the latest are left to the poll.
export interface RetryWake {
  /** Wakes the job fetch at `runAt` (a few ms after at most). */
  at(runAt: Date): void;
  /** Wake-ups waiting (for tests and metrics). */
  pending(): number;
  stop(): void;
}

export interface RetryWakeOptions {
  granularityMs?: number;
  maxPending?: number;
}

export function createRetryWake(nudge: () => void, options: RetryWakeOptions = {}): RetryWake {
  const granularityMs = options.granularityMs ?? 10;
  const maxPending = options.maxPending ?? 10_000;
  /** Distinct wake-up times (ms since the epoch), earliest first. */
  const times: number[] = [];
  let timer: NodeJS.Timeout | undefined;
  let timerAt = Number.POSITIVE_INFINITY;
  let stopped = false;

  const arm = () => {
    const next = times[0];
    if (next === undefined || next === timerAt) return;
    if (timer) clearTimeout(timer);
    timerAt = next;
    timer = setTimeout(fire, Math.max(0, next - Date.now()));
    timer.unref();
  };

  const fire = () => {
    timer = undefined;
    timerAt = Number.POSITIVE_INFINITY;
    const now = Date.now();
    let due = 0;
    while (due < times.length && times[due]! <= now) due++;
    times.splice(0, due);
    arm();
    // (A timer may fire a millisecond early; then nothing is due yet and it is set again.)
    if (due === 0) return;
    try {
      nudge();
    } catch {
      // A pool that is shutting down: the job is found by the next poll, here or in another worker.
    }
  };

  return {
    at(runAt) {
      if (stopped) return;
      const time = Math.ceil(runAt.getTime() / granularityMs) * granularityMs;
      let low = 0;
      let high = times.length;
      while (low < high) {
        const middle = (low + high) >>> 1;
        if (times[middle]! < time) low = middle + 1;
        else high = middle;
      }
      if (times[low] === time) return;
      if (times.length >= maxPending) {
        if (low === times.length) return;
        times.pop();
      }
      times.splice(low, 0, time);
      if (low === 0) arm();
    },
    pending: () => times.length,
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      times.length = 0;
    },
  };
}
