// The `hookline` command line.
import { Command } from 'commander';
import { ConfigError } from '../env.js';
import { hooklineVersion } from '../routers/health.js';
import { registerAdminCommands } from './admin/index.js';
import { describeError } from './admin/output.js';
import { runMigrate, runProcesses } from './processes.js';

const program = new Command()
  .name('hookline')
  .description('Self-hosted, multi-tenant webhooks on PostgreSQL')
  .version(hooklineVersion)
  .showHelpAfterError();

program
  .command('start')
  .description('run the API and the delivery worker in one process (the quickstart)')
  .action(() => runProcesses({ api: true, worker: true }));
program
  .command('serve')
  .description('run the API only')
  .action(() => runProcesses({ api: true, worker: false }));
program
  .command('worker')
  .description('run the delivery worker only')
  .action(() => runProcesses({ api: false, worker: true }));
program.command('migrate').description('apply database migrations and exit').action(runMigrate);
registerAdminCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`hookline: ${error.message}\n`);
  } else {
    // One line, e.g. `hookline: NOT_FOUND: tenant not found` for a failed API call.
    process.stderr.write(`hookline: ${describeError(error)}\n`);
  }
  process.exit(1);
}
