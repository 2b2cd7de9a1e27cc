// `hookline admin deliveries …`: what happened to a tenant's deliveries, attempt by attempt (list,
// show), and sending one again (retry).
import { Option, type Command } from 'commander';
import type { Attempt, Delivery, DeliveryStatus, DeliveryWithAttempts } from '../../../client/index.js';
import { adminAction, parseCount } from './action.js';
import { formatFields, formatTable, type Column } from './output.js';

const deliveryStatuses: readonly DeliveryStatus[] = ['pending', 'succeeded', 'failed'];

/** A delivery as a table row; also used by `events get` and `events send`. */
export const deliveryColumns: Column<Delivery>[] = [
  { header: 'DELIVERY', value: (d) => d.id },
  { header: 'EVENT', value: (d) => d.eventId },
  { header: 'ENDPOINT', value: (d) => d.endpointId ?? 'one-off URL' },
  { header: 'STATUS', value: (d) => d.status },
  { header: 'ATTEMPTS', value: (d) => d.attemptCount },
  { header: 'NEXT ATTEMPT', value: (d) => d.nextAttemptAt },
  { header: 'LAST ERROR', value: (d) => d.lastError },
];

const attemptColumns: Column<Attempt>[] = [
  { header: '#', value: (a) => a.number },
  { header: 'STARTED', value: (a) => a.startedAt },
  { header: 'HTTP', value: (a) => a.statusCode },
  { header: 'MS', value: (a) => a.durationMs },
  { header: 'ERROR', value: (a) => (a.error ? `${a.error}${a.errorMessage ? `: ${a.errorMessage}` : ''}` : null) },
];

export function deliveryFields(delivery: Delivery): string {
  return formatFields([
    ['id', delivery.id],
    ['tenant', delivery.tenantId],
    ['event', delivery.eventId],
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
  return [deliveryFields(delivery), '', formatTable(delivery.attempts, attemptColumns, 'no attempts yet')].join('\n');
}

export function registerDeliveriesCommands(admin: Command): void {
  const deliveries = admin.command('deliveries').description("a tenant's deliveries: list, show with attempts, retry");

  deliveries
    .command('list')
    .description("list a tenant's deliveries, oldest first")
    .requiredOption('--tenant <id>', 'tenant id (tnt_…)')
    .option('--event <id>', 'only the deliveries of this event')
    .option('--endpoint <id>', 'only the deliveries to this endpoint')
    .addOption(new Option('--status <status>', 'only deliveries in this status').choices(deliveryStatuses))
    .option('--limit <n>', 'at most this many (1-500)', parseCount, 50)
    .option('--cursor <id>', "start after this delivery id (the previous page's nextCursor)")
    .action(
      adminAction<{
        tenant: string;
        event?: string;
        endpoint?: string;
        status?: DeliveryStatus;
        limit: number;
        cursor?: string;
      }>(async ({ client, print }, _args, options) => {
        const page = await client.deliveries.list.query({
          tenantId: options.tenant,
          limit: options.limit,
          ...(options.event !== undefined && { eventId: options.event }),
          ...(options.endpoint !== undefined && { endpointId: options.endpoint }),
          ...(options.status !== undefined && { status: options.status }),
          ...(options.cursor !== undefined && { cursor: options.cursor }),
        });
        print(page, ({ items, nextCursor }) =>
          [formatTable(items, deliveryColumns, 'no deliveries'), ...(nextCursor ? [`more: --cursor ${nextCursor}`] : [])].join(
            '\n',
          ),
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
        print(delivery, (d) =>
          [deliveryFields(d), '', `Re-queued: attempt ${d.attemptCount + 1} is made now.`].join('\n'),
        );
      }),
    );
}
