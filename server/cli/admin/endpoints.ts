// `hookline admin endpoints …`: a tenant's endpoints, named with `--tenant` (the admin key acts for
// any tenant): list, show, create, update, delete, rotate-secret, send-test, recover. Custom header
// values are shown masked, as the API returns them (`authorization=Bearer ••••1234`).
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { Endpoint, UpdateEndpointInput } from '../../../client/index.js';
import { parseDuration } from '../../../shared/duration.js';
import { adminAction, collect, parseCount, readJsonObject } from './action.js';
import { AdminUsageError } from './connection.js';
import { parseSince } from './events.js';
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
    ['filter', endpoint.filter ? JSON.stringify(endpoint.filter) : 'none (every payload)'],
    ['rate limit', endpoint.rateLimit === null ? 'none' : `${endpoint.rateLimit} attempts per second`],
    ['ordering', endpoint.ordering === 'fifo' ? 'fifo (one at a time, in event order)' : 'none'],
    ['headers', formatRecord(endpoint.headers)],
    ['metadata', formatRecord(endpoint.metadata)],
    ['signing', endpoint.signing === 'ed25519' ? `ed25519, public key ${endpoint.publicKey ?? ''}` : endpoint.signing],
    ['disabled', endpoint.disabled ? `${endpoint.disabledAt ?? 'yes'} ${endpoint.disabledReason ?? ''}` : 'no'],
    ['created', endpoint.createdAt],
  ]);
}

/** `--ordering fifo|none` (create and update). */
const ORDERING_OPTION = () =>
  new Option(
    '--ordering <kind>',
    'fifo: deliveries one at a time, in event order, a retrying one holding back the rest; none: in parallel',
  ).choices(['none', 'fifo']);

/** `--header 'X-Team: video'` (curl's form) → [name, value]. */
function parseHeader(raw: string, previous: Record<string, string> | undefined): Record<string, string> {
  const colon = raw.indexOf(':');
  if (colon <= 0) throw new InvalidArgumentError('expected "Name: value".');
  return { ...previous, [raw.slice(0, colon).trim()]: raw.slice(colon + 1).trim() };
}

/** The stored headers named by `--keep-header`, with their masked values as `get` returned them. */
function keptHeaders(endpoint: Endpoint, names: readonly string[]): Record<string, string> {
  const stored = new Map(Object.entries(endpoint.headers));
  return Object.fromEntries(
    names.map((name) => {
      const masked = stored.get(name.trim().toLowerCase());
      if (masked === undefined) {
        throw new AdminUsageError(`--keep-header ${name}: the endpoint has no such header (it has: ${formatList([...stored.keys()])})`);
      }
      return [name.trim().toLowerCase(), masked];
    }),
  );
}

/** `--grace 24h` → seconds (a bare number is seconds; 0 = the old secret stops at once). */
function parseGraceSeconds(raw: string): number {
  try {
    return Math.round(parseDuration(raw) / 1000);
  } catch (error) {
    throw new InvalidArgumentError(`${(error as Error).message}.`);
  }
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
          [formatTable(items, endpointColumns, 'no endpoints'), ...(nextCursor ? [`more: --cursor ${nextCursor}`] : [])].join('\n'),
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
    .option('--filter <json>', 'deliver only events whose payload matches this filter: JSON text, @file, or - for stdin')
    .option('--rate-limit <n>', 'at most this many delivery attempts per second (1 … 10000, any one-second window)', parseCount)
    .addOption(ORDERING_OPTION())
    .option('--header <header>', 'send this header with every delivery, "Name: value" (repeatable)', parseHeader)
    .option('--disabled', 'create it disabled')
    .addOption(
      new Option(
        '--signing <kind>',
        'how deliveries are signed, fixed at creation (ed25519: standard scheme only; the secret is then a whpk_ public key)',
      )
        .choices(['hmac', 'ed25519'])
        .default('hmac'),
    )
    .action(
      adminAction<{
        tenant: string;
        description?: string;
        eventType?: string[];
        filter?: string;
        rateLimit?: number;
        ordering?: Endpoint['ordering'];
        header?: Record<string, string>;
        disabled?: boolean;
        signing: 'hmac' | 'ed25519';
      }>(async ({ client, print }, [url], options) => {
        const created = await client.endpoints.create.mutate({
          tenantId: options.tenant,
          url: url!,
          ...(options.description !== undefined && { description: options.description }),
          ...(options.eventType !== undefined && { eventTypes: options.eventType }),
          ...(options.filter !== undefined && { filter: readJsonObject('--filter', options.filter) }),
          ...(options.rateLimit !== undefined && { rateLimit: options.rateLimit }),
          ...(options.ordering !== undefined && { ordering: options.ordering }),
          ...(options.header !== undefined && { headers: options.header }),
          ...(options.disabled === true && { disabled: true }),
          ...(options.signing === 'ed25519' && { signing: 'ed25519' as const }),
        });
        print(created, ({ endpoint, secret }) =>
          endpoint.signing === 'ed25519'
            ? [endpointFields(endpoint), '', 'The receiver verifies v1a signatures with the public key above.'].join('\n')
            : [
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

  endpoints
    .command('update')
    .description('change an endpoint: only what is given changes')
    .argument('<id>', 'endpoint id')
    .requiredOption('--tenant <id>', 'tenant id (tnt_…)')
    // Not `--url`: that is the API address, an option of `hookline admin` valid anywhere after it.
    .option('--endpoint-url <url>', 'a new delivery URL')
    .addOption(new Option('--description <text>', 'a note for people').conflicts('clearDescription'))
    .option('--clear-description', 'remove the description')
    .addOption(
      new Option('--event-type <name>', 'subscribe to exactly these types (repeatable; replaces the list)')
        .argParser(collect)
        .conflicts('allEventTypes'),
    )
    .option('--all-event-types', 'subscribe to every type')
    .addOption(new Option('--filter <json>', 'replace the payload filter: JSON text, @file, or - for stdin').conflicts('clearFilter'))
    .option('--clear-filter', 'remove the payload filter (every payload)')
    .addOption(
      new Option('--rate-limit <n>', 'at most this many delivery attempts per second (1 … 10000)')
        .argParser(parseCount)
        .conflicts('clearRateLimit'),
    )
    .option('--clear-rate-limit', 'remove the rate limit')
    .addOption(ORDERING_OPTION())
    .addOption(
      new Option(
        '--header <header>',
        'send exactly these headers, "Name: value" (repeatable; replaces them; a value given masked, as `get` shows it, keeps the stored one)',
      )
        .argParser(parseHeader)
        .conflicts('clearHeaders'),
    )
    .addOption(
      new Option('--keep-header <name>', 'keep this stored header as it is while replacing the others (repeatable)')
        .argParser(collect)
        .conflicts('clearHeaders'),
    )
    .option('--clear-headers', 'send no custom headers')
    .addOption(new Option('--enable', 're-enable it (resets its failure count)').conflicts('disable'))
    .option('--disable', 'stop delivering to it')
    .action(
      adminAction<{
        tenant: string;
        endpointUrl?: string;
        description?: string;
        clearDescription?: boolean;
        eventType?: string[];
        allEventTypes?: boolean;
        filter?: string;
        clearFilter?: boolean;
        rateLimit?: number;
        clearRateLimit?: boolean;
        ordering?: Endpoint['ordering'];
        header?: Record<string, string>;
        keepHeader?: string[];
        clearHeaders?: boolean;
        enable?: boolean;
        disable?: boolean;
      }>(async ({ client, print }, [endpointId], options) => {
        // A kept header is sent back masked, exactly as `get` shows it: the API keeps its stored value.
        const kept = options.keepHeader
          ? keptHeaders(await client.endpoints.get.query({ tenantId: options.tenant, endpointId: endpointId! }), options.keepHeader)
          : undefined;
        const headers = kept || options.header ? { ...kept, ...options.header } : undefined;
        const patch: Omit<UpdateEndpointInput, 'tenantId' | 'endpointId'> = {
          ...(options.endpointUrl !== undefined && { url: options.endpointUrl }),
          ...(options.description !== undefined && { description: options.description }),
          ...(options.clearDescription && { description: null }),
          ...(options.eventType !== undefined && { eventTypes: options.eventType }),
          ...(options.allEventTypes && { eventTypes: [] }),
          ...(options.filter !== undefined && { filter: readJsonObject('--filter', options.filter) }),
          ...(options.clearFilter && { filter: null }),
          ...(options.rateLimit !== undefined && { rateLimit: options.rateLimit }),
          ...(options.clearRateLimit && { rateLimit: null }),
          ...(options.ordering !== undefined && { ordering: options.ordering }),
          ...(headers !== undefined && { headers }),
          ...(options.clearHeaders && { headers: {} }),
          ...(options.enable && { disabled: false }),
          ...(options.disable && { disabled: true }),
        };
        if (Object.keys(patch).length === 0) {
          throw new AdminUsageError(
            'nothing to update: give --endpoint-url, --description, --event-type, --all-event-types, --filter, --rate-limit, --ordering, --header, --keep-header, --enable or --disable (or a --clear-… option)',
          );
        }
        const updated = await client.endpoints.update.mutate({ tenantId: options.tenant, endpointId: endpointId!, ...patch });
        print(updated, endpointFields);
      }),
    );

  endpoints
    .command('rotate-secret')
    .description('issue a new signing secret; the old one keeps signing too during the grace period')
    .argument('<id>', 'endpoint id')
    .requiredOption('--tenant <id>', 'tenant id (tnt_…)')
    .option('--grace <duration>', 'how long the old secret stays valid, e.g. 1h, 7d (at most 7d; 0 = not at all)', parseGraceSeconds)
    .action(
      adminAction<{ tenant: string; grace?: number }>(async ({ client, print }, [endpointId], options) => {
        const rotated = await client.endpoints.rotateSecret.mutate({
          tenantId: options.tenant,
          endpointId: endpointId!,
          ...(options.grace !== undefined && { graceSeconds: options.grace }),
        });
        print(rotated, ({ secret }) =>
          [
            // An Ed25519 endpoint's new secret is its public key (`get` shows it too).
            formatFields([[secret.startsWith('whpk_') ? 'public key' : 'signing secret', secret]]),
            '',
            options.grace === 0
              ? 'The old secret no longer verifies; give this one to the receiver now: it is not shown again.'
              : 'Deliveries carry a signature for each secret until the grace period ends; give this one to the receiver now: it is not shown again.',
          ].join('\n'),
        );
      }),
    );

  endpoints
    .command('send-test')
    .description('send the endpoint a signed hookline.test event, whatever its event types')
    .argument('<id>', 'endpoint id')
    .requiredOption('--tenant <id>', 'tenant id (tnt_…)')
    .action(
      adminAction<{ tenant: string }>(async ({ client, print }, [endpointId], options) => {
        const sent = await client.endpoints.sendTest.mutate({ tenantId: options.tenant, endpointId: endpointId! });
        print(sent, ({ eventId }) =>
          [`sent test event ${eventId}`, `follow it: hookline admin events get ${eventId} --tenant ${options.tenant}`].join('\n'),
        );
      }),
    );

  endpoints
    .command('recover')
    .description("send again the endpoint's failed deliveries created since a time (at most 14 days ago)")
    .argument('<id>', 'endpoint id')
    .requiredOption('--tenant <id>', 'tenant id (tnt_…)')
    .requiredOption('--since <time>', 'an ISO-8601 time, or a duration ago (30m, 2h, 1d)', parseSince)
    .action(
      adminAction<{ tenant: string; since: string }>(async ({ client, print }, [endpointId], options) => {
        const recovered = await client.endpoints.recover.mutate({
          tenantId: options.tenant,
          endpointId: endpointId!,
          since: options.since,
        });
        print(recovered, ({ requeued }) => `re-queued ${requeued} failed deliver${requeued === 1 ? 'y' : 'ies'} since ${options.since}`);
      }),
    );
}
