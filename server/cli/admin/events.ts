// `hookline admin events …`: send an event for a tenant (the operator's side of events.send), and
// read a tenant's events (list, show with the status of each delivery).
import { Option, type Command } from 'commander';
import type { Event, EventWithDeliveries } from '../../../client/index.js';
import { adminAction, parseCount, readJsonObject } from './action.js';
import { parseSince } from './time-options.js';
import { deliveryColumns, tenantOrAll } from './deliveries.js';
import { formatFields, formatTable, type Column } from './output.js';

const eventColumns: Column<Event>[] = [
  { header: 'ID', value: (e) => e.id },
  { header: 'TYPE', value: (e) => e.type },
  { header: 'CREATED', value: (e) => e.createdAt },
  { header: 'TO', value: (e) => e.url ?? 'endpoints' },
];

/** An event's deliveries without the EVENT and TYPE columns (the event shown above them says both). */
const eventDeliveryColumns = deliveryColumns.filter((column) => column.header !== 'EVENT' && column.header !== 'TYPE');

function eventFields(event: Event): string {
  return formatFields([
    ['id', event.id],
    ['tenant', event.tenantId],
    ['type', event.type],
    ['created', event.createdAt],
    ['idempotency key', event.idempotencyKey],
    ['one-off URL', event.url],
    ['payload', JSON.stringify(event.payload)],
  ]);
}

function eventWithDeliveries({ deliveries, ...event }: EventWithDeliveries): string {
  return [eventFields(event), '', formatTable(deliveries, eventDeliveryColumns, 'no deliveries')].join('\n');
}

export { parseSince };

export function registerEventsCommands(admin: Command): void {
  const events = admin.command('events').description("send events, read a tenant's events");

  events
    .command('send')
    .description("send an event to a tenant's subscribed endpoints")
    .requiredOption('--tenant <id>', 'tenant id (tnt_…)')
    .requiredOption('--type <name>', 'event type (registered, not archived)')
    .requiredOption('--data <json>', 'the payload, a JSON object: JSON text, @file, or - for stdin')
    .option('--idempotency-key <key>', 'the same key within 24 h returns the first event instead of a new one')
    .option('--to <url>', 'deliver once to this URL instead of the subscribed endpoints')
    .action(
      adminAction<{ tenant: string; type: string; data: string; idempotencyKey?: string; to?: string }>(
        async ({ client, print }, _args, options) => {
          const sent = await client.events.send.mutate({
            tenantId: options.tenant,
            type: options.type,
            payload: readJsonObject('--data', options.data),
            ...(options.idempotencyKey !== undefined && { idempotencyKey: options.idempotencyKey }),
            ...(options.to !== undefined && { url: options.to }),
          });
          print(sent, ({ event, deliveries }) =>
            [
              formatFields([
                ['event', event.id],
                ['type', event.type],
                ['created', event.createdAt],
              ]),
              '',
              formatTable(deliveries, eventDeliveryColumns, 'no deliveries: no enabled endpoint subscribes to this type'),
            ].join('\n'),
          );
        },
      ),
    );

  events
    .command('list')
    .description("list a tenant's events (or every tenant's), oldest first (the last second's are held back, so a poller never skips one)")
    .option('--tenant <id>', 'tenant id (tnt_…)')
    .option('--all-tenants', "every tenant's events (instead of --tenant)")
    .option('--type <name>', 'only events of this type')
    .option('--since <time>', 'only events created since: an ISO-8601 time, or a duration ago (30m, 2h, 1d)', parseSince)
    .option('--until <time>', 'only events created before: an ISO-8601 time, or a duration ago', parseSince)
    .addOption(new Option('--order <order>', 'oldest first (asc) or newest first (desc)').choices(['asc', 'desc']).default('asc'))
    .option('--limit <n>', 'at most this many (1-500)', parseCount, 50)
    .option('--cursor <id>', "start after this event id (the previous page's nextCursor)")
    .action(
      adminAction<{
        tenant?: string;
        allTenants?: boolean;
        type?: string;
        since?: string;
        until?: string;
        order: 'asc' | 'desc';
        limit: number;
        cursor?: string;
      }>(async ({ client, print }, _args, options) => {
        const page = await client.events.list.query({
          ...tenantOrAll(options),
          limit: options.limit,
          order: options.order,
          ...(options.until !== undefined && { until: options.until }),
          ...(options.type !== undefined && { type: options.type }),
          ...(options.since !== undefined && { since: options.since }),
          ...(options.cursor !== undefined && { cursor: options.cursor }),
        });
        const columns = options.allTenants ? [{ header: 'TENANT', value: (e: Event) => e.tenantId }, ...eventColumns] : eventColumns;
        print(page, ({ items, nextCursor }) =>
          [formatTable(items, columns, 'no events'), ...(nextCursor ? [`more: --cursor ${nextCursor}`] : [])].join('\n'),
        );
      }),
    );

  events
    .command('get')
    .description('show one event, its payload, and the status of each of its deliveries')
    .argument('<id>', 'event id (evt_…)')
    .requiredOption('--tenant <id>', 'tenant id (tnt_…)')
    .action(
      adminAction<{ tenant: string }>(async ({ client, print }, [eventId], options) => {
        print(await client.events.get.query({ tenantId: options.tenant, eventId: eventId! }), eventWithDeliveries);
      }),
    );
}
