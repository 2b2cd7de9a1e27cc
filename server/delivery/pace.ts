// Whether slots are turning over, per key (the worker, a tenant, an endpoint): a job that finds no
// free slot waits for one in memory only while the slots that keep it out are being released,
// and steps aside (back to the queue) when they are not, e.g. an endpoint whose deliveries hang
// until the timeout. There is no rate to learn: a key seen for the first time counts as turning
// over for one window, so a fresh worker runs at full speed from its first second.
// Also when a job that stepped aside comes back by itself if nothing brings it back sooner.
// Clock and randomness are injected; tests use fake timers.

export interface PaceOptions {
  /** A key is turning over while its last release (or first sighting) is this recent. */
  windowMs: number;
  /**
   * The latest a job that stepped aside comes back by itself (plus up to half of it at random, so
   * jobs that stepped aside together do not all return at once). The attempt timeout: by then
   * every slot held when it stepped aside has been released.
   */
  returnAfterMs: number;
  now?: () => number;
  random?: () => number;
}

export interface PaceEstimator {
  now(): number;
  /** Notes a key; the first sighting counts as a release. */
  seen(key: string): void;
  released(key: string): void;
  turningOver(key: string): boolean;
  /**
   * When a job stepping aside now comes back by itself: after `returnAfterMs` when it is likely to
   * get a slot soon, else three times that (deliveries hanging until the timeout: it would only
   * step aside again; a freed slot brings it back sooner anyway).
   */
  returnAt(likelySoon: boolean): number;
  /** A time within the next `ms`, at random: spreads jobs brought back together over it. */
  spread(ms: number): number;
}

const STALLED_RETURN_FACTOR = 3;

/** Keys not seen for this many windows are forgotten (they count as new when seen again). */
const FORGET_AFTER_WINDOWS = 240;

export function createPaceEstimator(options: PaceOptions): PaceEstimator {
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const lastRelease = new Map<string, number>();
  let sweptAt = now();

  function sweep(at: number) {
    const horizon = FORGET_AFTER_WINDOWS * options.windowMs;
    if (at - sweptAt < horizon) return;
    sweptAt = at;
    for (const [key, last] of lastRelease) if (at - last > horizon) lastRelease.delete(key);
  }

  return {
    now,
    seen(key) {
      const at = now();
      sweep(at);
      if (!lastRelease.has(key)) lastRelease.set(key, at);
    },
    released(key) {
      lastRelease.set(key, now());
    },
    turningOver(key) {
      const last = lastRelease.get(key);
      return last !== undefined && now() - last < options.windowMs;
    },
    spread(ms) {
      return now() + random() * ms;
    },
    returnAt(likelySoon) {
      return now() + (likelySoon ? 1 : STALLED_RETURN_FACTOR) * options.returnAfterMs * (1 + random() / 2);
    },
  };
}
