// zod schemas for API inputs, shared by the server (validation) and the client (types).
import { z } from 'zod';
import { idPattern } from './ids.js';
import { parsePayloadFilter, type PayloadFilter } from './payload-filter.js';

/** Text PostgreSQL can store: no NUL characters. */
export const safeText = (max: number) =>
  z
    .string()
    .max(max)
    .refine((s) => !s.includes('\u0000'), 'must not contain NUL characters');

export const tenantIdSchema = z.string().regex(idPattern('tenant'), 'not a tenant id');
export const endpointIdSchema = z.string().regex(idPattern('endpoint'), 'not an endpoint id');
export const eventIdSchema = z.string().regex(idPattern('event'), 'not an event id');
export const deliveryIdSchema = z.string().regex(idPattern('delivery'), 'not a delivery id');

/** String-to-string metadata: at most 50 keys, keys ≤ 64 characters, values ≤ 1024. */
export const metadataSchema = z
  .record(safeText(64).min(1), safeText(1024))
  .refine((m) => Object.keys(m).length <= 50, 'at most 50 metadata keys');

/** An endpoint's payload filter (shared/payload-filter.ts); the message names the offending key. */
export const payloadFilterSchema = z
  .record(z.string(), z.unknown())
  .superRefine((value, ctx) => {
    const parsed = parsePayloadFilter(value);
    if ('error' in parsed) ctx.addIssue({ code: 'custom', message: parsed.error });
  })
  .transform((value) => value as PayloadFilter)
  .meta({
    description:
      'Matched against the event payload: keys are dotted paths ("job.status"), a plain value means equals; ' +
      'operators $eq $ne $gt $gte $lt $lte $in $nin $exists $startsWith; $and $or $not combine.',
  });

/** The most attempts per second an endpoint's rate limit may allow. */
export const MAX_RATE_LIMIT = 10_000;

/** An endpoint's rate limit: at most this many delivery attempts in any one-second window. */
// (Through fromQueryNumber, as wholeNumber: the REST adapter would otherwise switch a bare number to zod coercion.)
export const rateLimitSchema = z
  .preprocess(
    (value: number) => fromQueryNumber(value),
    z
      .number()
      .int('rateLimit must be a whole number of attempts per second')
      .min(1, 'rateLimit must be at least 1 attempt per second')
      .max(MAX_RATE_LIMIT, `rateLimit must be at most ${MAX_RATE_LIMIT} attempts per second`),
  )
  .meta({
    description: 'At most this many delivery attempts to the endpoint in any one-second window, across all workers; null = no limit.',
  });

/** An endpoint's delivery ordering: `none` (in parallel) or `fifo` (one at a time, in event-id order). */
export const orderingSchema = z.enum(['none', 'fifo']).meta({
  description:
    '"fifo": deliveries to the endpoint are attempted one at a time in event-id order; a delivery waiting for a retry holds back the later ones until it succeeds or fails for good; a manual retry or recover goes to the back of the line. "none" (default): in parallel.',
});

export const tenantName = safeText(200).trim().min(1);
export const externalId = safeText(200).min(1);

/*
 * Booleans and numbers of API inputs also read their query-string spelling, for REST: GET query
 * parameters arrive as strings. "true"/"false" and digits only (zod's z.coerce.boolean() reads
 * "false" as true); anything else is refused as before. Being pipes, they also keep
 * trpc-to-openapi from turning on zod's own coercion: it sets `coerce` in place on the plain
 * number and boolean schemas of every REST-exposed input (schemas tRPC shares), so every such
 * field is built with these (test/unit/rest-schemas.test.ts checks).
 */
const fromQueryBoolean = (value: unknown) => (value === 'true' ? true : value === 'false' ? false : value);
const fromQueryNumber = (value: unknown) => (typeof value === 'string' && /^-?\d{1,15}$/.test(value) ? Number(value) : value);

/** A boolean input; also "true"/"false" (REST query parameters). */
export const flag = z.preprocess((value: boolean) => fromQueryBoolean(value), z.boolean());

/** A whole-number input within bounds; also its digits as a string (REST query parameters). */
export const wholeNumber = (min: number, max: number) =>
  z.preprocess((value: number) => fromQueryNumber(value), z.number().int().min(min).max(max));

/** Items a page shows when the caller does not say. */
export const DEFAULT_PAGE_LIMIT = 50;
export const pageLimit = wholeNumber(1, 500).default(DEFAULT_PAGE_LIMIT);

/**
 * The paging fields of every list's input (keyset pages, db/paging.ts): `cursor`, the previous
 * page's `nextCursor` (an id of the kind listed), and `limit`.
 */
export const pageFields = <Cursor extends z.ZodType>(cursor: Cursor) => ({ cursor: cursor.optional(), limit: pageLimit });

/** A list's input when none is given: the first page. */
export const FIRST_PAGE = { limit: DEFAULT_PAGE_LIMIT };

/** Event type names: lowercase letters, digits, `_`, `-` and `.`, 1–100 characters. */
export const eventTypeName = z
  .string()
  .regex(/^[a-z0-9_.-]{1,100}$/, 'event type names use lowercase letters, digits, "_", "-" and "." (1–100 characters)');

/** Time range and direction of events.list / deliveries.list (ISO-8601; `since` inclusive, `until` exclusive). */
export const listWindow = {
  since: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
  order: z.enum(['asc', 'desc']).default('asc'),
  /** The operator's view across tenants: the admin key only, instead of `tenantId`. */
  allTenants: flag.optional(),
};

/**
 * An existing signing secret brought to endpoints.create (a provider moving its customers'
 * endpoints to hookline unchanged): `whsec_` + base64 of 24 to 64 bytes (Standard Webhooks).
 */
export const endpointSecretSchema = z
  .string()
  .max(100)
  .regex(/^whsec_[A-Za-z0-9+/]+={0,2}$/, 'must be whsec_ followed by base64')
  .refine((secret) => {
    const encoded = secret.slice('whsec_'.length);
    const key = Buffer.from(encoded, 'base64');
    // Strict base64: decoding and encoding again gives the same characters (padding aside).
    return key.length >= 24 && key.length <= 64 && key.toString('base64').replace(/=+$/, '') === encoded.replace(/=+$/, '');
  }, 'must be whsec_ followed by the base64 of a 24 to 64-byte key');
