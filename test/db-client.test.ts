// db/client.ts: transactions keep working on a saturated pool with the API's pipelining (postgres.js
// refuses a transaction whose BEGIN is pipelined deeper than max_pipeline, so the API's pool keeps
// the default; only the worker's own pool, which runs no transactions, pipelines one deep).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDatabase, type Database } from '../db/client.js';
import { startTestApp, type TestApp } from './helpers/app.js';

let app: TestApp;
let database: Database;
beforeAll(async () => {
  app = await startTestApp();
  database = connectDatabase(app.config.databaseUrl, { max: 2 });
});
afterAll(async () => {
  await database.close();
  await app.close();
});

describe('database pool', () => {
  it('runs transactions next to plain queries on a saturated pool', async () => {
    const work = Array.from({ length: 60 }, (_, i) =>
      i % 3 === 0
        ? database.sql.begin(async (tx) => (await tx<{ n: number }[]>`select ${i}::int as n`)[0]!.n)
        : database.sql<{ n: number }[]>`select ${i}::int as n, pg_sleep(0.001)`.then((rows) => rows[0]!.n),
    );
    expect(await Promise.all(work)).toEqual(Array.from({ length: 60 }, (_, i) => i));
  });
});
