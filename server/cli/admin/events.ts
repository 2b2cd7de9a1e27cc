// `hookline admin events …`: send an event for a tenant (the operator's side of events.send).
import type { Command } from 'commander';
import type { SentEvent } from '../../../client/index.js';
import { adminAction, readJsonObject } from './action.js';
import { formatFields, formatTable, type Column } from './output.js';

type SentDelivery = SentEvent['deliveries'][number];

const deliveryColumns: Column<SentDelivery>[] = [
  { header: 'DELIVERY', value: (d) => d.id },
  { header: 'ENDPOINT', value: (d) => d.endpointId ?? 'one-off URL' },
  { header: 'STATUS', value: (d) => d.status },
];

export function registerEventsCommands(admin: Command): void {
  const events = admin.command('events').description('send events');

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
              formatTable(deliveries, deliveryColumns, 'no deliveries: no enabled endpoint subscribes to this type'),
            ].join('\n'),
          );
        },
      ),
    );
}
