// The event-type filter lives twice: in TypeScript (shared/event-type-filter.ts, what the API and
// anyone predicting a delivery use) and in SQL (db/sql/fan-out.ts, what the fan-out statement
// actually runs). This runs the SQL text the fan-out embeds against the TypeScript function on the
// same cases, on real PostgreSQL, so the two cannot drift apart.
import type postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDatabase, type Database } from '../db/client.js';
import { eventTypeFilterMatchesSql } from '../db/sql/fan-out.js';
import { matchesEventTypeFilter } from '../shared/event-type-filter.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';

let database: TestDatabase;
let connection: Database;
let sql: postgres.Sql;

beforeAll(async () => {
  database = await createTestDatabase();
  // Connected as the app connects (db/client.ts), so parameters travel as they do in the fan-out.
  connection = connectDatabase(database.url, { max: 1 });
  sql = connection.sql;
});
afterAll(async () => {
  await connection.close();
  await database.drop();
});

type Case = { filters: string[]; type: string };

/** The SQL predicate's answer for each case, in order (one statement for all of them). */
async function matchInSql(cases: readonly Case[]): Promise<boolean[]> {
  const rows = await sql<{ n: number; matches: boolean }[]>`
    select c.n, ${sql.unsafe(eventTypeFilterMatchesSql('c.filters', 'c.type'))} as matches
      from json_to_recordset(${JSON.stringify(cases.map((c, n) => ({ n, ...c })))}::json) as c(n int, filters text[], type text)
     order by c.n`;
  expect(rows).toHaveLength(cases.length);
  return rows.map((row) => row.matches);
}

// Each case with the answer written out, so a bug shared by both versions fails too.
const known: Array<[string[], string, boolean]> = [
  [[], 'job.completed', true],
  [['job.completed'], 'job.completed', true],
  [['job.completed'], 'job.completed.v2', false],
  [['job.completed'], 'job', false],
  [['job.completed', 'generation.failed'], 'generation.failed', true],
  [['file.*'], 'file.upload.completed', true],
  [['file.*'], 'file.deleted', true],
  [['file.*'], 'file', false],
  [['file.*'], 'files.upload', false],
  [['file.*'], 'profile.updated', false],
  [['file.upload.*'], 'file.upload.completed', true],
  [['file.upload.*'], 'file.download.completed', false],
  [['video.*', 'job.completed'], 'video.ready', true],
  [['video.*', 'job.completed'], 'job.failed', false],
  // Characters that are wildcards in LIKE are plain characters here.
  [['a_b.*'], 'axb.c', false],
  [['a_b.*'], 'a_b.c', true],
  [['a_b'], 'axb', false],
  // `*` only means something as the `.*` ending.
  [['file*'], 'file.x', false],
  [['file*'], 'file*', true],
  [['*'], 'anything', false],
  [['.*'], '.x', true],
  [['.*'], 'x', false],
];

describe('event-type filter: SQL (db/sql/fan-out.ts) and TypeScript (shared/event-type-filter.ts)', () => {
  it('give the expected answer on the known cases', async () => {
    const cases = known.map(([filters, type]) => ({ filters, type }));
    const inSql = await matchInSql(cases);
    known.forEach(([filters, type, expected], i) => {
      expect({ filters, type, ts: matchesEventTypeFilter(filters, type) }).toEqual({ filters, type, ts: expected });
      expect({ filters, type, sql: inSql[i] }).toEqual({ filters, type, sql: expected });
    });
  });

  it('agree on every filter of up to two entries over a small alphabet, against every type', async () => {
    const entries = ['a', 'a.b', 'a.*', 'a.b.*', 'ab', 'ab.*', 'b.*', 'a.', '.*', 'a.b.c'];
    const types = ['a', 'a.b', 'a.b.c', 'ab', 'ab.c', 'a.', 'b', 'b.a', 'a_b', 'a.bc'];
    const filters: string[][] = [[]];
    for (const x of entries) {
      filters.push([x]);
      for (const y of entries) if (y > x) filters.push([x, y]);
    }
    const cases = filters.flatMap((f) => types.map((type) => ({ filters: f, type })));
    const inSql = await matchInSql(cases);
    const disagreements = cases.filter((c, i) => matchesEventTypeFilter(c.filters, c.type) !== inSql[i]);
    expect(disagreements).toEqual([]);
    // Both answers occur, so the comparison is not trivially all-true or all-false.
    expect(new Set(inSql)).toEqual(new Set([true, false]));
    expect(cases.length).toBeGreaterThan(500);
  });
});
