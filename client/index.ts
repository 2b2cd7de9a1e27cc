// @hookline/client (also `hookline/client`), the public entry: a typed tRPC client for the hookline
// API (`createHooklineClient`) whose sends are safe to retry, its error class (`HooklineError`), the
// API's object types, and the receiver-side `verifyWebhook`. Its types come from ./router.ts (the
// server's router, written out); no server code and no database driver end up in a client bundle.
import { createTRPCClient, httpLink, TRPCClientError, type TRPCClient, type TRPCFetch, type TRPCLink } from '@trpc/client';
import type { inferRouterInputs, inferRouterOutputs, TRPC_ERROR_CODE_KEY } from '@trpc/server';
import { observable } from '@trpc/server/observable';
import type { AppRouter, HooklineIssue } from './router.js';
import { idempotencyKeyLink, sendRetryLink, type SendRetryOptions } from './safe-send.js';

export type { AppRouter, HooklineErrorShape, HooklineIssue } from './router.js';
export { defaultSendRetry, type SendRetryOptions } from './safe-send.js';

// ---------------------------------------------------------------------------------------------
// Types of the API's inputs and outputs
// ---------------------------------------------------------------------------------------------

/** Every procedure's input, e.g. `RouterInputs['tenants']['create']`. */
export type RouterInputs = inferRouterInputs<AppRouter>;
/** Every procedure's output, e.g. `RouterOutputs['tenants']['get']`. */
export type RouterOutputs = inferRouterOutputs<AppRouter>;

/** A page of a list: `nextCursor` is null on the last page. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export type Health = RouterOutputs['health'];
export type Tenant = RouterOutputs['tenants']['get'];
/** `tenants.create`: the tenant plus its API key and signing secret, shown this once. */
export type CreatedTenant = RouterOutputs['tenants']['create'];
export type EventType = RouterOutputs['eventTypes']['list']['items'][number];
export type Endpoint = RouterOutputs['endpoints']['get'];
/** `endpoints.create`: the endpoint plus its signing secret. */
export type CreatedEndpoint = RouterOutputs['endpoints']['create'];
/** `events.send`: the event and one delivery per matching endpoint (or the one-off URL). */
export type SentEvent = RouterOutputs['events']['send'];
/** An event as `events.list` returns it: its payload as the receiver gets it. */
export type Event = RouterOutputs['events']['list']['items'][number];
/** `events.get`: the event with the status of each of its deliveries. */
export type EventWithDeliveries = RouterOutputs['events']['get'];
/** One event's delivery to one endpoint (or to the one-off URL: `endpointId` null). */
export type Delivery = RouterOutputs['deliveries']['list']['items'][number];
/** `deliveries.get`: the delivery with its attempts, by attempt number. */
export type DeliveryWithAttempts = RouterOutputs['deliveries']['get'];
/** One HTTP attempt of a delivery: its number, time, HTTP status or error, and duration. */
export type Attempt = DeliveryWithAttempts['attempts'][number];
/** `pending`, `succeeded` or `failed` (retries exhausted, or the endpoint disabled). */
export type DeliveryStatus = Delivery['status'];

// Inputs of the calls most programs make (every other one: `RouterInputs[router][procedure]`).
export type CreateTenantInput = RouterInputs['tenants']['create'];
export type UpdateTenantInput = RouterInputs['tenants']['update'];
export type UpsertEventTypeInput = RouterInputs['eventTypes']['upsert'];
export type CreateEndpointInput = RouterInputs['endpoints']['create'];
export type UpdateEndpointInput = RouterInputs['endpoints']['update'];
export type SendEventInput = RouterInputs['events']['send'];
export type ListEventsInput = RouterInputs['events']['list'];
export type ListDeliveriesInput = RouterInputs['deliveries']['list'];

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/**
 * What went wrong: a tRPC error code the server answered with ('NOT_FOUND', 'UNAUTHORIZED',
 * 'BAD_REQUEST', …), or 'NETWORK_ERROR' when no usable answer came back (connection refused,
 * timeout, a response that is not the hookline API's JSON).
 */
export type HooklineErrorCode = TRPC_ERROR_CODE_KEY | 'NETWORK_ERROR';

/**
 * The error every call of a hookline client rejects with. A subclass of `TRPCClientError`, so
 * `isTRPCClientError` and its `data`/`shape`/`meta` keep working; branch on `code`.
 */
export class HooklineError extends TRPCClientError<AppRouter> {
  override readonly name = 'HooklineError';
  readonly code: HooklineErrorCode;
  /** The HTTP status of the answer; null when there was none. */
  readonly httpStatus: number | null;
  /** For 'BAD_REQUEST' from input validation: each problem; null otherwise. */
  readonly zodIssues: HooklineIssue[] | null;

  constructor(
    message: string,
    opts: {
      code: HooklineErrorCode;
      httpStatus?: number | null;
      zodIssues?: HooklineIssue[] | null;
      cause?: Error;
      /** The client error this one was made from: its server answer and metadata are kept. */
      from?: TRPCClientError<AppRouter>;
    },
  ) {
    super(message, {
      cause: opts.cause,
      meta: opts.from?.meta,
      result: opts.from?.shape ? { error: opts.from.shape } : undefined,
    });
    // TRPCClientError's constructor pins its own prototype; restore the subclass's.
    Object.setPrototypeOf(this, new.target.prototype);
    this.code = opts.code;
    this.httpStatus = opts.httpStatus ?? null;
    this.zodIssues = opts.zodIssues ?? null;
  }
}

export function isHooklineError(error: unknown): error is HooklineError {
  return error instanceof HooklineError;
}

/**
 * Any error from a tRPC call (a `TRPCClientError`, or whatever else was thrown) as a HooklineError.
 * `url` (the API's address) only improves the message of a network error.
 */
export function toHooklineError(error: unknown, url?: string): HooklineError {
  if (error instanceof HooklineError) return error;
  const clientError: TRPCClientError<AppRouter> =
    error instanceof TRPCClientError ? error : TRPCClientError.from(error instanceof Error ? error : new Error(String(error)));
  const data = clientError.data;
  const cause = clientError.cause;
  if (data?.code) {
    const zodIssues = (data.zodIssues as HooklineIssue[] | null | undefined) ?? null;
    return new HooklineError(zodIssues?.length ? describeIssues(zodIssues) : clientError.message, {
      code: data.code,
      httpStatus: data.httpStatus ?? null,
      zodIssues,
      cause,
      from: clientError,
    });
  }
  // No tRPC error answer: the request failed, was aborted, or the answer was not the API's.
  const aborted = cause?.name === 'AbortError';
  return new HooklineError(aborted ? 'request aborted' : networkMessage(clientError, url), {
    code: aborted ? 'CLIENT_CLOSED_REQUEST' : 'NETWORK_ERROR',
    httpStatus: responseStatus(clientError),
    cause,
    from: clientError,
  });
}

/** `name: Too small…; metadata.plan: …`, one line. */
function describeIssues(issues: readonly HooklineIssue[]): string {
  return issues.map((issue) => (issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message)).join('; ');
}

function networkMessage(error: TRPCClientError<AppRouter>, url: string | undefined): string {
  const cause = error.cause;
  const where = url ?? 'the hookline API';
  if (cause instanceof SyntaxError) return `${where} did not answer with the hookline API's JSON`;
  // undici's "fetch failed" carries the reason (ECONNREFUSED, ENOTFOUND, …) one level deeper.
  const reason = cause?.cause instanceof Error ? cause.cause.message : (cause?.message ?? error.message);
  return `cannot reach ${where}: ${reason}`;
}

function responseStatus(error: TRPCClientError<AppRouter>): number | null {
  const response = (error.meta as { response?: { status?: unknown } } | undefined)?.response;
  return typeof response?.status === 'number' ? response.status : null;
}

/** A link that turns every error coming back through it into a HooklineError. */
function hooklineErrorLink(url: string): TRPCLink<AppRouter> {
  return () =>
    ({ op, next }) =>
      observable((observer) =>
        next(op).subscribe({
          next: (value) => observer.next(value),
          // A TRPCClientError subclass: the client rethrows it as it is.
          error: (error) => observer.error(toHooklineError(error, url)),
          complete: () => observer.complete(),
        }),
      );
}

// ---------------------------------------------------------------------------------------------
// The client
// ---------------------------------------------------------------------------------------------

export type HooklineClient = TRPCClient<AppRouter>;

export type HooklineHeaders = Record<string, string>;

export interface HooklineClientOptions {
  /** The server's base address, e.g. `http://127.0.0.1:3000`; the client calls `${url}/trpc`. */
  url: string;
  /** The admin key or a tenant key (`hk_…`); without one only `health` answers. */
  apiKey?: string | undefined;
  /** A fetch to use instead of the global one (tests, proxies, instrumentation). */
  fetch?: TRPCFetch | undefined;
  /** Extra request headers, or a function returning them per request. */
  headers?: HooklineHeaders | (() => HooklineHeaders | Promise<HooklineHeaders>) | undefined;
  /**
   * How `events.send` and `events.sendBatch` are retried when no answer came back (or a 503):
   * by default 4 attempts in all, 200 ms doubling up to 5 s, jittered; `false` never retries.
   * Either way each event without an `idempotencyKey` gets a random one, so the client's retries
   * never store an event twice. A caller that retries a failed call itself passes its own key.
   */
  retry?: SendRetryOptions | false | undefined;
}

/**
 * A typed client of every procedure, e.g. `await hookline.tenants.me.query()`. Calls reject with a
 * HooklineError. Sends carry an idempotency key (the caller's, or a random one) and are retried
 * when their answer was lost (see `retry`).
 */
export function createHooklineClient(options: HooklineClientOptions): HooklineClient {
  const base = options.url.trim().replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]/i.test(base)) {
    throw new TypeError(`hookline client: url must be an http(s) address, got "${options.url}"`);
  }
  const url = `${base}/trpc`;
  const extraHeaders = options.headers;
  const authorization: HooklineHeaders = options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {};
  return createTRPCClient<AppRouter>({
    links: [
      hooklineErrorLink(url),
      idempotencyKeyLink(),
      sendRetryLink(options.retry === false ? { attempts: 1 } : options.retry),
      httpLink({
        url,
        ...(options.fetch && { fetch: options.fetch }),
        headers: async () => ({
          ...(typeof extraHeaders === 'function' ? await extraHeaders() : extraHeaders),
          ...authorization,
        }),
      }),
    ],
  });
}

// ---------------------------------------------------------------------------------------------
// Receiving webhooks
// ---------------------------------------------------------------------------------------------

export {
  verifyWebhook,
  WebhookVerificationError,
  type VerifyWebhookOptions,
  type WebhookRequestHeaders,
  type WebhookVerificationReason,
} from './verify.js';
export type { SignatureScheme } from './verify.js';
