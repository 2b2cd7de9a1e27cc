// server/endpoints/health.ts: the endpoint health rules in TypeScript, case by case with known
// results. (test/endpoint-health.test.ts runs the same fold through the record statement.)
import { describe, expect, it } from 'vitest';
import { decideOutcome } from '../../server/delivery/outcome.js';
import {
  disabledEndpointMessage,
  endpointHealthRules,
  foldEndpointHealth,
  judgeAttempt,
  MANUAL_DISABLE_REASON,
  setDisabledByHand,
  type AttemptVerdict,
  type EndpointHealth,
} from '../../server/endpoints/health.js';

const DAY = 86_400_000;
const now = new Date('2026-12-02T10:00:00.000Z');
const ago = (ms: number) => new Date(now.getTime() - ms);
const rules = endpointHealthRules(5 * DAY);

const S: AttemptVerdict = { health: 'success', disableReason: null };
const F: AttemptVerdict = { health: 'failure', disableReason: null };
const G: AttemptVerdict = { health: 'failure', disableReason: 'the endpoint answered 410 Gone' };
const N: AttemptVerdict = { health: 'none', disableReason: null };

const healthy: EndpointHealth = {
  lastSuccessAt: ago(DAY),
  firstFailureAt: null,
  failuresSinceSuccess: 0,
  disabled: false,
  disabledReason: null,
  disabledAt: null,
};
/** Failing for 6 days, `failures` times. */
const failing = (failures: number): EndpointHealth => ({ ...healthy, failuresSinceSuccess: failures, firstFailureAt: ago(6 * DAY) });

describe('what an attempt says about its endpoint', () => {
  const response = (status: number) => ({ kind: 'response' as const, status, headers: {}, body: '', durationMs: 1 });
  const outcome = (status: number) => decideOutcome(response(status), 1, { retryScheduleMs: [1000], random: () => 0.5 });

  it('2xx a success; 5xx, timeouts and blocked destinations failures; a 410 a failure that disables; no request nothing', () => {
    expect(judgeAttempt(true, outcome(204))).toEqual(S);
    expect(judgeAttempt(true, outcome(500))).toEqual(F);
    expect(judgeAttempt(true, decideOutcome(response(500), 2, { retryScheduleMs: [1000] }))).toEqual(F); // no retries left
    const timeout = { kind: 'error' as const, error: 'timeout' as const, message: 'no answer', durationMs: 1 };
    expect(judgeAttempt(true, decideOutcome(timeout, 1, { retryScheduleMs: [1000] }))).toEqual(F);
    const blocked = { kind: 'error' as const, error: 'blocked' as const, message: 'private address', durationMs: 0 };
    expect(judgeAttempt(true, decideOutcome(blocked, 1, { retryScheduleMs: [1000] }))).toEqual(F);
    expect(judgeAttempt(true, outcome(410))).toEqual(G);
    expect(judgeAttempt(false, { kind: 'failed', reason: 'endpoint disabled' })).toEqual(N);
  });
});

describe('the fold', () => {
  it('a success ends the failure run; failures after it start a new one', () => {
    expect(foldEndpointHealth(failing(4), [S], now, rules)).toEqual({ ...healthy, lastSuccessAt: now });
    expect(foldEndpointHealth(failing(4), [F, S, F, F], now, rules)).toEqual({
      ...healthy,
      lastSuccessAt: now,
      failuresSinceSuccess: 2,
      firstFailureAt: now,
    });
  });

  it('failures extend the run and keep its first failure', () => {
    expect(foldEndpointHealth(healthy, [F], now, rules)).toEqual({ ...healthy, failuresSinceSuccess: 1, firstFailureAt: now });
    const run = { ...healthy, failuresSinceSuccess: 3, firstFailureAt: ago(DAY) };
    expect(foldEndpointHealth(run, [F, F], now, rules)).toEqual({ ...run, failuresSinceSuccess: 5 });
  });

  it('attempts that made no request change nothing', () => {
    const before = failing(12);
    expect(foldEndpointHealth(before, [N, N], now, rules)).toBe(before);
    expect(foldEndpointHealth(before, [], now, rules)).toBe(before);
  });

  it('disables at the failure that brings a run failing for HOOKLINE_DISABLE_AFTER to 10 failures', () => {
    const after = foldEndpointHealth(failing(8), [F, F, F], now, rules);
    expect(after).toEqual({
      ...failing(11),
      disabled: true,
      disabledReason: 'no successful delivery for 5 days (10 failed attempts)',
      disabledAt: now,
    });
    // One short of 10: still enabled.
    expect(foldEndpointHealth(failing(8), [F], now, rules).disabled).toBe(false);
    // Past 10 already (the run was not old enough before): the count is the failure that crossed.
    expect(foldEndpointHealth(failing(15), [F], now, rules).disabledReason).toBe('no successful delivery for 5 days (16 failed attempts)');
  });

  it('does not disable a run younger than HOOKLINE_DISABLE_AFTER, however many failures', () => {
    const young = { ...healthy, failuresSinceSuccess: 100, firstFailureAt: ago(5 * DAY - 1) };
    expect(foldEndpointHealth(young, [F], now, rules).disabled).toBe(false);
    // Exactly that old: disabled.
    expect(foldEndpointHealth({ ...young, firstFailureAt: ago(5 * DAY) }, [F], now, rules).disabled).toBe(true);
  });

  it('HOOKLINE_DISABLE_AFTER=0 never disables for failing', () => {
    expect(foldEndpointHealth(failing(500), [F, F], now, endpointHealthRules(0)).disabled).toBe(false);
  });

  it('a run that began in the batch has not lasted: a success then failures never disables within it', () => {
    const rules1ms = endpointHealthRules(1);
    const after = foldEndpointHealth(failing(20), [S, ...Array<AttemptVerdict>(15).fill(F)], now, rules1ms);
    expect(after).toMatchObject({ disabled: false, failuresSinceSuccess: 15, firstFailureAt: now });
  });

  it('disables as one attempt at a time would: a later success in the batch does not undo it', () => {
    const after = foldEndpointHealth(failing(9), [F, F, S], now, rules);
    expect(after).toEqual({
      ...healthy,
      lastSuccessAt: now,
      disabled: true,
      disabledReason: 'no successful delivery for 5 days (10 failed attempts)',
      disabledAt: now,
    });
  });

  it('a 410 disables at once, even among successes; its reason wins over failing too long in the same batch', () => {
    expect(foldEndpointHealth(healthy, [S, G, S], now, rules)).toEqual({
      ...healthy,
      lastSuccessAt: now,
      disabled: true,
      disabledReason: 'the endpoint answered 410 Gone',
      disabledAt: now,
    });
    expect(foldEndpointHealth(failing(9), [F, G], now, rules).disabledReason).toBe('the endpoint answered 410 Gone');
  });

  it('a disabled endpoint keeps its reason and time; its health still counts', () => {
    const disabled = { ...failing(3), disabled: true, disabledReason: MANUAL_DISABLE_REASON, disabledAt: ago(DAY) };
    expect(foldEndpointHealth(disabled, [G, F], now, rules)).toEqual({ ...disabled, failuresSinceSuccess: 5 });
    expect(foldEndpointHealth(disabled, [S], now, rules)).toEqual({
      ...disabled,
      lastSuccessAt: now,
      failuresSinceSuccess: 0,
      firstFailureAt: null,
    });
  });

  it('successes on a healthy endpoint refresh it at most once a second', () => {
    const recent = { ...healthy, lastSuccessAt: ago(999) };
    expect(foldEndpointHealth(recent, [S, S], now, rules)).toBe(recent);
    expect(foldEndpointHealth({ ...recent, lastSuccessAt: ago(1000) }, [S], now, rules).lastSuccessAt).toEqual(now);
    // Not with a failure in the batch, nor with failures to reset.
    expect(foldEndpointHealth(recent, [S, F, S], now, rules).lastSuccessAt).toEqual(now);
    expect(foldEndpointHealth({ ...recent, failuresSinceSuccess: 1, firstFailureAt: ago(5000) }, [S], now, rules)).toEqual({
      ...recent,
      lastSuccessAt: now,
    });
  });
});

describe('by hand', () => {
  it('disabling records the manual reason; again keeps the first reason and time', () => {
    const disabled = setDisabledByHand(failing(3), true, now);
    expect(disabled).toEqual({ ...failing(3), disabled: true, disabledReason: MANUAL_DISABLE_REASON, disabledAt: now });
    const auto = { ...failing(57), disabled: true, disabledReason: 'the endpoint answered 410 Gone', disabledAt: ago(DAY) };
    expect(setDisabledByHand(auto, true, now)).toBe(auto);
  });

  it('re-enabling a disabled endpoint resets its failure run; enabling an enabled one leaves it counting', () => {
    const auto = {
      ...failing(57),
      disabled: true,
      disabledReason: 'no successful delivery for 5 days (10 failed attempts)',
      disabledAt: ago(DAY),
    };
    expect(setDisabledByHand(auto, false, now)).toEqual(healthy);
    expect(setDisabledByHand(failing(3), false, now)).toEqual(failing(3));
  });

  it('the message refusing work for a disabled endpoint names it, its reason and the way out', () => {
    expect(disabledEndpointMessage('ep_1', 'the endpoint answered 410 Gone', 'retrying')).toBe(
      'endpoint ep_1 is disabled (the endpoint answered 410 Gone); re-enable it (endpoints.update with disabled: false) before retrying',
    );
    expect(disabledEndpointMessage('ep_1', null, 'sending a test')).toBe(
      'endpoint ep_1 is disabled; re-enable it (endpoints.update with disabled: false) before sending a test',
    );
  });
});
