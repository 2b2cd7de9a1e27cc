// `hookline admin endpoints …`: a tenant's endpoints, named with `--tenant` (the admin key acts for
// any tenant): list, show, create, delete.
import { InvalidArgumentError, type Command } from 'commander';
import type { Endpoint } from '../../../client/index.js';
import { adminAction, collect, parseCount } from './action.js';
import { formatFields, formatList, formatRecord, formatTable, type Column } from './output.js';

const endpointColumns: Column<Endpoint>[] = [
  { header: 'ID', value: (e) => e.id },
  { header: 'URL', value: (e) => e.url },
  { header: 'EVENT TYPES', value: (e) => formatList(e.eventTypes, 'all') },
  { header: 'DISABLED', value: (e) => (e.disabled ? (e.disabledReason ?? 'yes') : 'no') },
];

function endpointFields(endpoint: Endpoint): string {
  return formatFields([
    ['id', endpoint.id],
    ['tenant', endpoint.tenantId],
    ['url', endpoint.url],
    ['description', endpoint.description],
    ['event types', formatList(endpoint.eventTypes, 'all')],
    ['headers', formatRecord(endpoint.headers)],
    ['metadata', formatRecord(endpoint.metadata)],
    ['disabled', endpoint.disabled ? `${endpoint.disabledAt ?? 'yes'} ${endpoint.disabledReason ?? ''}` : 'no'],
    ['created', endpoint.createdAt],
  ]);
}

/** `--header 'X-Team: video'` (curl's form) → [name, value]. */
function parseHeader(raw: string, previous: Record<string, string> | undefined): Record<string, string> {
  const colon = raw.indexOf(':');
  if (colon <= 0) throw new InvalidArgumentError('expected "Name: value".');
  return { ...previous, [raw.slice(0, colon).trim()]: raw.slice(colon + 1).trim() };
}

export function registerEndpointsCommands(admin: Command): void {
  const endpoints = admin.command('endpoints').description("manage a tenant's endpoints");

  endpoints
    .command('list')
    .description("list a tenant's endpoints, oldest first")
    .requiredOption('--tenant <id>', 'tenant id (tnt_…)')
    .option('--limit <n>', 'at most this many (1-500)', parseCount, 50)
    .option('--cursor <id>', "start after this endpoint id (the previous page's nextCursor)")
    .action(
      adminAction<{ tenant: string; limit: number; cursor?: string }>(async ({ client, print }, _args, options) => {
        const page = await client.endpoints.list.query({
          tenantId: options.tenant,
          limit: options.limit,
          ...(options.cursor !== undefined && { cursor: options.cursor }),
        });
        print(page, ({ items, nextCursor }) =>
          [formatTable(items, endpointColumns, 'no endpoints'), ...(nextCursor ? [`more: --cursor ${nextCursor}`] : [])].join(
            '\n',
          ),
        );
      }),
    );

  endpoints
    .command('get')
    .description('show one endpoint')
    .argument('<id>', 'endpoint id')
    .requiredOption('--tenant <id>', 'tenant id (tnt_…)')
    .action(
      adminAction<{ tenant: string }>(async ({ client, print }, [endpointId], options) => {
        print(await client.endpoints.get.query({ tenantId: options.tenant, endpointId: endpointId! }), endpointFields);
      }),
    );

  endpoints
    .command('create')
    .description('register an endpoint for a tenant; prints its signing secret once')
    .argument('<endpoint-url>', 'where deliveries are POSTed (https://…)')
    .requiredOption('--tenant <id>', 'tenant id (tnt_…)')
    .option('--description <text>', 'a note for people')
    .option('--event-type <name>', 'subscribe to this type (repeatable; `video.*` for a prefix; none = every type)', collect)
    .option('--header <header>', 'send this header with every delivery, "Name: value" (repeatable)', parseHeader)
    .option('--disabled', 'create it disabled')
    .action(
      adminAction<{
        tenant: string;
        description?: string;
        eventType?: string[];
        header?: Record<string, string>;
        disabled?: boolean;
      }>(async ({ client, print }, [url], options) => {
        const created = await client.endpoints.create.mutate({
          tenantId: options.tenant,
          url: url!,
          ...(options.description !== undefined && { description: options.description }),
          ...(options.eventType !== undefined && { eventTypes: options.eventType }),
          ...(options.header !== undefined && { headers: options.header }),
          ...(options.disabled === true && { disabled: true }),
        });
        print(created, ({ endpoint, secret }) =>
          [
            endpointFields(endpoint),
            '',
            formatFields([['signing secret', secret]]),
            '',
            'Give the signing secret to the receiver now: it is not shown again.',
          ].join('\n'),
        );
      }),
    );

  endpoints
    .command('delete')
    .description('delete an endpoint')
    .argument('<id>', 'endpoint id')
    .requiredOption('--tenant <id>', 'tenant id (tnt_…)')
    .action(
      adminAction<{ tenant: string }>(async ({ client, print }, [endpointId], options) => {
        const deleted = await client.endpoints.delete.mutate({ tenantId: options.tenant, endpointId: endpointId! });
        print(deleted, () => `deleted endpoint ${endpointId}`);
      }),
    );
}
