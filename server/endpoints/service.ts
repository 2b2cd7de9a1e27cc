// Endpoints: a tenant's receiver URLs, each with an event-type filter, custom headers and its own
// signing secret. Registration judges the URL by the SSRF rules but never contacts it. Secrets are
// returned only by create and rotateSecret and are stored sealed (server/security/secret-box.ts);
// an Ed25519 endpoint's sealed secret is its private key, and what create, rotateSecret and get
// show is its public key. Custom header values are stored sealed too and shown masked
// (./header-secrets.ts).
// Every function takes `tenantId` and every query filters on it: another tenant's endpoint is
// indistinguishable from a missing one.
import { and, asc, count, eq, sql } from 'drizzle-orm';
import { afterCursor, rowsToRead, toPage, type Page, type PageRequest } from '../../db/paging.js';
import { endpoints, tenants } from '../../db/schema.js';
import { endpointOfTenant, findEndpoint } from '../../db/sql/endpoints.js';
import { emitDisabledByHandSql, ensureOperatorTenant } from '../../db/sql/operational-events.js';
import { parseEventTypeFilterEntry } from '../../shared/event-type-filter.js';
import { newId } from '../../shared/ids.js';
import { generateEd25519Keys, generateSecret } from '../../shared/signing.js';
import { judgeUrl, refusalMessage } from '../../shared/url-rules.js';
import type { ApiPool, Shared } from '../deps.js';
import { InvalidInputError, LimitExceededError, NotFoundError } from '../errors.js';
import type { PayloadFilter } from '../../shared/payload-filter.js';
import { findUnavailableEventTypes } from '../event-types/service.js';
import { isMaskedHeaderValue, maskHeaderValues, openHeaderValues, sealHeaderValues, unmaskHeaderValues } from './header-secrets.js';
import { MANUAL_DISABLE_REASON } from './health.js';
import { normalizeCustomHeaders } from './headers.js';

/** The endpoint service's parts: the process' pool (it runs transactions), the URL policy and limits, the secret box. */
type EndpointDeps = ApiPool & Pick<Shared, 'config' | 'secretBox'>;

export interface Endpoint {
  id: string;
  tenantId: string;
  url: string;
  description: string | null;
  /** Empty = every event type; entries are exact names or `prefix.*`. */
  eventTypes: string[];
  /** Null = every payload; see shared/payload-filter.ts. */
  filter: PayloadFilter | null;
  /** Values masked (`Bearer ••••1234`); sending one back unchanged in an update keeps it. */
  headers: Record<string, string>;
  metadata: Record<string, string>;
  disabled: boolean;
  disabledReason: string | null;
  disabledAt: string | null;
  /** How deliveries are signed, fixed at creation. */
  signing: EndpointSigning;
  /** For 'ed25519': the current public key (`whpk_…`) receivers verify with; null for 'hmac'. */
  publicKey: string | null;
  /** At most this many attempts per second (any one-second window, all workers); null = no limit. */
  rateLimit: number | null;
  /** 'fifo': one delivery at a time, in event-id order (db/sql/fifo.ts); 'none': in parallel. */
  ordering: EndpointOrdering;
  createdAt: string;
  updatedAt: string;
}

export type EndpointSigning = 'hmac' | 'ed25519';
/** As the column allows (db/schema.ts, checked by `endpoints_ordering_check`). */
export type EndpointOrdering = (typeof endpoints.$inferSelect)['ordering'];

// The secret columns are deliberately absent: nothing selected here can leak one.
const endpointColumns = {
  id: endpoints.id,
  tenantId: endpoints.tenantId,
  url: endpoints.url,
  description: endpoints.description,
  eventTypes: endpoints.eventTypes,
  filter: endpoints.filter,
  headers: endpoints.headers,
  metadata: endpoints.metadata,
  disabled: endpoints.disabled,
  disabledReason: endpoints.disabledReason,
  disabledAt: endpoints.disabledAt,
  signing: endpoints.signing,
  // Public: the `whpk_` key of an Ed25519 endpoint (its private key is in the sealed `secret`).
  publicKey: endpoints.publicKey,
  rateLimit: endpoints.rateLimit,
  ordering: endpoints.ordering,
  createdAt: endpoints.createdAt,
  updatedAt: endpoints.updatedAt,
};

type EndpointRow = Omit<Endpoint, 'disabledAt' | 'createdAt' | 'updatedAt'> & {
  disabledAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
};

function present(deps: EndpointDeps, row: EndpointRow): Endpoint {
  return {
    id: row.id,
    tenantId: row.tenantId,
    url: row.url,
    description: row.description,
    eventTypes: row.eventTypes,
    filter: row.filter,
    headers: maskHeaderValues(openHeaderValues(row.headers, (sealed) => deps.secretBox.open(sealed))),
    metadata: row.metadata,
    disabled: row.disabled,
    disabledReason: row.disabledReason,
    disabledAt: row.disabledAt?.toISOString() ?? null,
    signing: row.signing,
    publicKey: row.publicKey,
    rateLimit: row.rateLimit,
    ordering: row.ordering,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

const notFound = () => new NotFoundError('endpoint not found');

export interface EndpointInput {
  url: string;
  description?: string | null | undefined;
  eventTypes?: readonly string[] | undefined;
  /** Checked by the API schema (shared/schemas.ts payloadFilterSchema). */
  filter?: PayloadFilter | null | undefined;
  /** Checked by the API schema (shared/schemas.ts rateLimitSchema); null = no limit. */
  rateLimit?: number | null | undefined;
  /**
   * Default 'none'. Switching applies to deliveries sent from then on: a FIFO line already waiting
   * still drains one at a time, and deliveries already queued in parallel are not put in a line.
   */
  ordering?: EndpointOrdering | undefined;
  headers?: Record<string, string> | undefined;
  disabled?: boolean | undefined;
  metadata?: Record<string, string> | undefined;
}

export type EndpointPatch = Partial<EndpointInput>;

export interface NewEndpointInput extends EndpointInput {
  /** An existing `whsec_` secret to keep (checked by the API schema); generated when absent. */
  secret?: string | undefined;
  /** Default 'hmac'. 'ed25519' needs the standard scheme and a generated key. */
  signing?: EndpointSigning | undefined;
}

/**
 * The endpoint's keys for its signing: what is stored sealed (the HMAC secret or the `whsk_`
 * private key), the public key (Ed25519 only), and what the caller is shown (the HMAC secret or
 * the `whpk_` public key).
 */
function newKeys(signing: EndpointSigning): { sealedSecret: string; publicKey: string | null; shown: string } {
  if (signing === 'ed25519') {
    const { secretKey, publicKey } = generateEd25519Keys();
    return { sealedSecret: secretKey, publicKey, shown: publicKey };
  }
  const secret = generateSecret();
  return { sealedSecret: secret, publicKey: null, shown: secret };
}

/** Why this signing cannot be used for a new endpoint here, or null. */
function signingProblem(deps: Pick<Shared, 'config'>, input: NewEndpointInput): string | null {
  if (input.signing !== 'ed25519') return null;
  if (deps.config.signatureScheme !== 'standard') {
    return `signing "ed25519" needs the standard signature scheme (Standard Webhooks v1a); this deployment signs with "${deps.config.signatureScheme}" (HOOKLINE_SIGNATURE_SCHEME)`;
  }
  if (input.secret !== undefined)
    return 'secret: an Ed25519 endpoint gets a generated key pair; an existing secret can be kept only with signing "hmac"';
  return null;
}

/** The canonical form of an acceptable URL; InvalidInputError with the rule's reason otherwise. */
function checkUrl(deps: EndpointDeps, raw: string): string {
  const verdict = judgeUrl(raw, deps.config.urlPolicy);
  if (!verdict.ok) throw new InvalidInputError(`endpoint URL rejected: ${refusalMessage(verdict)}`);
  return verdict.url.href;
}

/**
 * The filter as stored: entries checked and de-duplicated in order. Exact names must be in the
 * catalog and not archived; wildcards need only a valid prefix (types may be added later).
 */
async function checkEventTypeFilter(deps: EndpointDeps, filters: readonly string[]): Promise<string[]> {
  const unique = [...new Set(filters)];
  const exact: string[] = [];
  for (const entry of unique) {
    const parsed = parseEventTypeFilterEntry(entry);
    if ('error' in parsed) throw new InvalidInputError(parsed.error);
    if (parsed.kind === 'exact') exact.push(parsed.name);
  }
  const unavailable = await findUnavailableEventTypes(deps, exact);
  if (unavailable.length > 0) {
    const list = unavailable.map((name) => `"${name}"`).join(', ');
    throw new InvalidInputError(
      `unknown event type${unavailable.length > 1 ? 's' : ''} ${list}: not in the catalog or archived (see eventTypes.list)`,
    );
  }
  return unique;
}

function limitMessage(max: number): string {
  return `endpoint limit reached: a tenant may have at most ${max} endpoint${max === 1 ? '' : 's'} (HOOKLINE_MAX_ENDPOINTS_PER_TENANT)`;
}

/** Registers an endpoint. The secret is returned here and by rotateEndpointSecret, never again. */
export async function createEndpoint(
  deps: EndpointDeps,
  tenantId: string,
  input: NewEndpointInput,
): Promise<{ endpoint: Endpoint; secret: string }> {
  const url = checkUrl(deps, input.url);
  const headers = checkHeaders(deps, input.headers ?? {});
  const eventTypes = await checkEventTypeFilter(deps, input.eventTypes ?? []);
  const problem = signingProblem(deps, input);
  if (problem) throw new InvalidInputError(problem);
  const signing = input.signing ?? 'hmac';
  const keys = input.secret !== undefined ? { sealedSecret: input.secret, publicKey: null, shown: input.secret } : newKeys(signing);
  const max = deps.config.maxEndpointsPerTenant;
  const row = await deps.db.transaction(async (tx) => {
    // The tenant row lock serialises concurrent creations for one tenant, so count + insert
    // cannot overshoot the limit.
    const [tenant] = await tx.select({ id: tenants.id }).from(tenants).where(eq(tenants.id, tenantId)).for('update');
    if (!tenant) throw new NotFoundError('tenant not found');
    const [existing] = await tx.select({ n: count() }).from(endpoints).where(eq(endpoints.tenantId, tenantId));
    if ((existing?.n ?? 0) >= max) throw new LimitExceededError(limitMessage(max));
    const now = new Date();
    const [inserted] = await tx
      .insert(endpoints)
      .values({
        id: newId('endpoint'),
        tenantId,
        url,
        description: input.description ?? null,
        eventTypes,
        filter: input.filter ?? null,
        rateLimit: input.rateLimit ?? null,
        ordering: input.ordering ?? 'none',
        headers,
        metadata: input.metadata ?? {},
        disabled: input.disabled ?? false,
        disabledReason: input.disabled ? MANUAL_DISABLE_REASON : null,
        disabledAt: input.disabled ? now : null,
        secret: deps.secretBox.seal(keys.sealedSecret),
        signing,
        publicKey: keys.publicKey,
        createdAt: now,
        updatedAt: now,
      })
      .returning(endpointColumns);
    return inserted!;
  });
  return { endpoint: present(deps, row), secret: keys.shown };
}

export async function getEndpoint(deps: EndpointDeps, tenantId: string, endpointId: string): Promise<Endpoint> {
  const row = await findEndpoint(deps.db, tenantId, endpointId, endpointColumns);
  if (!row) throw notFound();
  return present(deps, row);
}

/** The tenant's endpoints, oldest first; `cursor` is the last id of the previous page. */
export async function listEndpoints(deps: EndpointDeps, tenantId: string, input: PageRequest): Promise<Page<Endpoint>> {
  const rows = await deps.db
    .select(endpointColumns)
    .from(endpoints)
    .where(and(eq(endpoints.tenantId, tenantId), afterCursor(endpoints.id, input.cursor)))
    .orderBy(asc(endpoints.id))
    .limit(rowsToRead(input.limit));
  return toPage(rows, input.limit, (row) => present(deps, row));
}

/**
 * Changes the given fields; `headers`, `eventTypes` and `metadata` are replaced whole. A header
 * sent back with exactly the masked value `get` shows keeps its stored value. `disabled` follows
 * the endpoint health rules (./health.ts): disabling records when and why; re-enabling a disabled
 * endpoint clears that and resets its failure run.
 */
export async function updateEndpoint(deps: EndpointDeps, tenantId: string, endpointId: string, patch: EndpointPatch): Promise<Endpoint> {
  const url = patch.url !== undefined ? checkUrl(deps, patch.url) : undefined;
  const eventTypes = patch.eventTypes !== undefined ? await checkEventTypeFilter(deps, patch.eventTypes) : undefined;
  const sentHeaders = patch.headers;
  // A disable by hand tells the operator (`endpoint.disabled`), in the same transaction.
  const tellOperator = patch.disabled === true && deps.config.operatorWebhook !== undefined;
  if (tellOperator) await ensureOperatorTenant(deps.sql, deps.secretBox.seal(deps.config.operatorWebhook!.secret));
  if (sentHeaders === undefined || !Object.values(sentHeaders).some(isMaskedHeaderValue)) {
    const headers = sentHeaders !== undefined ? checkHeaders(deps, sentHeaders) : undefined;
    if (!tellOperator) return writeUpdate(deps, deps.db, tenantId, endpointId, { ...patch, url, eventTypes, headers });
    return deps.db.transaction(async (tx) => {
      const endpoint = await writeUpdate(deps, tx, tenantId, endpointId, { ...patch, url, eventTypes, headers });
      await emitDisabledByHand(deps, tx, tenantId, endpointId);
      return endpoint;
    });
  }
  // Masked values stand for the stored ones: read them under the row lock, so a concurrent update
  // cannot change what they stand for before this one writes.
  return deps.db.transaction(async (tx) => {
    const [current] = await tx
      .select({ headers: endpoints.headers })
      .from(endpoints)
      .where(endpointOfTenant(tenantId, endpointId))
      .for('update');
    if (!current) throw notFound();
    const stored = openHeaderValues(current.headers, (sealed) => deps.secretBox.open(sealed));
    const headers = checkHeaders(deps, unmaskHeaderValues(sentHeaders, stored));
    const endpoint = await writeUpdate(deps, tx, tenantId, endpointId, { ...patch, url, eventTypes, headers });
    if (tellOperator) await emitDisabledByHand(deps, tx, tenantId, endpointId);
    return endpoint;
  });
}

/** `endpoint.disabled` to the operator if this transaction disabled the endpoint (not if it already was). */
async function emitDisabledByHand(
  deps: Pick<Shared, 'config'>,
  tx: Pick<ApiPool['db'], 'execute'>,
  tenantId: string,
  endpointId: string,
): Promise<void> {
  const target = { url: deps.config.operatorWebhook!.url, eventIds: [newId('event')], deliveryIds: [newId('delivery')] };
  await tx.execute(emitDisabledByHandSql(target, tenantId, endpointId));
}

/** Custom headers as stored: checked, names lowercased, values sealed. */
function checkHeaders(deps: EndpointDeps, headers: Record<string, string>): Record<string, string> {
  return sealHeaderValues(normalizeCustomHeaders(headers, deps.config.headerPrefix), (plain) => deps.secretBox.seal(plain));
}

type Checked = Omit<EndpointPatch, 'url' | 'eventTypes' | 'headers'> & {
  url: string | undefined;
  eventTypes: string[] | undefined;
  /** Sealed. */
  headers: Record<string, string> | undefined;
};

async function writeUpdate(
  deps: EndpointDeps,
  db: Pick<EndpointDeps['db'], 'update'>,
  tenantId: string,
  endpointId: string,
  patch: Checked,
): Promise<Endpoint> {
  const { url, eventTypes, headers } = patch;
  // In SET, column references read the row as it was before this update. `disabled` is
  // setDisabledByHand (./health.ts) in SQL: disabling keeps an earlier reason, re-enabling resets.
  const wasDisabled = sql`${endpoints.disabled}`;
  const [row] = await db
    .update(endpoints)
    .set({
      ...(url !== undefined && { url }),
      ...(patch.description !== undefined && { description: patch.description }),
      ...(eventTypes !== undefined && { eventTypes }),
      ...(patch.filter !== undefined && { filter: patch.filter }),
      ...(patch.rateLimit !== undefined && { rateLimit: patch.rateLimit }),
      ...(patch.ordering !== undefined && { ordering: patch.ordering }),
      ...(headers !== undefined && { headers }),
      ...(patch.metadata !== undefined && { metadata: patch.metadata }),
      ...(patch.disabled === true && {
        disabled: true,
        disabledReason: sql`case when ${wasDisabled} then ${endpoints.disabledReason} else ${MANUAL_DISABLE_REASON} end`,
        disabledAt: sql`case when ${wasDisabled} then ${endpoints.disabledAt} else now() end`,
      }),
      ...(patch.disabled === false && {
        disabled: false,
        disabledReason: null,
        disabledAt: null,
        failuresSinceSuccess: sql`case when ${wasDisabled} then 0 else ${endpoints.failuresSinceSuccess} end`,
        firstFailureAt: sql`case when ${wasDisabled} then null else ${endpoints.firstFailureAt} end`,
      }),
      updatedAt: sql`now()`,
    })
    .where(and(eq(endpoints.tenantId, tenantId), eq(endpoints.id, endpointId)))
    .returning(endpointColumns);
  if (!row) throw notFound();
  return present(deps, row);
}

/** Deletes the endpoint and, by cascade, its deliveries and their attempts. */
export async function deleteEndpoint(deps: EndpointDeps, tenantId: string, endpointId: string): Promise<void> {
  const deleted = await deps.db.delete(endpoints).where(endpointOfTenant(tenantId, endpointId)).returning({ id: endpoints.id });
  if (deleted.length === 0) throw notFound();
}

/**
 * A new signing secret (for an Ed25519 endpoint, a new key pair; the answer is its public key).
 * The current one stays valid (the delivery engine signs with both) for `graceSeconds`; 0 drops it
 * at once. One statement, so concurrent rotations cannot lose a secret that was handed out; the
 * signing read first never changes (it is fixed at creation).
 */
export async function rotateEndpointSecret(
  deps: EndpointDeps,
  tenantId: string,
  endpointId: string,
  graceSeconds: number,
): Promise<{ secret: string }> {
  const byId = endpointOfTenant(tenantId, endpointId);
  const [current] = await deps.db.select({ signing: endpoints.signing }).from(endpoints).where(byId);
  if (!current) throw notFound();
  const keys = newKeys(current.signing);
  const keepPrevious = graceSeconds > 0;
  const updated = await deps.db
    .update(endpoints)
    .set({
      secret: deps.secretBox.seal(keys.sealedSecret),
      publicKey: keys.publicKey,
      previousSecret: keepPrevious ? sql`${endpoints.secret}` : null,
      previousSecretExpiresAt: keepPrevious ? new Date(Date.now() + graceSeconds * 1000) : null,
      updatedAt: sql`now()`,
    })
    .where(byId)
    .returning({ id: endpoints.id });
  if (updated.length === 0) throw notFound();
  return { secret: keys.shown };
}
