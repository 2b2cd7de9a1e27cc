// The `hookline` command line. The process commands (start, serve, worker, migrate) load the server
// only when they run: `hookline admin …` loads the typed client alone, so it starts fast.
import { Command } from 'commander';
import { hooklineVersion } from '../../shared/version.js';
import { registerAdminCommands } from './admin/index.js';
import { describeError } from './admin/output.js';

const program = new Command()
  .name('hookline')
  .description('Self-hosted, multi-tenant webhooks on PostgreSQL')
  .version(hooklineVersion)
  .showHelpAfterError();

const processes = () => import('./processes.js');

program
  .command('start')
  .description('run the API and the delivery worker in one process (the quickstart)')
  .action(async () => (await processes()).runProcesses({ api: true, worker: true }));
program
  .command('serve')
  .description('run the API only')
  .action(async () => (await processes()).runProcesses({ api: true, worker: false }));
program
  .command('worker')
  .description('run the delivery worker only')
  .action(async () => (await processes()).runProcesses({ api: false, worker: true }));
program
  .command('migrate')
  .description('apply database migrations and exit')
  .action(async () => (await processes()).runMigrate());
registerAdminCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  // A ConfigError (server/env.ts, checked by name so this file need not load the server) names each
  // bad variable on its own line; anything else is one line, e.g. `hookline: NOT_FOUND: tenant not found`.
  if (error instanceof Error && error.name === 'ConfigError') {
    process.stderr.write(`hookline: ${error.message}\n`);
  } else {
    process.stderr.write(`hookline: ${describeError(error)}\n`);
  }
  process.exit(1);
}
