// `hookline admin event-types …`: the operator's catalog of event types (upsert, list, archive).
import type { Command } from 'commander';
import type { EventType } from '../../../client/index.js';
import { adminAction, readJsonObject } from './action.js';
import { formatFields, formatTable, type Column } from './output.js';

const eventTypeColumns: Column<EventType>[] = [
  { header: 'NAME', value: (t) => t.name },
  { header: 'ARCHIVED', value: (t) => (t.archived ? 'yes' : 'no') },
  { header: 'SCHEMA', value: (t) => (t.schema ? 'yes' : 'no') },
  { header: 'DESCRIPTION', value: (t) => t.description },
];

function eventTypeFields(eventType: EventType): string {
  return formatFields([
    ['name', eventType.name],
    ['description', eventType.description],
    ['schema', eventType.schema ? JSON.stringify(eventType.schema) : null],
    ['archived', eventType.archivedAt ?? 'no'],
    ['created', eventType.createdAt],
    ['updated', eventType.updatedAt],
  ]);
}

export function registerEventTypesCommands(admin: Command): void {
  const eventTypes = admin.command('event-types').description('manage the event type catalog (the admin key)');

  eventTypes
    .command('upsert')
    .description('create an event type, or update (and unarchive) it')
    .argument('<name>', 'event type name, e.g. job.completed')
    .option('--description <text>', 'what the event means')
    .option('--schema <json>', 'JSON Schema of the payload: JSON text, @file, or - for stdin')
    .action(
      adminAction<{ description?: string; schema?: string }>(async ({ client, print }, [name], options) => {
        const eventType = await client.eventTypes.upsert.mutate({
          name: name!,
          ...(options.description !== undefined && { description: options.description }),
          ...(options.schema !== undefined && { schema: readJsonObject('--schema', options.schema) }),
        });
        print(eventType, eventTypeFields);
      }),
    );

  eventTypes
    .command('list')
    .description('list event types')
    .option('--include-archived', 'also list archived types')
    .action(
      adminAction<{ includeArchived?: boolean }>(async ({ client, print }, _args, options) => {
        const list = await client.eventTypes.list.query({ includeArchived: options.includeArchived === true });
        print(list, ({ items }) => formatTable(items, eventTypeColumns, 'no event types'));
      }),
    );

  eventTypes
    .command('archive')
    .description('archive an event type: no longer sendable or subscribable (upsert brings it back)')
    .argument('<name>', 'event type name')
    .action(
      adminAction(async ({ client, print }, [name]) => {
        print(await client.eventTypes.archive.mutate({ name: name! }), eventTypeFields);
      }),
    );
}
