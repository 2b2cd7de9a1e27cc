// tRPC initialisation, once: the procedure builders every router uses, and the one place where
// authorization and tenant scoping are decided.
//   publicProcedure        — anyone (health).
//   authedProcedure        — any valid key.
//   adminProcedure         — the admin key only.
//   tenantProcedure        — a tenant key only (tenants.me).
//   tenantScopedProcedure  — a tenant key or a portal session (its own tenant) or the admin key with
//                            `tenantId` in the input; narrows ctx.tenantId. Inputs: `tenantInput()`.
//   rateLimitedProcedure   — tenantScopedProcedure, counted against a per-tenant rate limit.
//   apiKeyScopedProcedure  — tenantScopedProcedure without portal sessions (portal.createSession).
// A portal session (the token of /portal) is a third kind of caller: only tenantScopedProcedure,
// tenantProcedure and authedProcedure admit it, always confined to its tenant, and a read-only
// session may call no mutation at all.
import { initTRPC, TRPCError } from '@trpc/server';
import type { OpenApiMeta } from 'trpc-to-openapi';
import type { TRPC_ERROR_CODE_KEY } from '@trpc/server/rpc';
import type { ProcedureType } from '@trpc/server/unstable-core-do-not-import';
import { z, ZodError } from 'zod';
import { isConnectionError } from '../db/errors.js';
import { tenants } from '../db/schema.js';
import { findTenant } from '../db/sql/tenants.js';
import type { Caller, Context } from './context.js';
import {
  ConflictError,
  DomainError,
  InvalidInputError,
  LimitExceededError,
  NotFoundError,
  PayloadTooLargeError,
  RateLimitedError,
  ReadTimeoutError,
} from './errors.js';
import type { TenantRateLimitedAction } from './env.js';
import { countTenantCall } from './limits/tenant-rate-limits.js';
import { flag, tenantIdSchema } from '../shared/schemas.js';
import { isRequestBodyLimitError, requestBodyTooLargeMessage } from './http/request-limits.js';

/**
 * Procedure meta: a procedure's REST route, served under /api/v1 by server/http/rest.ts. These are
 * the fields of trpc-to-openapi's `OpenApiMeta` that hookline uses, declared here so that the
 * router's type (which the typed client's declarations carry) needs nothing of trpc-to-openapi.
 */
export type ApiMeta = {
  openapi?: {
    method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
    /** Below /api/v1, e.g. `/endpoints/{endpointId}`: a `{name}` is the input field `name`. */
    path: `/${string}`;
    summary?: string;
    description?: string;
    tags?: string[];
    /** false: no key needed (default true). */
    protect?: boolean;
    /** Headers the REST route reads, for the OpenAPI document. */
    requestHeaders?: z.ZodObject;
  };
};
// Fails to compile if ApiMeta says something trpc-to-openapi would read differently.
const apiMetaIsOpenApiMeta = <Meta extends OpenApiMeta>(meta: Meta) => meta;
void apiMetaIsOpenApiMeta<ApiMeta>;

const t = initTRPC
  .context<Context>()
  .meta<ApiMeta>()
  .create({
    errorFormatter({ shape, error, ctx }) {
      const zodError = error.cause instanceof ZodError ? error.cause : undefined;
      const internal = error.code === 'INTERNAL_SERVER_ERROR';
      return {
        ...shape,
        // Internal details (SQL, stack) stay in the server log; an oversized body is told its limit.
        message: internal
          ? 'internal error'
          : isRequestBodyLimitError(error) && ctx
            ? requestBodyTooLargeMessage(ctx.deps.config, shape.data.path)
            : shape.message,
        data: {
          code: shape.data.code,
          httpStatus: shape.data.httpStatus,
          path: shape.data.path,
          zodIssues: zodError ? zodError.issues : null,
        },
      };
    },
  });

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

/** The tRPC code a domain error answers with (also each failed item of events.sendBatch). */
export function trpcCodeOf(error: DomainError): TRPC_ERROR_CODE_KEY {
  return error instanceof NotFoundError
    ? 'NOT_FOUND'
    : error instanceof InvalidInputError
      ? 'BAD_REQUEST'
      : error instanceof LimitExceededError
        ? 'FORBIDDEN'
        : error instanceof PayloadTooLargeError
          ? 'PAYLOAD_TOO_LARGE'
          : error instanceof ConflictError
            ? 'CONFLICT'
            : error instanceof RateLimitedError
              ? 'TOO_MANY_REQUESTS'
              : error instanceof ReadTimeoutError
                ? 'TIMEOUT'
                : 'BAD_REQUEST';
}

function toTRPCError(error: DomainError): TRPCError {
  return new TRPCError({ code: trpcCodeOf(error), message: error.message, cause: error });
}

/**
 * The answer while the database cannot be reached (down, restarting, failing over): a typed 503 the
 * caller can retry, never an internal error. The detail goes to the log, not to the caller.
 */
export function databaseUnavailable(cause: unknown): TRPCError {
  return new TRPCError({ code: 'SERVICE_UNAVAILABLE', message: 'database unavailable; try again shortly', cause });
}

// Domain errors become typed tRPC errors here; a lost database connection is SERVICE_UNAVAILABLE;
// anything else is an internal error, logged once.
const errorBoundary = t.middleware(async ({ ctx, next, path }) => {
  const result = await next();
  if (!result.ok) {
    const cause = result.error.cause;
    if (cause instanceof DomainError) throw toTRPCError(cause);
    if (result.error.code === 'INTERNAL_SERVER_ERROR' && isConnectionError(cause)) {
      ctx.deps.logger.warn({ err: cause, path }, 'database unavailable');
      throw databaseUnavailable(cause);
    }
    if (result.error.code === 'INTERNAL_SERVER_ERROR') {
      ctx.deps.logger.error({ err: cause ?? result.error, path }, 'procedure failed');
    }
  }
  return result;
});

export const publicProcedure = t.procedure.use(errorBoundary);

/** The caller, unless it is anonymous (UNAUTHORIZED) or a read-only session calling a mutation (FORBIDDEN). */
function authenticated(caller: Caller, type: ProcedureType): Exclude<Caller, { kind: 'anonymous' }> {
  if (caller.kind === 'anonymous') {
    throw new TRPCError({
      code: 'UNAUTHORIZED',
      message: caller.sessionEnded
        ? 'this portal session has expired or was revoked; ask for a new link'
        : 'a valid API key is required (Authorization: Bearer <key>)',
    });
  }
  // Decided before anything else, so that no procedure can forget it.
  if (caller.kind === 'session' && caller.readOnly && type === 'mutation') {
    throw new TRPCError({ code: 'FORBIDDEN', message: 'this portal session is read-only' });
  }
  return caller;
}

export const authedProcedure = publicProcedure.use(({ ctx, next, type }) => next({ ctx: { caller: authenticated(ctx.caller, type) } }));

// The authenticated check and the admin check in one middleware (as authedProcedure then a check
// would do): events.send, the hot path, pays one middleware level less (each is several object
// copies in tRPC).
export const adminProcedure = publicProcedure.use(({ ctx, next, type }) => {
  if (authenticated(ctx.caller, type).kind !== 'admin')
    throw new TRPCError({ code: 'FORBIDDEN', message: 'this procedure needs the admin key' });
  return next();
});

/** The caller's own tenant: a tenant key's, or a portal session's. */
export const tenantProcedure = authedProcedure.use(({ ctx, next }) => {
  if (ctx.caller.kind !== 'tenant' && ctx.caller.kind !== 'session') {
    throw new TRPCError({ code: 'FORBIDDEN', message: 'this procedure needs a tenant key' });
  }
  return next({ ctx: { tenantId: ctx.caller.tenantId } });
});

/**
 * The scoping rule, in one place: a tenant key or a portal session acts on its own tenant (a
 * `tenantId` naming another tenant answers NOT_FOUND, as an unknown one does); the admin key must
 * name the tenant. Only the admin key ever chooses a tenant.
 */
const scopeToTenant = t.middleware(async ({ ctx, next, getRawInput }) => {
  const tenantId = await resolveTenant(ctx, await getRawInput());
  return next({ ctx: { tenantId } });
});

/**
 * A tenant-scoped list the operator may also read across tenants: the admin key with
 * `allTenants: true` (instead of `tenantId`) narrows ctx.tenantId to undefined, meaning every
 * tenant. Without either the admin call stays BAD_REQUEST; a tenant key or a portal session with
 * `allTenants` is FORBIDDEN (it can never see another tenant's data).
 */
export const tenantOrAllTenantsProcedure = authedProcedure.use(async ({ ctx, next, getRawInput }) => {
  const raw = await getRawInput();
  // `true`, or `"true"` from a REST query string (the input's own schema reads both the same way).
  const allTenants = typeof raw === 'object' && raw !== null && flag.safeParse((raw as { allTenants?: unknown }).allTenants).data === true;
  if (!allTenants) return next({ ctx: { tenantId: (await resolveTenant(ctx, raw)) as string | undefined } });
  if (ctx.caller.kind !== 'admin') throw new TRPCError({ code: 'FORBIDDEN', message: 'allTenants needs the admin key' });
  if ((raw as { tenantId?: unknown }).tenantId !== undefined) {
    throw new TRPCError({ code: 'BAD_REQUEST', message: 'name either tenantId or allTenants, not both' });
  }
  return next({ ctx: { tenantId: undefined as string | undefined } });
});

async function resolveTenant(ctx: Context, raw: unknown): Promise<string> {
  const named = typeof raw === 'object' && raw !== null ? (raw as { tenantId?: unknown }).tenantId : undefined;
  if (named !== undefined && !tenantIdSchema.safeParse(named).success) {
    throw new TRPCError({ code: 'BAD_REQUEST', message: 'tenantId is not a tenant id' });
  }
  if (ctx.caller.kind === 'tenant' || ctx.caller.kind === 'session') {
    if (named !== undefined && named !== ctx.caller.tenantId) throw new TRPCError({ code: 'NOT_FOUND', message: 'tenant not found' });
    return ctx.caller.tenantId;
  }
  if (ctx.caller.kind !== 'admin') {
    throw new TRPCError({ code: 'UNAUTHORIZED', message: 'a valid API key is required (Authorization: Bearer <key>)' });
  }
  if (typeof named !== 'string') {
    throw new TRPCError({ code: 'BAD_REQUEST', message: 'tenantId is required when calling with the admin key' });
  }
  const row = await findTenant(ctx.deps.db, named, { id: tenants.id });
  if (!row) throw new TRPCError({ code: 'NOT_FOUND', message: 'tenant not found' });
  return row.id;
}

export const tenantScopedProcedure = authedProcedure.use(scopeToTenant);

/** A tenant-scoped procedure for API keys only: a portal session answers FORBIDDEN. */
export const apiKeyScopedProcedure = authedProcedure
  .use(({ ctx, next }) => {
    if (ctx.caller.kind === 'session') throw new TRPCError({ code: 'FORBIDDEN', message: 'a portal session may not do this' });
    return next();
  })
  .use(scopeToTenant);

/** The admin key or a tenant key (not a portal session); ctx.tenantId is the tenant key's, if any. */
export const apiKeyProcedure = authedProcedure.use(({ ctx, next }) => {
  if (ctx.caller.kind === 'session') throw new TRPCError({ code: 'FORBIDDEN', message: 'a portal session may not do this' });
  return next({ ctx: { tenantId: ctx.caller.kind === 'tenant' ? ctx.caller.tenantId : undefined } });
});

/** A tenant-scoped procedure whose calls are limited per tenant (server/limits/tenant-rate-limits.ts). */
export function rateLimitedProcedure(action: TenantRateLimitedAction) {
  return tenantScopedProcedure.use(async ({ ctx, next }) => {
    await countTenantCall(ctx.deps, ctx.tenantId, action);
    return next();
  });
}

/** The input schema of a tenant-scoped procedure: its own fields plus the optional `tenantId`. */
export function tenantInput<Shape extends z.ZodRawShape>(shape: Shape) {
  return z.strictObject({ tenantId: tenantIdSchema.optional(), ...shape });
}
