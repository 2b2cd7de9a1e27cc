// REST beside tRPC: the same procedures under /api/v1, routed by each procedure's
// `.meta({ openapi: { method, path } })` (trpc-to-openapi), and the OpenAPI 3 document describing
// them at /api/v1/openapi.json. Nothing here decides anything about the API itself (auth, scoping,
// validation, errors are the procedures'); this file only adapts HTTP:
//   - reads the JSON body, bounded as tRPC's is (a POST with no body is `{}`);
//   - folds the `Idempotency-Key` header into `POST /events` (and `/events/batch`);
//   - answers an error as `{ message, code, issues? }` with the HTTP status of its tRPC code, and
//     `Retry-After` on TOO_MANY_REQUESTS.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { TRPCError } from '@trpc/server';
import type { NodeHTTPResponse } from '@trpc/server/adapters/node-http';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import { createOpenApiNodeHttpHandler, generateOpenApiDocument, type OpenAPIObject } from 'trpc-to-openapi';
import { hooklineVersion } from '../../shared/version.js';
import { createContext } from '../context.js';
import type { AppDeps } from '../deps.js';
import { appRouter } from '../router.js';
import type { AuthFailureThrottle } from '../security/auth-failures.js';
import { maxBatchRequestBodyBytes, maxRequestBodyBytes, requestBodyTooLargeMessage } from './request-limits.js';
import { retryAfterMeta } from './retry-after.js';

export const REST_BASE_PATH = '/api/v1';
export const OPENAPI_DOCUMENT_PATH = `${REST_BASE_PATH}/openapi.json`;

export function isRestPath(path: string): boolean {
  return path === REST_BASE_PATH || path.startsWith(`${REST_BASE_PATH}/`);
}

/** The OpenAPI 3 document of every procedure with a REST route, naming `publicUrl` as the server. */
export function createOpenApiDocument(publicUrl: string): OpenAPIObject {
  return generateOpenApiDocument(appRouter, {
    title: 'hookline',
    version: hooklineVersion,
    description:
      'Self-hosted multi-tenant webhooks. Every operation is also a tRPC procedure at /trpc. ' +
      'Authenticate with `Authorization: Bearer <key>`: the admin key may do everything; a tenant key acts on its own ' +
      'tenant. With the admin key, a tenant-scoped operation names the tenant: `tenantId` as a query parameter ' +
      '(GET, DELETE) or a body field (POST, PATCH). Errors answer `{ "message", "code", "issues"? }` with the HTTP ' +
      'status of the code; `Retry-After` comes with 429. Sending an event is safe to retry with an `Idempotency-Key`.',
    baseUrl: `${publicUrl}${REST_BASE_PATH}`,
    tags: ['tenants', 'event types', 'endpoints', 'events', 'deliveries', 'portal', 'health'],
    securitySchemes: {
      bearer: { type: 'http', scheme: 'bearer', description: 'The admin key, or a tenant API key (`tenants.create`).' },
    },
  });
}

/** The error body of every REST answer that is not a success. */
export interface RestError {
  message: string;
  code: string;
  issues?: unknown[];
}

/**
 * `POST /events` takes its idempotency key from the `Idempotency-Key` header as well as the body;
 * naming two different keys is refused. For `POST /events/batch`, an item without its own key gets
 * `{header}:{index}`, so retrying the whole batch with the same header accepts nothing twice.
 */
export function foldIdempotencyKey(path: string, body: unknown, header: string | undefined): unknown {
  if (header === undefined || typeof body !== 'object' || body === null || Array.isArray(body)) return body;
  const route = path.toLowerCase().replace(/\/+$/, '');
  if (route === '/events') {
    const named = (body as { idempotencyKey?: unknown }).idempotencyKey;
    if (named !== undefined && named !== header) {
      throw new TRPCError({ code: 'BAD_REQUEST', message: 'the Idempotency-Key header and idempotencyKey name different keys' });
    }
    return { ...body, idempotencyKey: header };
  }
  if (route === '/events/batch') {
    const items = (body as { events?: unknown }).events;
    if (!Array.isArray(items)) return body;
    return {
      ...body,
      events: items.map((item: unknown, index) =>
        typeof item === 'object' && item !== null && (item as { idempotencyKey?: unknown }).idempotencyKey === undefined
          ? { ...item, idempotencyKey: `${header}:${index}` }
          : item,
      ),
    };
  }
  return body;
}

/** The handler of every path under /api/v1. */
export function createRestHandler(
  deps: AppDeps,
  authFailures: AuthFailureThrottle,
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const maxBodySize = maxRequestBodyBytes(deps.config.maxPayloadBytes);
  let document: string | undefined; // built on first request: it is the same until the process ends
  // Made on the first REST request: outside production the adapter checks every route by building
  // the whole document (~250 ms), which a process serving only tRPC need not pay.
  let procedures: ReturnType<typeof createProcedureHandler> | undefined;
  const createProcedureHandler = () =>
    createOpenApiNodeHttpHandler({
      router: appRouter,
      maxBodySize,
      createContext: ({ req }) =>
        createContext(
          deps,
          { authorization: req.headers.authorization, source: req.socket.remoteAddress, path: `${req.method} ${REST_BASE_PATH}${req.url}` },
          authFailures,
        ),
      responseMeta: retryAfterMeta,
      onError: ({ error, path }) => {
        if (error.code === 'INTERNAL_SERVER_ERROR') deps.logger.error({ err: error.cause ?? error, path }, 'REST request failed');
      },
    });

  return async (req, res) => {
    const url = req.url ?? '/';
    const path = url.split('?')[0]!;
    if (path === OPENAPI_DOCUMENT_PATH && (req.method === 'GET' || req.method === 'HEAD')) {
      document ??= JSON.stringify(createOpenApiDocument(deps.config.publicUrl));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(req.method === 'HEAD' ? undefined : document);
      return;
    }
    // The adapter routes by the procedures' own paths (`/tenants`), as mounted here.
    req.url = `/${url.slice(REST_BASE_PATH.length).replace(/^\/+/, '')}`;
    try {
      if (req.method === 'POST' || req.method === 'PATCH' || req.method === 'PUT') {
        // events.sendBatch reads up to HOOKLINE_MAX_BATCH_BYTES; every other operation keeps the smaller limit.
        const isBatch = req.url.split('?')[0] === '/events/batch';
        const limit = isBatch ? maxBatchRequestBodyBytes(deps.config.maxBatchBytes) : maxBodySize;
        const body = await readJsonBody(req, limit, requestBodyTooLargeMessage(deps.config, isBatch ? 'events.sendBatch' : undefined));
        if (body !== notJson) {
          (req as IncomingMessage & { body?: unknown }).body = foldIdempotencyKey(req.url.split('?')[0]!, body, idempotencyKeyHeader(req));
        }
      }
    } catch (error) {
      if (!(error instanceof TRPCError)) throw error;
      answer(res, getHTTPStatusCodeFromError(error), {}, { message: error.message, code: error.code });
      return;
    }
    const held = holdAnswer(res);
    procedures ??= createProcedureHandler();
    await procedures(req, held.res);
    const { status, headers, body } = held.answer;
    answer(res, status, headers, status >= 400 && body !== undefined ? restError(body) : body);
  };
}

const notJson = Symbol('not JSON');

/**
 * The request body as JSON: `{}` when there is none (`curl -X POST …/send-test`), `notJson` when it
 * is declared as another type (the adapter answers 415 UNSUPPORTED_MEDIA_TYPE). Read up to
 * `maxBodySize`, as tRPC reads its own.
 */
async function readJsonBody(req: IncomingMessage, maxBodySize: number, tooLargeMessage: string): Promise<unknown> {
  const contentType = req.headers['content-type'];
  if (contentType !== undefined && !contentType.toLowerCase().startsWith('application/json')) return notJson;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBodySize) throw new TRPCError({ code: 'PAYLOAD_TOO_LARGE', message: tooLargeMessage });
    chunks.push(chunk);
  }
  req.headers['content-type'] ??= 'application/json';
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new TRPCError({ code: 'PARSE_ERROR', message: 'the request body is not valid JSON' });
  }
}

function idempotencyKeyHeader(req: IncomingMessage): string | undefined {
  const value = req.headers['idempotency-key'];
  return Array.isArray(value) ? value[0] : value;
}

interface HeldAnswer {
  status: number;
  headers: Record<string, string>;
  body: string | undefined;
}

/**
 * A response for the adapter to write into, held back so that an error body can be reshaped before
 * anything is sent. It passes on only what the adapter's abort signal listens to (the connection
 * closing).
 */
function holdAnswer(real: ServerResponse): { res: NodeHTTPResponse; answer: HeldAnswer } {
  const answer: HeldAnswer = { status: 200, headers: {}, body: undefined };
  const res = {
    get statusCode() {
      return answer.status;
    },
    set statusCode(status: number) {
      answer.status = status;
    },
    get writableEnded() {
      return real.writableEnded;
    },
    setHeader(name: string, value: string | number | readonly string[]) {
      answer.headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
      return res;
    },
    end(body?: string) {
      answer.body = body;
      return res;
    },
    once(event: string, listener: () => void) {
      real.once(event, listener);
      return res;
    },
    off(event: string, listener: () => void) {
      real.off(event, listener);
      return res;
    },
  };
  return { res: res as unknown as NodeHTTPResponse, answer };
}

/** The adapter's error body (the tRPC error shape with `code` and `issues` added) as `{ message, code, issues? }`. */
function restError(body: string): RestError {
  const parsed = JSON.parse(body) as Partial<RestError>;
  return {
    message: typeof parsed.message === 'string' ? parsed.message : 'error',
    code: typeof parsed.code === 'string' ? parsed.code : 'INTERNAL_SERVER_ERROR',
    ...(Array.isArray(parsed.issues) && { issues: parsed.issues }),
  };
}

function answer(res: ServerResponse, status: number, headers: Record<string, string>, body: RestError | string | undefined): void {
  const text = typeof body === 'object' ? JSON.stringify(body) : body;
  res.writeHead(status, { ...headers, 'content-type': 'application/json' });
  res.end(text);
}
