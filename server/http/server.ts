// The API's HTTP server: tRPC at /trpc, REST at /api/v1 (./rest.ts) with its reference at /docs,
// the tenant portal at /portal, plus /healthz (alive) and /readyz (database reachable and migrated). Plain node:http, no framework.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { appliedMigrationCount, expectedMigrationCount } from '../../db/migrate.js';
import { createContext } from '../context.js';
import type { AppDeps } from '../deps.js';
import { appRouter } from '../router.js';
import { createPortalHandler, isPortalPath } from '../portal/static.js';
import { createAuthFailureThrottle } from '../security/auth-failures.js';
import { apiReferenceRoutes } from './api-reference.js';
import { retryAfterMeta } from './retry-after.js';
import { createRestHandler, isRestPath } from './rest.js';
import { createNodeTrpcHandler } from './trpc-handler.js';
import { answerClientError, maxBatchRequestBodyBytes, maxRequestBodyBytes } from './request-limits.js';

export interface ApiServerOptions {
  /** Extra GET routes (e.g. /metrics), keyed by path. */
  routes?: Record<string, (req: IncomingMessage, res: ServerResponse) => void | Promise<void>>;
  /** Mount the API at /trpc (default true); false gives the worker's metrics/health listener. */
  trpc?: boolean;
  /** Why this process is not ready beyond the database (e.g. its worker's runner is down), if so. */
  notReadyReason?: () => string | undefined;
}

export function createApiServer(deps: AppDeps, options: ApiServerOptions = {}): Server {
  const authFailures = createAuthFailureThrottle({
    failuresPerMinute: deps.config.authFailuresPerMinute,
    delayMs: deps.config.authFailureDelayMs,
    logger: deps.logger,
  });
  const trpcHandler = (maxBodySize: number) =>
    createNodeTrpcHandler({
      router: appRouter,
      endpoint: '/trpc',
      maxBodySize,
      // One HTTP request carries at most this many batched calls; more is BAD_REQUEST (400) at once.
      maxBatchSize: deps.config.maxBatchCalls,
      createContext: ({ req, info }) =>
        createContext(
          deps,
          { authorization: req.headers.authorization, source: req.socket.remoteAddress, path: info.calls.map((c) => c.path).join(',') },
          authFailures,
        ),
      responseMeta: retryAfterMeta,
      onError: ({ error, path }) => {
        if (error.code === 'INTERNAL_SERVER_ERROR') deps.logger.error({ err: error.cause ?? error, path }, 'request failed');
      },
      onUnhandledError: (error) => deps.logger.error({ err: error }, 'request failed'),
    });
  const maxBody = maxRequestBodyBytes(deps.config.maxPayloadBytes);
  const trpc = trpcHandler(maxBody);
  // events.sendBatch reads up to HOOKLINE_MAX_BATCH_BYTES; every other call keeps the smaller limit.
  const maxBatchBody = maxBatchRequestBodyBytes(deps.config.maxBatchBytes);
  const trpcBatch = trpcHandler(maxBatchBody);
  const expectedMigrations = expectedMigrationCount();
  // REST and OpenAPI: the same procedures under /api/v1, the reference at /docs.
  const rest = options.trpc !== false ? createRestHandler(deps, authFailures) : undefined;
  // The tenant portal's page (server/portal/static.ts), beside the API it calls.
  const portal = options.trpc !== false ? createPortalHandler(deps, authFailures) : undefined;

  const routes: Record<string, (req: IncomingMessage, res: ServerResponse) => void | Promise<void>> = {
    '/healthz': (_req, res) => sendJson(res, 200, { ok: true }),
    '/readyz': async (_req, res) => {
      try {
        const applied = await Promise.race([
          appliedMigrationCount(deps.sql),
          new Promise<never>((_, reject) => setTimeout(() => reject(new Error('database timeout')), 2000).unref()),
        ]);
        const notReady = options.notReadyReason?.();
        if (applied < expectedMigrations) {
          sendJson(res, 503, { ok: false, reason: `migrations pending (${applied}/${expectedMigrations})` });
        } else if (notReady) {
          sendJson(res, 503, { ok: false, reason: notReady });
        } else {
          sendJson(res, 200, { ok: true });
        }
      } catch (error) {
        // The detail (an address, a user name) is for the operator's log, not for any caller.
        deps.logger.warn({ err: error }, 'readiness check: database unavailable');
        sendJson(res, 503, { ok: false, reason: 'database unavailable' });
      }
    },
    ...(rest && apiReferenceRoutes()),
    ...options.routes,
  };

  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (options.trpc !== false && (path === '/trpc' || path.startsWith('/trpc/'))) {
      if (path === '/trpc') req.url = '/trpc/';
      (path.includes('events.sendBatch') ? trpcBatch : trpc)(req, res);
      return;
    }
    if (rest && isRestPath(path)) {
      rest(req, res).catch((error: unknown) => {
        deps.logger.error({ err: error, path }, 'REST request failed');
        if (!res.headersSent) sendJson(res, 500, { message: 'internal error', code: 'INTERNAL_SERVER_ERROR' });
      });
      return;
    }
    if (portal && isPortalPath(path)) {
      portal(req, res, path).catch((error: unknown) => {
        deps.logger.error({ err: error, path }, 'portal request failed');
        if (!res.headersSent) sendJson(res, 500, { ok: false });
      });
      return;
    }
    const route = routes[path];
    if (route && (req.method === 'GET' || req.method === 'HEAD')) {
      Promise.resolve(route(req, res)).catch((error: unknown) => {
        deps.logger.error({ err: error, path }, 'route failed');
        if (!res.headersSent) sendJson(res, 500, { ok: false });
      });
      return;
    }
    sendJson(res, 404, { error: 'not found' });
  });
  // A URL too long (or a request Node cannot parse) answers in JSON too, not a bare status line.
  server.on('clientError', answerClientError);
  return server;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
