// `hookline admin …`: operator commands against a running deployment, through the typed client.
// One file per group; a new group is one file and one line below.
import type { Command } from 'commander';
import { DEFAULT_API_URL } from './connection.js';
import { registerDeliveriesCommands } from './deliveries.js';
import { registerEndpointsCommands } from './endpoints.js';
import { registerEventsCommands } from './events.js';
import { registerEventTypesCommands } from './event-types.js';
import { registerTenantsCommands } from './tenants.js';

export function registerAdminCommands(program: Command): void {
  const admin = program
    .command('admin')
    .description('manage a running hookline through its API (tenants, event types, endpoints, events, deliveries)')
    .option('--url <url>', `API address (env HOOKLINE_URL, default ${DEFAULT_API_URL})`)
    .option('--api-key <key>', 'admin key (env HOOKLINE_API_KEY, else .hookline/admin-key)')
    .option('--json', 'print the result as JSON, for scripts')
    // Subcommands created below inherit these: their --help lists the options above too, and a
    // usage error is one line and a hint rather than the whole help.
    .configureHelp({ showGlobalOptions: true })
    .showHelpAfterError('(add --help for usage)');

  registerTenantsCommands(admin);
  registerEventTypesCommands(admin);
  registerEndpointsCommands(admin);
  registerEventsCommands(admin);
  registerDeliveriesCommands(admin);
}
