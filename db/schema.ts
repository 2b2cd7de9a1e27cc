// The database schema (Drizzle). Migrations in db/migrations are generated from this file by
// drizzle-kit (`npm run db:generate`) and never edited by hand.
//
// Terminology:
//   tenant    — a customer of the operator; owns endpoints, events and everything below them.
//   event type— a name in the operator's catalog (e.g. `job.completed`) that events carry.
//   endpoint  — a tenant's HTTPS URL subscribed to some event types, with its own signing secret.
//   event     — one thing that happened for a tenant: a type and a JSON payload, stored as the
//               exact bytes every delivery sends.
//   delivery  — one event to one endpoint (or to a one-off URL); pending → succeeded | failed.
//   attempt   — one POST of a delivery, with its outcome.
import { sql } from 'drizzle-orm';
import type { PayloadFilter } from '../shared/payload-filter.js';
import {
  boolean,
  check,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  primaryKey,
  smallint,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

const createdAt = () => timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow();
const updatedAt = () => timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow();
const at = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export const tenants = pgTable(
  'tenants',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    externalId: text('external_id'),
    metadata: jsonb('metadata').$type<Record<string, string>>().notNull().default({}),
    // Tenant API keys are stored only as a SHA-256 hash, found by a short non-secret prefix.
    apiKeyPrefix: text('api_key_prefix').notNull(),
    apiKeyHash: text('api_key_hash').notNull(),
    // The tenant's own signing secret (for one-off `url` deliveries), AES-256-GCM encrypted.
    signingSecret: text('signing_secret').notNull(),
    previousSigningSecret: text('previous_signing_secret'),
    previousSigningSecretExpiresAt: at('previous_signing_secret_expires_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex('tenants_api_key_prefix_key').on(t.apiKeyPrefix), uniqueIndex('tenants_external_id_key').on(t.externalId)],
);

export const eventTypes = pgTable('event_types', {
  name: text('name').primaryKey(),
  description: text('description'),
  schema: jsonb('schema').$type<Record<string, unknown>>(),
  archivedAt: at('archived_at'),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

export const endpoints = pgTable(
  'endpoints',
  {
    id: text('id').primaryKey(),
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    url: text('url').notNull(),
    description: text('description'),
    // Empty = every event type; entries are exact names or `prefix.*`.
    eventTypes: text('event_types').array().notNull().default(sql`'{}'::text[]`),
    // Null = every payload; see shared/payload-filter.ts (evaluated in SQL by hookline_payload_matches).
    filter: jsonb('filter').$type<PayloadFilter>(),
    // The filter compiled for the fan-out statement (see the migration that defines the function).
    filterProgram: jsonb('filter_program').generatedAlwaysAs(sql`hookline_compile_payload_filter(filter)`),
    headers: jsonb('headers').$type<Record<string, string>>().notNull().default({}),
    metadata: jsonb('metadata').$type<Record<string, string>>().notNull().default({}),
    disabled: boolean('disabled').notNull().default(false),
    disabledReason: text('disabled_reason'),
    disabledAt: at('disabled_at'),
    // Sealed: a `whsec_` HMAC secret, or for `signing = 'ed25519'` the `whsk_` private key.
    secret: text('secret').notNull(),
    previousSecret: text('previous_secret'),
    previousSecretExpiresAt: at('previous_secret_expires_at'),
    // How deliveries are signed, fixed at creation: 'hmac' (`v1,` or the hex schemes) or 'ed25519'
    // (`v1a,`); for 'ed25519', `public_key` is the current key's `whpk_` form (public, not sealed).
    signing: text('signing').$type<'hmac' | 'ed25519'>().notNull().default('hmac'),
    publicKey: text('public_key'),
    // At most this many attempts to the endpoint in any one-second window, across all workers
    // (1 … 10,000); null = no limit. Enforced with endpoint_rate_slots below.
    rateLimit: integer('rate_limit'),
    // 'fifo': the endpoint's deliveries are attempted one at a time, in line (fifo_line below).
    ordering: text('ordering').$type<'none' | 'fifo'>().notNull().default('none'),
    // Health: failures since the last success decide automatic disabling.
    lastSuccessAt: at('last_success_at'),
    firstFailureAt: at('first_failure_at'),
    failuresSinceSuccess: integer('failures_since_success').notNull().default(0),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('endpoints_tenant_id_idx').on(t.tenantId, t.id), check('endpoints_ordering_check', sql`${t.ordering} in ('none', 'fifo')`)],
);

export const events = pgTable(
  'events',
  {
    id: text('id').primaryKey(),
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    type: text('type').notNull(),
    // The payload exactly as serialized once at send time; every attempt sends these bytes.
    payload: text('payload').notNull(),
    idempotencyKey: text('idempotency_key'),
    url: text('url'),
    createdAt: createdAt(),
  },
  (t) => [
    index('events_tenant_id_idx').on(t.tenantId, t.id),
    // events.list with a type: the page is a range of this index, however rare the type. Events are
    // never updated, so the index costs only its insert.
    index('events_tenant_type_idx').on(t.tenantId, t.type, t.id),
    uniqueIndex('events_idempotency_key').on(t.tenantId, t.idempotencyKey),
    index('events_created_at_idx').on(t.createdAt),
  ],
);

export const deliveryStatus = pgEnum('delivery_status', ['pending', 'succeeded', 'failed']);

export const deliveries = pgTable(
  'deliveries',
  {
    id: text('id').primaryKey(),
    // No foreign key of its own: the event's already ties the delivery to its tenant (and deleting
    // the tenant cascades through its events). A second one cost a lookup and a share lock on the
    // tenant row for every delivery inserted (1,000 for a 1,000-wide fan-out).
    tenantId: text('tenant_id').notNull(),
    eventId: text('event_id')
      .notNull()
      .references(() => events.id, { onDelete: 'cascade' }),
    // Null for a one-off delivery to the event's `url`.
    endpointId: text('endpoint_id').references(() => endpoints.id, { onDelete: 'cascade' }),
    status: deliveryStatus('status').notNull().default('pending'),
    attemptCount: smallint('attempt_count').notNull().default(0),
    nextAttemptAt: at('next_attempt_at'),
    lastError: text('last_error'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index('deliveries_event_id_idx').on(t.eventId),
    index('deliveries_endpoint_id_idx').on(t.endpointId, t.id),
    index('deliveries_tenant_id_idx').on(t.tenantId, t.id),
    index('deliveries_created_at_idx').on(t.createdAt),
    // No index may name `status` (not even in a partial index's predicate): every delivery changes
    // status, and that update would then no longer be HOT (measured: 0 of 2,000 instead of 2,000 of
    // 2,000, three times slower). deliveries.list by status walks deliveries_tenant_id_idx instead.
  ],
);

export const attempts = pgTable(
  'attempts',
  {
    id: text('id').primaryKey(),
    deliveryId: text('delivery_id')
      .notNull()
      .references(() => deliveries.id, { onDelete: 'cascade' }),
    tenantId: text('tenant_id').notNull(),
    number: smallint('number').notNull(),
    startedAt: at('started_at').notNull(),
    // HTTP status when a response arrived; otherwise `error` names what went wrong.
    statusCode: smallint('status_code'),
    error: text('error'),
    errorMessage: text('error_message'),
    durationMs: integer('duration_ms').notNull(),
    responseBody: text('response_body'),
    createdAt: createdAt(),
  },
  (t) => [index('attempts_delivery_id_idx').on(t.deliveryId, t.number), index('attempts_created_at_idx').on(t.createdAt)],
);

// Per-tenant fixed-window counters of the rate-limited procedures (endpoints.sendTest,
// deliveries.retry, endpoints.recover): one row per tenant and action, counted in one statement, so
// the limit holds across every API process.
export const tenantRateLimits = pgTable(
  'tenant_rate_limits',
  {
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    action: text('action').notNull(),
    windowStart: at('window_start').notNull(),
    calls: integer('calls').notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.action] })],
);

// Rate-limited endpoints' attempts (database clock), shared by every worker (db/sql/rate-slots.ts):
// `next_at` is the next free slot of the schedule that waiting jobs are moved to; `last_at` is the
// start given to the latest attempt, and no attempt starts sooner than one spacing after it (the
// gate that makes the limit hold however late jobs run). One row per endpoint that had a limit.
export const endpointRateSlots = pgTable('endpoint_rate_slots', {
  endpointId: text('endpoint_id')
    .primaryKey()
    .references(() => endpoints.id, { onDelete: 'cascade' }),
  nextAt: at('next_at').notNull(),
  lastAt: at('last_at'),
});

// FIFO endpoints' lines (db/sql/fifo.ts): every pending delivery to a FIFO endpoint has a row, in
// `seq` order (its event id at fan-out; a fresh event-kind id when re-queued, so it goes to the back).
// Only the line's head (fifo_heads) has a job; the others wait without one.
export const fifoLine = pgTable(
  'fifo_line',
  {
    deliveryId: text('delivery_id')
      .primaryKey()
      .references(() => deliveries.id, { onDelete: 'cascade' }),
    endpointId: text('endpoint_id')
      .notNull()
      .references(() => endpoints.id, { onDelete: 'cascade' }),
    seq: text('seq').notNull(),
  },
  (t) => [index('fifo_line_endpoint_seq_idx').on(t.endpointId, t.seq)],
);

// The head of each FIFO endpoint's line: the one delivery that has a job (null: the line is empty).
// `version` grows with every change, so the advance statement can tell that the row moved after
// its snapshot was taken (db/sql/fifo.ts).
export const fifoHeads = pgTable('fifo_heads', {
  endpointId: text('endpoint_id')
    .primaryKey()
    .references(() => endpoints.id, { onDelete: 'cascade' }),
  deliveryId: text('delivery_id'),
  version: integer('version').notNull().default(0),
});

// Liveness of worker processes: a worker whose heartbeat stops is dead, and the jobs it had locked
// are unlocked by whichever worker notices (graphile-worker alone would hold them for ~4 hours).
export const workerHeartbeats = pgTable('worker_heartbeats', {
  workerId: text('worker_id').primaryKey(),
  startedAt: at('started_at').notNull().defaultNow(),
  lastSeenAt: at('last_seen_at').notNull().defaultNow(),
  pid: integer('pid'),
  host: text('host'),
  // The graphile-worker ids (pool and workers) this process locks jobs under.
  lockIds: text('lock_ids').array().notNull().default(sql`'{}'::text[]`),
});

// Tenant portal sessions: a bearer token confined to one tenant, for the web page at /portal.
// Stored like tenant API keys: a non-secret lookup prefix and the SHA-256 of the whole token.
export const portalSessions = pgTable(
  'portal_sessions',
  {
    id: text('id').primaryKey(),
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    tokenPrefix: text('token_prefix').notNull(),
    tokenHash: text('token_hash').notNull(),
    readOnly: boolean('read_only').notNull().default(false),
    theme: jsonb('theme').$type<{ productName?: string; accentColor?: string }>().notNull().default({}),
    expiresAt: at('expires_at').notNull(),
    revokedAt: at('revoked_at'),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('portal_sessions_token_prefix_key').on(t.tokenPrefix), index('portal_sessions_tenant_idx').on(t.tenantId)],
);
