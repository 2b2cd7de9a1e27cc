// Endpoint health: when hookline stops delivering to an endpoint on its own, and what starts it
// again. Every rule is here, in TypeScript; the record statement (db/sql/record-attempts.ts)
// applies the same fold in SQL, and test/endpoint-health.test.ts runs both on the same attempts.
//
// - An attempt that made a request says something about its endpoint: a success (2xx) or a
//   failure (anything else). One that made none (the endpoint is disabled) says nothing.
// - A success ends the endpoint's failure run: no failures since success, no first failure.
// - A failure extends the run: one more failure; the run's first failure is set if unset.
// - Failing too long: the failure that brings a run to at least `MIN_FAILURES_BEFORE_DISABLE` failures,
//   when the run's first failure is HOOKLINE_DISABLE_AFTER old or more, disables the endpoint
//   (HOOKLINE_DISABLE_AFTER=0 never does). Both are needed: a rarely used endpoint that fails
//   twice a week is not dropped for it, nor one that failed 100 times in a minute.
// - The 410 rule: a 410 Gone fails its delivery and disables the endpoint at once.
// - By hand: endpoints.update `disabled: true` (or created disabled) records MANUAL_DISABLE_REASON;
//   `disabled: false` on a disabled endpoint clears the reason and resets the failure run, so
//   delivery resumes with a clean slate. Setting the state it already has changes nothing.
// - A disabled endpoint gets no new deliveries (send skips it); its pending ones fail without a
//   request; retrying or recovering its deliveries, and sending it a test, are refused with
//   `disabledEndpointMessage`.
import type { endpoints } from '../../db/schema.js';
import type { AttemptHealth, HealthFoldRules } from '../../db/sql/record-attempts.js';
import type { Outcome } from '../delivery/outcome.js';

/** Automatic disabling also needs this many failed attempts since the last success. */
export const MIN_FAILURES_BEFORE_DISABLE = 10;

/** A success on an endpoint with no failures refreshes its row at most this often (see the fold). */
export const SUCCESS_REFRESH_MS = 1000;

/** The reason recorded when an endpoint is disabled through the API (at creation or by update). */
export const MANUAL_DISABLE_REASON = 'disabled through the API';

/** The 410 rule: the receiver says the endpoint is gone for good. */
export const GONE_STATUS = 410;
export const GONE_DISABLE_REASON = 'the endpoint answered 410 Gone';

/** The health columns of an endpoint row. */
export type EndpointHealth = Pick<
  typeof endpoints.$inferSelect,
  'lastSuccessAt' | 'firstFailureAt' | 'failuresSinceSuccess' | 'disabled' | 'disabledReason' | 'disabledAt'
>;

/** What one attempt says about its endpoint, and whether it disables it at once. */
export interface AttemptVerdict {
  health: AttemptHealth;
  disableReason: string | null;
}

export function judgeAttempt(sent: boolean, outcome: Outcome): AttemptVerdict {
  if (!sent) return { health: 'none', disableReason: null };
  if (outcome.kind === 'succeeded') return { health: 'success', disableReason: null };
  return { health: 'failure', disableReason: outcome.kind === 'failed' ? (outcome.disableEndpoint ?? null) : null };
}

/** The rules as configured (HOOKLINE_DISABLE_AFTER); given to the record statement and the fold. */
export function endpointHealthRules(disableAfterMs: number): HealthFoldRules {
  return {
    disableAfterMs,
    minFailures: MIN_FAILURES_BEFORE_DISABLE,
    successRefreshMs: SUCCESS_REFRESH_MS,
    tooLongReasonFormat: `no successful delivery for ${formatDuration(disableAfterMs)} (%s failed attempts)`,
  };
}

/** The reason recorded when a run failing too long disables an endpoint at its `failures`th failure. */
export function tooLongReason(rules: HealthFoldRules, failures: number): string {
  return rules.tooLongReasonFormat.replace('%s', String(failures));
}

/**
 * The fold: an endpoint's health after a batch of its attempts, in the order they finished, all
 * recorded at `now`. The record statement folds each batch exactly so; a batch of one attempt is an
 * attempt on its own. A batch judges its attempts as one at a time would, with two differences:
 * - a batch of only successes on an endpoint without failures changes nothing when its last
 *   success is less than `successRefreshMs` old (one busy endpoint's attempts then do not queue on
 *   its row lock);
 * - when a 410 and a run failing too long both disable the endpoint in one batch, the 410's
 *   reason is recorded, whichever came first.
 */
export function foldEndpointHealth(
  before: EndpointHealth,
  attempts: readonly AttemptVerdict[],
  now: Date,
  rules: HealthFoldRules,
): EndpointHealth {
  const judged = attempts.filter((a) => a.health !== 'none');
  if (judged.length === 0) return before;
  const recentSuccess = before.lastSuccessAt !== null && before.lastSuccessAt.getTime() > now.getTime() - rules.successRefreshMs;
  if (judged.every((a) => a.health === 'success') && before.failuresSinceSuccess === 0 && recentSuccess) return before;

  let { lastSuccessAt, firstFailureAt, failuresSinceSuccess } = before;
  let goneReason: string | null = null;
  let failuresWhenTooLong: number | null = null;
  for (const attempt of judged) {
    if (attempt.health === 'success') {
      lastSuccessAt = now;
      failuresSinceSuccess = 0;
      firstFailureAt = null;
      continue;
    }
    failuresSinceSuccess += 1;
    firstFailureAt ??= now;
    goneReason ??= attempt.disableReason;
    // (A run begun in this batch starts at `now`: it has not failed for any time yet.)
    if (failuresWhenTooLong === null && failingTooLong(failuresSinceSuccess, firstFailureAt, now, rules)) {
      failuresWhenTooLong = failuresSinceSuccess;
    }
  }
  const health = { ...before, lastSuccessAt, firstFailureAt, failuresSinceSuccess };
  if (before.disabled) return health;
  const reason = goneReason ?? (failuresWhenTooLong !== null ? tooLongReason(rules, failuresWhenTooLong) : null);
  return { ...health, disabled: reason !== null, disabledReason: reason, disabledAt: reason !== null ? now : null };
}

function failingTooLong(failures: number, firstFailureAt: Date, now: Date, rules: HealthFoldRules): boolean {
  return rules.disableAfterMs > 0 && failures >= rules.minFailures && firstFailureAt.getTime() <= now.getTime() - rules.disableAfterMs;
}

/**
 * Disabling or enabling by hand (endpoints.update, endpoints.create with `disabled`). Disabling
 * keeps an earlier reason and time; re-enabling a disabled endpoint resets its failure run, so
 * HOOKLINE_DISABLE_AFTER counts from its next failure. `lastSuccessAt` is history and stays.
 * endpoints/service.ts writes the same in its UPDATE (test/endpoint-health.test.ts compares).
 */
export function setDisabledByHand(before: EndpointHealth, disabled: boolean, now: Date): EndpointHealth {
  if (disabled) return before.disabled ? before : { ...before, disabled: true, disabledReason: MANUAL_DISABLE_REASON, disabledAt: now };
  const reset = before.disabled && { failuresSinceSuccess: 0, firstFailureAt: null };
  return { ...before, disabled: false, disabledReason: null, disabledAt: null, ...reset };
}

/** Why retrying, recovering or testing an endpoint's deliveries is refused while it is disabled. */
export function disabledEndpointMessage(endpointId: string, reason: string | null, doing: string): string {
  return `endpoint ${endpointId} is disabled${reason ? ` (${reason})` : ''}; re-enable it (endpoints.update with disabled: false) before ${doing}`;
}

function formatDuration(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000} days`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} hours`;
  if (ms % 1000 === 0) return `${ms / 1000} seconds`;
  return `${ms} ms`;
}
