// `hookline admin deliveries …`: what happened to a tenant's deliveries, attempt by attempt (list,
// show), and sending one again (retry).
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { Attempt, Delivery, DeliveryStatus, DeliveryWithAttempts } from '../../../client/index.js';
import { adminAction, parseCount } from './action.js';
import { parseSince } from './time-options.js';
import { formatFields, formatTable, type Column } from './output.js';

const DELIVERY_STATUSES: readonly DeliveryStatus[] = ['pending', 'succeeded', 'failed'];

/** A delivery as the commands show it; the event type is there when the answer names it (lists, get). */
type ShownDelivery = Omit<Delivery, 'type'> & { type?: string };

/** A delivery as a table row; also used by `events get` and `events send`. */
export const deliveryColumns: Column<ShownDelivery>[] = [
  { header: 'DELIVERY', value: (d) => d.id },
  { header: 'EVENT', value: (d) => d.eventId },
  { header: 'ENDPOINT', value: (d) => d.endpointId ?? 'one-off URL' },
  { header: 'STATUS', value: (d) => d.status },
  { header: 'ATTEMPTS', value: (d) => d.attemptCount },
  { header: 'NEXT ATTEMPT', value: (d) => d.nextAttemptAt },
  { header: 'LAST ERROR', value: (d) => d.lastError },
  { header: 'TYPE', value: (d) => d.type ?? null },
];

const attemptColumns: Column<Attempt>[] = [
  { header: '#', value: (a) => a.number },
  { header: 'STARTED', value: (a) => a.startedAt },
  { header: 'HTTP', value: (a) => a.statusCode },
  { header: 'MS', value: (a) => a.durationMs },
  { header: 'ERROR', value: (a) => (a.error ? `${a.error}${a.errorMessage ? `: ${a.errorMessage}` : ''}` : null) },
];

export function deliveryFields(delivery: ShownDelivery): string {
  return formatFields([
    ['id', delivery.id],
    ['tenant', delivery.tenantId],
    ['event', delivery.eventId],
    ['type', delivery.type ?? null],
    ['endpoint', delivery.endpointId ?? 'one-off URL'],
    ['status', delivery.status],
    ['attempts', delivery.attemptCount],
    ['next attempt', delivery.nextAttemptAt],
    ['last error', delivery.lastError],
    ['created', delivery.createdAt],
    ['updated', delivery.updatedAt],
  ]);
}

function deliveryWithAttempts(delivery: DeliveryWithAttempts): string {
  return [
    deliveryFields(delivery),
    formatFields([['payload', JSON.stringify(delivery.payload)]]),
    '',
    formatTable(delivery.attempts, attemptColumns, 'no attempts yet'),
  ].join('\n');
}

/** `--tenant <id>` or `--all-tenants`, exactly one of them. */
export function tenantOrAll(options: { tenant?: string; allTenants?: boolean }): { tenantId: string } | { allTenants: true } {
  if (options.allTenants && options.tenant !== undefined)
    throw new InvalidArgumentError('give either --tenant or --all-tenants, not both.');
  if (options.allTenants) return { allTenants: true };
  if (options.tenant === undefined) throw new InvalidArgumentError('give --tenant <id> (or --all-tenants).');
  return { tenantId: options.tenant };
}

export function registerDeliveriesCommands(admin: Command): void {
  const deliveries = admin.command('deliveries').description("a tenant's deliveries: list, show with attempts, retry");

  deliveries
    .command('list')
    .description("list a tenant's deliveries (or every tenant's), oldest first")
    .option('--tenant <id>', 'tenant id (tnt_…)')
    .option('--all-tenants', "every tenant's deliveries (instead of --tenant)")
    .option('--event <id>', 'only the deliveries of this event')
    .option('--event-type <name>', 'only deliveries of events of this type')
    .option('--since <time>', 'only deliveries created since: an ISO-8601 time, or a duration ago (30m, 2h, 1d)', parseSince)
    .option('--until <time>', 'only deliveries created before: an ISO-8601 time, or a duration ago', parseSince)
    .addOption(new Option('--order <order>', 'oldest first (asc) or newest first (desc)').choices(['asc', 'desc']).default('asc'))
    .option('--endpoint <id>', 'only the deliveries to this endpoint')
    .addOption(new Option('--status <status>', 'only deliveries in this status').choices(DELIVERY_STATUSES))
    .option('--limit <n>', 'at most this many (1-500)', parseCount, 50)
    .option('--cursor <id>', "start after this delivery id (the previous page's nextCursor)")
    .action(
      adminAction<{
        tenant?: string;
        allTenants?: boolean;
        event?: string;
        eventType?: string;
        since?: string;
        until?: string;
        order: 'asc' | 'desc';
        endpoint?: string;
        status?: DeliveryStatus;
        limit: number;
        cursor?: string;
      }>(async ({ client, print }, _args, options) => {
        const page = await client.deliveries.list.query({
          ...tenantOrAll(options),
          limit: options.limit,
          order: options.order,
          ...(options.event !== undefined && { eventId: options.event }),
          ...(options.eventType !== undefined && { eventType: options.eventType }),
          ...(options.since !== undefined && { since: options.since }),
          ...(options.until !== undefined && { until: options.until }),
          ...(options.endpoint !== undefined && { endpointId: options.endpoint }),
          ...(options.status !== undefined && { status: options.status }),
          ...(options.cursor !== undefined && { cursor: options.cursor }),
        });
        const columns = options.allTenants
          ? [{ header: 'TENANT', value: (d: ShownDelivery) => d.tenantId }, ...deliveryColumns]
          : deliveryColumns;
        print(page, ({ items, nextCursor }) =>
          [formatTable(items, columns, 'no deliveries'), ...(nextCursor ? [`more: --cursor ${nextCursor}`] : [])].join('\n'),
        );
      }),
    );

  deliveries
    .command('get')
    .description('show one delivery and each of its attempts')
    .argument('<id>', 'delivery id')
    .requiredOption('--tenant <id>', 'tenant id (tnt_…)')
    .action(
      adminAction<{ tenant: string }>(async ({ client, print }, [deliveryId], options) => {
        print(await client.deliveries.get.query({ tenantId: options.tenant, deliveryId: deliveryId! }), deliveryWithAttempts);
      }),
    );

  deliveries
    .command('retry')
    .description('send a succeeded or failed delivery again (attempt numbers continue)')
    .argument('<id>', 'delivery id')
    .requiredOption('--tenant <id>', 'tenant id (tnt_…)')
    .action(
      adminAction<{ tenant: string }>(async ({ client, print }, [deliveryId], options) => {
        const delivery = await client.deliveries.retry.mutate({ tenantId: options.tenant, deliveryId: deliveryId! });
        print(delivery, (d) => [deliveryFields(d), '', `Re-queued: attempt ${d.attemptCount + 1} is made now.`].join('\n'));
      }),
    );
}
