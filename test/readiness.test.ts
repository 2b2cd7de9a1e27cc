// GET /readyz follows the database: 503 ("database unavailable", no detail) while the app's
// database is unreachable, 200 again once it is back, with no restart. API calls meanwhile answer
// SERVICE_UNAVAILABLE, never an internal error. The shared test server keeps running: only this file's database is
// closed to connections (allow_connections false, its sessions terminated), then reopened.
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { eventually } from './helpers/receiver.js';

let app: TestApp;
let admin: postgres.Sql;

beforeAll(async () => {
  app = await startTestApp();
  admin = postgres(inject('databaseServerUrl'), { max: 1, onnotice: () => {} });
});
afterAll(async () => {
  await setReachable(true);
  await admin.end({ timeout: 5 });
  // postgres.js may wait out its whole end() timeout for a connection the server terminated
  // (porsager/postgres#1097); a short one here saves this file 5 s. app.close() then finds it ended.
  await app.database.sql.end({ timeout: 0.1 });
  await app.close();
});

async function setReachable(reachable: boolean) {
  const name = app.testDatabase.name;
  await admin.unsafe(`alter database "${name}" allow_connections ${reachable}`);
  if (!reachable) {
    await admin`select pg_terminate_backend(pid) from pg_stat_activity where datname = ${name} and pid <> pg_backend_pid()`;
  }
}

async function readyz() {
  const response = await fetch(`${app.url}/readyz`);
  return { status: response.status, body: (await response.json()) as { ok: boolean; reason?: string } };
}

describe('GET /readyz', () => {
  it('is 503 while the database is unreachable and 200 again once it is back; /healthz stays 200', async () => {
    const { apiKey: tenantKey } = await app.admin.tenants.create.mutate({ name: 'Ready Co' });
    expect(await readyz()).toEqual({ status: 200, body: { ok: true } });

    await setReachable(false);
    try {
      const down = await eventually(async () => {
        const result = await readyz();
        return result.status === 503 ? result : undefined;
      }, 10_000);
      expect(down.body.ok).toBe(false);
      // Only that much: the driver's error (addresses, user and database names) stays in the log.
      expect(down.body).toEqual({ ok: false, reason: 'database unavailable' });
      // API calls meanwhile: a typed 503, whether the database is needed by the procedure or to check
      // a tenant key.
      await expect(app.admin.tenants.list.query({})).rejects.toMatchObject({ data: { code: 'SERVICE_UNAVAILABLE', httpStatus: 503 } });
      await expect(app.client(tenantKey).tenants.me.query()).rejects.toMatchObject({
        data: { code: 'SERVICE_UNAVAILABLE', httpStatus: 503 },
      });
      // Alive, not ready: an orchestrator keeps the process and stops routing traffic to it.
      expect((await fetch(`${app.url}/healthz`)).status).toBe(200);

      // Metrics still answer; the database figures read NaN (unknown; prom-client writes `Nan`, which
      // Prometheus parses) rather than stale numbers.
      const text = await app.composed.createMetrics({ worker: false }).registry.metrics();
      expect(text).toContain('process_cpu_user_seconds_total');
      expect(text).toMatch(/^hookline_queue_depth\{state="pending"\} NaN$/im);
      expect(text).toMatch(/^hookline_endpoints_disabled NaN$/im);
    } finally {
      await setReachable(true);
    }

    const up = await eventually(async () => {
      const result = await readyz();
      return result.status === 200 ? result : undefined;
    }, 10_000);
    expect(up.body).toEqual({ ok: true });
    // The API's pool reconnected too.
    expect(await app.admin.health.query()).toMatchObject({ ok: true });
  });
});
