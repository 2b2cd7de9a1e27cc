// `hookline admin tenants …`: create, list, show, update, rotate the API key of, and delete tenants.
import { Option, type Command } from 'commander';
import type { Tenant, UpdateTenantInput } from '../../../client/index.js';
import { adminAction, parseCount, readJsonObject } from './action.js';
import { AdminUsageError } from './connection.js';
import { formatFields, formatRecord, formatTable, type Column } from './output.js';

const tenantColumns: Column<Tenant>[] = [
  { header: 'ID', value: (t) => t.id },
  { header: 'NAME', value: (t) => t.name },
  { header: 'EXTERNAL ID', value: (t) => t.externalId },
  { header: 'CREATED', value: (t) => t.createdAt },
];

function tenantFields(tenant: Tenant): string {
  return formatFields([
    ['id', tenant.id],
    ['name', tenant.name],
    ['external id', tenant.externalId],
    ['metadata', formatRecord(tenant.metadata)],
    ['created', tenant.createdAt],
    ['updated', tenant.updatedAt],
  ]);
}

export function registerTenantsCommands(admin: Command): void {
  const tenants = admin.command('tenants').description('manage tenants (the admin key)');

  tenants
    .command('create')
    .description('create a tenant; prints its API key and signing secret once')
    .requiredOption('--name <name>', 'display name')
    .option('--external-id <id>', 'your own id for the tenant (unique)')
    .action(
      adminAction<{ name: string; externalId?: string }>(async ({ client, print }, _args, options) => {
        const created = await client.tenants.create.mutate({
          name: options.name,
          ...(options.externalId !== undefined && { externalId: options.externalId }),
        });
        print(created, ({ tenant, apiKey, signingSecret }) =>
          [
            tenantFields(tenant),
            '',
            formatFields([
              ['api key', apiKey],
              ['signing secret', signingSecret],
            ]),
            '',
            'Keep the API key and signing secret now: they are not shown again.',
          ].join('\n'),
        );
      }),
    );

  tenants
    .command('list')
    .description('list tenants, oldest first')
    .option('--limit <n>', 'at most this many (1-500)', parseCount, 50)
    .option('--cursor <id>', "start after this tenant id (the previous page's nextCursor)")
    .option('--external-id <id>', 'only the tenant with this external id')
    .action(
      adminAction<{ limit: number; cursor?: string; externalId?: string }>(async ({ client, print }, _args, options) => {
        const page = await client.tenants.list.query({
          limit: options.limit,
          ...(options.cursor !== undefined && { cursor: options.cursor }),
          ...(options.externalId !== undefined && { externalId: options.externalId }),
        });
        print(page, ({ items, nextCursor }) =>
          [formatTable(items, tenantColumns, 'no tenants'), ...(nextCursor ? [`more: --cursor ${nextCursor}`] : [])].join('\n'),
        );
      }),
    );

  tenants
    .command('get')
    .description('show one tenant')
    .argument('<id>', 'tenant id (tnt_…)')
    .action(
      adminAction(async ({ client, print }, [tenantId]) => {
        print(await client.tenants.get.query({ tenantId: tenantId! }), tenantFields);
      }),
    );

  tenants
    .command('update')
    .description('change a tenant: only what is given changes')
    .argument('<id>', 'tenant id (tnt_…)')
    .option('--name <name>', 'display name')
    .addOption(new Option('--external-id <id>', 'your own id for the tenant (unique)').conflicts('clearExternalId'))
    .option('--clear-external-id', 'remove the external id')
    .option('--metadata <json>', 'replace the metadata: a JSON object of strings, @file, or - for stdin')
    .action(
      adminAction<{ name?: string; externalId?: string; clearExternalId?: boolean; metadata?: string }>(
        async ({ client, print }, [tenantId], options) => {
          const patch: Omit<UpdateTenantInput, 'tenantId'> = {
            ...(options.name !== undefined && { name: options.name }),
            ...(options.externalId !== undefined && { externalId: options.externalId }),
            ...(options.clearExternalId && { externalId: null }),
            // The server checks that every value is a string.
            ...(options.metadata !== undefined && {
              metadata: readJsonObject('--metadata', options.metadata) as Record<string, string>,
            }),
          };
          if (Object.keys(patch).length === 0) {
            throw new AdminUsageError('nothing to update: give --name, --external-id, --clear-external-id or --metadata');
          }
          print(await client.tenants.update.mutate({ tenantId: tenantId!, ...patch }), tenantFields);
        },
      ),
    );

  tenants
    .command('rotate-key')
    .description('issue a new API key for a tenant; the old one stops working at once')
    .argument('<id>', 'tenant id (tnt_…)')
    .action(
      adminAction(async ({ client, print }, [tenantId]) => {
        const rotated = await client.tenants.rotateApiKey.mutate({ tenantId: tenantId! });
        print(rotated, ({ apiKey }) =>
          [formatFields([['api key', apiKey]]), '', 'The old key no longer works; this one is not shown again.'].join('\n'),
        );
      }),
    );

  tenants
    .command('delete')
    .description('delete a tenant and everything it owns (endpoints, events, deliveries)')
    .argument('<id>', 'tenant id (tnt_…)')
    .action(
      adminAction(async ({ client, print }, [tenantId]) => {
        const deleted = await client.tenants.delete.mutate({ tenantId: tenantId! });
        print(deleted, () => `deleted tenant ${tenantId}`);
      }),
    );
}
