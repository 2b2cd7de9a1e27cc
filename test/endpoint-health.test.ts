// The endpoint health fold runs twice: in SQL, inside the record statement
// (db/sql/record-attempts.ts, on the hot path), and in TypeScript (server/endpoints/health.ts, where
// the rules are read). This runs the same attempt sequences through both on real PostgreSQL and
// compares the endpoint rows with the TypeScript result, batch after batch; and the same for
// disabling and re-enabling by hand (endpoints/service.ts's UPDATE against setDisabledByHand).
import type postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordAttempts, type AttemptWrite } from '../db/sql/record-attempts.js';
import { newId } from '../shared/ids.js';
import type { PostResult } from '../server/delivery/http.js';
import type { DeliveryToSend } from '../server/delivery/load.js';
import { decideOutcome } from '../server/delivery/outcome.js';
import { toAttemptWrite, type AttemptToRecord } from '../server/delivery/record.js';
import {
  endpointHealthRules,
  foldEndpointHealth,
  GONE_DISABLE_REASON,
  MANUAL_DISABLE_REASON,
  setDisabledByHand,
  type EndpointHealth,
} from '../server/endpoints/health.js';
import { updateEndpoint } from '../server/endpoints/service.js';
import { startTestApp, type TestApp } from './helpers/app.js';

let app: TestApp;
let tenantId: string;

beforeAll(async () => {
  app = await startTestApp();
  ({
    tenant: { id: tenantId },
  } = await app.admin.tenants.create.mutate({ name: 'Health Co' }));
});
afterAll(() => app.close());

const SECOND = 1000;
const DAY = 86_400_000;

/**
 * What an attempt was: S 2xx, F 500 (retry due), T timeout (retry due), X 500 with no retries left,
 * G 410 Gone, N no request made (the endpoint was disabled when the job ran), D a duplicate of an
 * attempt already recorded (a success, which the statement must not count).
 */
type Kind = 'S' | 'F' | 'T' | 'X' | 'G' | 'N' | 'D';
const kinds: readonly Kind[] = ['S', 'F', 'T', 'X', 'G', 'N', 'D'];

/** An endpoint's health before the first batch, times as ages at that batch's now(). */
interface Start {
  failures: number;
  firstFailureAgo: number | null;
  lastSuccessAgo: number | null;
  disabledReason?: string;
}

interface Scenario {
  name: string;
  disableAfterMs: number;
  endpoints: Start[];
  /** Each batch: the attempts of one statement in the order they finished, as `kind` or `kind@endpoint`. */
  batches: string[][];
}

const starts = {
  fresh: { failures: 0, firstFailureAgo: null, lastSuccessAgo: null },
  justSucceeded: { failures: 0, firstFailureAgo: null, lastSuccessAgo: 300 },
  healthy: { failures: 0, firstFailureAgo: null, lastSuccessAgo: DAY },
  failing8ForDays: { failures: 8, firstFailureAgo: 6 * DAY, lastSuccessAgo: 7 * DAY },
  failing9ForDays: { failures: 9, firstFailureAgo: 6 * DAY, lastSuccessAgo: null },
  failing40ForHours: { failures: 40, firstFailureAgo: 4 * DAY, lastSuccessAgo: 5 * DAY },
  failing3: { failures: 3, firstFailureAgo: 10 * SECOND, lastSuccessAgo: 20 * SECOND },
  gone: { failures: 12, firstFailureAgo: 6 * DAY, lastSuccessAgo: 7 * DAY, disabledReason: GONE_DISABLE_REASON },
  disabledByHand: { failures: 0, firstFailureAgo: null, lastSuccessAgo: DAY, disabledReason: MANUAL_DISABLE_REASON },
} satisfies Record<string, Start>;

const FIVE_DAYS = 5 * DAY;

const tooLong10 = 'no successful delivery for 5 days (10 failed attempts)';

/** Each with what the statement must end with: were both sides to do nothing, they would agree. */
const namedScenarios: Array<Scenario & { ends: Array<Partial<EndpointHealth>> }> = [
  {
    name: 'failures after the last success count, the ones before do not',
    disableAfterMs: FIVE_DAYS,
    endpoints: [starts.healthy],
    batches: [['F', 'S', 'F', 'T']],
    ends: [{ failuresSinceSuccess: 2, disabled: false }],
  },
  {
    name: 'a success alone resets, failures alone add up',
    disableAfterMs: FIVE_DAYS,
    endpoints: [starts.failing3],
    batches: [['S'], ['F', 'X'], ['T']],
    ends: [{ failuresSinceSuccess: 3, disabled: false }],
  },
  {
    name: 'the 10th failure of a run failing for days disables',
    disableAfterMs: FIVE_DAYS,
    endpoints: [starts.failing8ForDays],
    batches: [['F', 'F', 'F']],
    ends: [{ failuresSinceSuccess: 11, disabled: true, disabledReason: tooLong10 }],
  },
  {
    name: 'one short of 10 does not',
    disableAfterMs: FIVE_DAYS,
    endpoints: [starts.failing8ForDays],
    batches: [['F'], ['N', 'N']],
    ends: [{ failuresSinceSuccess: 9, disabled: false }],
  },
  {
    name: 'a later success in the batch does not undo the disabling',
    disableAfterMs: FIVE_DAYS,
    endpoints: [starts.failing9ForDays],
    batches: [['F', 'F', 'S']],
    ends: [{ failuresSinceSuccess: 0, firstFailureAt: null, disabled: true, disabledReason: tooLong10 }],
  },
  {
    name: 'a run younger than HOOKLINE_DISABLE_AFTER is not disabled',
    disableAfterMs: FIVE_DAYS,
    endpoints: [starts.failing40ForHours],
    batches: [['F', 'X', 'T']],
    ends: [{ failuresSinceSuccess: 43, disabled: false }],
  },
  {
    name: 'HOOKLINE_DISABLE_AFTER=0 never disables for failing',
    disableAfterMs: 0,
    endpoints: [starts.failing9ForDays],
    batches: [['F', 'F'], ['X']],
    ends: [{ failuresSinceSuccess: 12, disabled: false }],
  },
  {
    name: 'a 410 among successes disables',
    disableAfterMs: FIVE_DAYS,
    endpoints: [starts.healthy],
    batches: [['S', 'G', 'S']],
    ends: [{ failuresSinceSuccess: 0, disabled: true, disabledReason: GONE_DISABLE_REASON }],
  },
  {
    name: "a 410's reason wins over failing too long in one batch",
    disableAfterMs: FIVE_DAYS,
    endpoints: [starts.failing9ForDays],
    batches: [['F', 'G']],
    ends: [{ failuresSinceSuccess: 11, disabled: true, disabledReason: GONE_DISABLE_REASON }],
  },
  {
    name: 'a disabled endpoint keeps its reason; its health still counts',
    disableAfterMs: FIVE_DAYS,
    endpoints: [starts.gone, starts.disabledByHand],
    batches: [
      ['F@0', 'G@1', 'S@1'],
      ['S@0', 'F@1'],
    ],
    ends: [
      { failuresSinceSuccess: 0, disabled: true, disabledReason: GONE_DISABLE_REASON },
      { failuresSinceSuccess: 1, disabled: true, disabledReason: MANUAL_DISABLE_REASON },
    ],
  },
  {
    name: 'successes on a healthy endpoint refresh it at most once a second',
    disableAfterMs: FIVE_DAYS,
    endpoints: [starts.justSucceeded, starts.healthy],
    batches: [['S@0', 'S@1', 'S@0'], ['S@1']],
    ends: [{ failuresSinceSuccess: 0 }, { failuresSinceSuccess: 0 }],
  },
  {
    name: 'a success among failures on a just-succeeded endpoint is recorded',
    disableAfterMs: FIVE_DAYS,
    endpoints: [starts.justSucceeded],
    batches: [['S', 'F', 'S', 'F']],
    ends: [{ failuresSinceSuccess: 1 }],
  },
  {
    name: 'duplicates and attempts without a request say nothing',
    disableAfterMs: FIVE_DAYS,
    endpoints: [starts.failing9ForDays, starts.failing3],
    batches: [['D@0', 'N@0', 'D@1', 'N@1']],
    ends: [{ failuresSinceSuccess: 9, disabled: false }, { failuresSinceSuccess: 3 }],
  },
  {
    name: 'a run begun in an earlier batch disables once old enough (1 ms)',
    disableAfterMs: 1,
    endpoints: [starts.fresh],
    batches: [
      ['F', 'F', 'F', 'F', 'F'],
      ['T', 'F', 'F', 'F', 'X', 'F', 'S', 'F'],
    ],
    ends: [{ failuresSinceSuccess: 1, disabled: true, disabledReason: 'no successful delivery for 1 ms (10 failed attempts)' }],
  },
  {
    name: 'a run begun in the batch has not lasted: no disabling within it (1 ms)',
    disableAfterMs: 1,
    endpoints: [starts.fresh],
    batches: [Array<string>(12).fill('F')],
    ends: [{ failuresSinceSuccess: 12, disabled: false }],
  },
  {
    name: 'endpoints in one batch fold apart',
    disableAfterMs: FIVE_DAYS,
    endpoints: [starts.failing8ForDays, starts.failing9ForDays],
    batches: [['F@1', 'F@0', 'S@1', 'F@0', 'F@1', 'G@1']],
    ends: [
      { failuresSinceSuccess: 10, disabled: true, disabledReason: tooLong10 },
      { failuresSinceSuccess: 2, disabled: true, disabledReason: GONE_DISABLE_REASON },
    ],
  },
];

/** A small seeded generator, so a failing random case can be run again. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function randomScenarios(seed: number, count: number): Scenario[] {
  const random = mulberry32(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const startList = Object.values(starts);
  // Weighted: mostly successes and failures, the rarer kinds now and then.
  const weighted: Kind[] = ['S', 'S', 'S', 'S', 'F', 'F', 'F', 'F', 'T', 'X', 'G', 'N', 'D'];
  return Array.from({ length: count }, (_, i) => {
    const endpoints = Array.from({ length: 1 + Math.floor(random() * 2) }, () => pick(startList));
    const batches = Array.from({ length: 1 + Math.floor(random() * 4) }, () =>
      Array.from({ length: 1 + Math.floor(random() * 12) }, () => `${pick(weighted)}@${Math.floor(random() * endpoints.length)}`),
    );
    return { name: `random #${i} of seed ${seed}`, disableAfterMs: pick([FIVE_DAYS, 0, 1, 3 * DAY]), endpoints, batches };
  });
}

/** Timestamps as epoch milliseconds (floored), so the statement's now() compares exactly. */
async function readHealth(sql: postgres.Sql | postgres.TransactionSql, ids: readonly string[]): Promise<EndpointHealth[]> {
  const rows = await sql<
    {
      id: string;
      lastSuccessAt: number | null;
      firstFailureAt: number | null;
      failures: number;
      disabled: boolean;
      disabledReason: string | null;
      disabledAt: number | null;
    }[]
  >`select id, floor(extract(epoch from last_success_at) * 1000)::float8 as "lastSuccessAt",
           floor(extract(epoch from first_failure_at) * 1000)::float8 as "firstFailureAt",
           failures_since_success as failures, disabled, disabled_reason as "disabledReason",
           floor(extract(epoch from disabled_at) * 1000)::float8 as "disabledAt"
      from endpoints where id = any(${ids as string[]}::text[])`;
  const date = (ms: number | null) => (ms === null ? null : new Date(ms));
  return ids.map((id) => {
    const row = rows.find((r) => r.id === id)!;
    return {
      lastSuccessAt: date(row.lastSuccessAt),
      firstFailureAt: date(row.firstFailureAt),
      failuresSinceSuccess: row.failures,
      disabled: row.disabled,
      disabledReason: row.disabledReason,
      disabledAt: date(row.disabledAt),
    };
  });
}

async function dbNow(sql: postgres.Sql | postgres.TransactionSql): Promise<Date> {
  const [row] = await sql<{ now: number }[]>`select floor(extract(epoch from now()) * 1000)::float8 as now`;
  return new Date(row!.now);
}

/** The endpoints, with the health each starts from (times as ages at `now`). */
async function insertEndpoints(sql: postgres.Sql | postgres.TransactionSql, ids: readonly string[]) {
  await sql`
    insert into endpoints (id, tenant_id, url, secret)
    select id, ${tenantId}, 'https://hooks.example.com/health', 'unused' from unnest(${ids as string[]}::text[]) as id`;
}

async function setStart(sql: postgres.Sql | postgres.TransactionSql, ids: readonly string[], startsOf: readonly Start[], now: Date) {
  const at = (ago: number | null) => (ago === null ? null : new Date(now.getTime() - ago).toISOString());
  const rows = startsOf.map((s, i) => ({
    id: ids[i],
    failures: s.failures,
    first_failure_at: at(s.firstFailureAgo),
    last_success_at: at(s.lastSuccessAgo),
    disabled_reason: s.disabledReason ?? null,
    disabled_at: s.disabledReason ? at(DAY) : null,
  }));
  await sql`
    update endpoints ep
       set failures_since_success = r.failures, first_failure_at = r.first_failure_at, last_success_at = r.last_success_at,
           disabled = r.disabled_reason is not null, disabled_reason = r.disabled_reason, disabled_at = r.disabled_at
      from json_to_recordset(${JSON.stringify(rows)}::json) as r(id text, failures int, first_failure_at timestamptz,
           last_success_at timestamptz, disabled_reason text, disabled_at timestamptz)
     where ep.id = r.id`;
}

/** One pending delivery per endpoint id given (repeats allowed), of one event. */
async function insertDeliveries(endpointIds: readonly string[]): Promise<DeliveryToSend[]> {
  const eventId = newId('event');
  const deliveries = endpointIds.map((endpointId) => ({ id: newId('delivery'), endpoint_id: endpointId }));
  await app.deps.sql`insert into events (id, tenant_id, type, payload) values (${eventId}, ${tenantId}, 'health.checked', '{}')`;
  await app.deps.sql`
    insert into deliveries (id, tenant_id, event_id, endpoint_id)
    select id, ${tenantId}, ${eventId}, endpoint_id from json_to_recordset(${JSON.stringify(deliveries)}::json) as d(id text, endpoint_id text)`;
  return deliveries.map((d) => ({
    id: d.id,
    tenantId,
    eventId,
    endpointId: d.endpoint_id,
    status: 'pending',
    attemptCount: 0,
    url: 'https://hooks.example.com/health',
    body: '{}',
    customHeaders: {},
    secrets: [],
    endpointDisabled: false,
    rateLimit: null,
    inFifoLine: false,
  }));
}

/** The attempt as the worker would record it, through the same outcome rules and mapping. */
function attemptOf(kind: Kind, delivery: DeliveryToSend): AttemptToRecord {
  const response = (status: number): PostResult => ({ kind: 'response', status, headers: {}, body: `status ${status}`, durationMs: 5 });
  const sent = (result: PostResult, retries: number[] = [60_000]): AttemptToRecord => ({
    delivery,
    attempt: 1,
    sent: { startedAt: new Date(), result },
    outcome: decideOutcome(result, 1, { retryScheduleMs: retries, random: () => 0.5 }),
  });
  switch (kind) {
    case 'S':
      return sent(response(200));
    case 'F':
      return sent(response(500));
    case 'T':
      return sent({ kind: 'error', error: 'timeout', message: 'no answer within 2 s', durationMs: 2000 });
    case 'X':
      return sent(response(500), []);
    case 'G':
      return sent(response(410));
    case 'N':
      return { delivery, attempt: 1, sent: null, outcome: { kind: 'failed', reason: 'endpoint disabled' } };
    case 'D':
      // Attempt 2 of a delivery that has made none: the statement records nothing of it.
      return { ...sent(response(200)), attempt: 2 };
  }
}

function parseStep(step: string): { kind: Kind; endpoint: number } {
  const [kind, endpoint] = step.split('@');
  if (!kinds.includes(kind as Kind)) throw new Error(`unknown attempt kind ${step}`);
  return { kind: kind as Kind, endpoint: Number(endpoint ?? 0) };
}

/** Runs the scenario's batches through the record statement; after each, compares with the fold. */
async function compare(scenario: Scenario): Promise<EndpointHealth[]> {
  const rules = endpointHealthRules(scenario.disableAfterMs);
  const ids = scenario.endpoints.map(() => newId('endpoint'));
  await insertEndpoints(app.deps.sql, ids);
  let expected: EndpointHealth[] | undefined;
  for (const [b, batch] of scenario.batches.entries()) {
    // Batches a few ms apart: the statement compares microseconds, these tests milliseconds, so a
    // run begun in the last batch must be past a 1 ms HOOKLINE_DISABLE_AFTER on both sides.
    if (b > 0) await sleep(3);
    const steps = batch.map(parseStep);
    const deliveries = await insertDeliveries(steps.map((s) => ids[s.endpoint]!));
    const writes: AttemptWrite[] = steps.map((s, i) => toAttemptWrite(attemptOf(s.kind, deliveries[i]!)));
    // One transaction, so the statement's now() is the one read first (now() is the transaction's start).
    const { now, before, after } = await app.deps.sql.begin(async (tx) => {
      const now = await dbNow(tx);
      if (b === 0) await setStart(tx, ids, scenario.endpoints, now);
      const before = await readHealth(tx, ids);
      await recordAttempts(tx, { attempts: writes, rules });
      return { now, before, after: await readHealth(tx, ids) };
    });
    if (expected) expect(before, `${scenario.name}: state before batch ${b}`).toEqual(expected);
    expected = before.map((health, e) => {
      const recorded = steps.flatMap((s, i) => (s.endpoint === e && s.kind !== 'D' ? [writes[i]!] : []));
      return foldEndpointHealth(health, recorded, now, rules);
    });
    expect(after, `${scenario.name}: batch ${b} ${batch.join(' ')}`).toEqual(expected);
  }
  return expected!;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the record statement folds endpoint health as foldEndpointHealth does', () => {
  for (const scenario of namedScenarios) {
    it(scenario.name, async () => {
      const ends = await compare(scenario);
      for (const [e, end] of scenario.ends.entries()) expect(ends[e], `endpoint ${e}`).toMatchObject(end);
    });
  }

  it('on random sequences of batches', async () => {
    for (const scenario of randomScenarios(14, 40)) await compare(scenario);
  }, 120_000);
});

describe("endpoints.update's disabled follows setDisabledByHand", () => {
  const cases: Array<[keyof typeof starts, boolean]> = [
    ['healthy', true],
    ['failing3', true],
    ['gone', true],
    ['disabledByHand', true],
    ['gone', false],
    ['disabledByHand', false],
    ['failing3', false],
    ['healthy', false],
  ];
  for (const [start, disabled] of cases) {
    it(`${start}, disabled: ${disabled}`, async () => {
      const id = newId('endpoint');
      await insertEndpoints(app.deps.sql, [id]);
      await setStart(app.deps.sql, [id], [starts[start]], await dbNow(app.deps.sql));
      const [before] = await readHealth(app.deps.sql, [id]);
      const updated = await updateEndpoint(app.deps, tenantId, id, { disabled });
      const [after] = await readHealth(app.deps.sql, [id]);
      // The UPDATE's now(), as it wrote it in updated_at.
      const now = new Date(updated.updatedAt);
      expect(after).toEqual(setDisabledByHand(before!, disabled, now));
      expect(updated).toMatchObject({ disabled: after!.disabled, disabledReason: after!.disabledReason });
    });
  }
});
