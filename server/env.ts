// The process configuration: the contract's environment variables, parsed once with zod at start,
// frozen, and passed to whatever needs it (tests build their own with `loadConfig({...})`).
import { z } from 'zod';
import { parseAllowedNetworks, type UrlPolicy } from '../shared/url-rules.js';
import { SIGNATURE_SCHEMES } from '../shared/signing.js';
import { parseDuration, parseDurationList } from '../shared/duration.js';
import { endpointSecretSchema } from '../shared/schemas.js';
import { defaultDnsTimeoutMs } from './delivery/dns.js';

const booleanString = z.enum(['true', 'false', '1', '0', 'yes', 'no', '']).transform((v) => v === 'true' || v === '1' || v === 'yes');

const duration = (name: string) =>
  z.string().transform((value, ctx) => {
    try {
      return parseDuration(value);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: `${name}: ${(error as Error).message}` });
      return z.NEVER;
    }
  });

const positiveInt = z.coerce.number().int().positive();

/** "N/window", e.g. "60/1m": at most N calls in each window of that length. */
const ratePerWindow = (name: string) =>
  z.string().transform((value, ctx) => {
    const match = /^\s*(\d+)\s*\/\s*(\S+)\s*$/.exec(value);
    try {
      if (!match || Number(match[1]) < 1) throw new Error(`"${value}" is not a rate (use e.g. 60/1m: 60 calls a minute)`);
      const windowMs = parseDuration(match[2]!);
      if (windowMs < 1000) throw new Error(`"${value}": the window must be at least 1s`);
      return Object.freeze({ limit: Number(match[1]), windowMs });
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: `${name}: ${(error as Error).message}` });
      return z.NEVER;
    }
  });

const envSchema = z.object({
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  HOOKLINE_PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOOKLINE_HOST: z.string().min(1).default('127.0.0.1'),
  HOOKLINE_METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  HOOKLINE_ADMIN_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
  HOOKLINE_ENCRYPTION_KEY: z
    .string()
    .refine((v) => Buffer.from(v, 'base64').length === 32, 'must be base64 of exactly 32 bytes')
    .optional(),
  HOOKLINE_ALLOW_HTTP: booleanString.default(false),
  HOOKLINE_ALLOWED_NETWORKS: z
    .string()
    .default('')
    .transform((value, ctx) => {
      try {
        return parseAllowedNetworks(value);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
    }),
  HOOKLINE_SIGNATURE_SCHEME: z.enum(SIGNATURE_SCHEMES).default('standard'),
  HOOKLINE_HEADER_PREFIX: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9-]{0,40}$/, 'must be letters, digits and dashes (e.g. X-Webhook)')
    .default('X-Webhook'),
  HOOKLINE_RETRY_SCHEDULE: z
    .string()
    .default('5s,5m,30m,2h,5h,10h,10h')
    .transform((value, ctx) => {
      try {
        return parseDurationList(value);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
    }),
  HOOKLINE_TIMEOUT: duration('HOOKLINE_TIMEOUT').default(10_000),
  HOOKLINE_DNS_TIMEOUT: duration('HOOKLINE_DNS_TIMEOUT').optional(),
  HOOKLINE_MAX_ENDPOINTS_PER_TENANT: positiveInt.default(20),
  HOOKLINE_MAX_PAYLOAD_BYTES: positiveInt.default(262_144),
  HOOKLINE_MAX_BATCH_BYTES: positiveInt.default(5_242_880),
  HOOKLINE_DISABLE_AFTER: duration('HOOKLINE_DISABLE_AFTER').default(5 * 24 * 3600 * 1000),
  HOOKLINE_RETENTION: duration('HOOKLINE_RETENTION').default(30 * 24 * 3600 * 1000),
  HOOKLINE_WORKER_CONCURRENCY: positiveInt.max(1000).default(100),
  HOOKLINE_WORKER_HEARTBEAT: duration('HOOKLINE_WORKER_HEARTBEAT').default(5_000),
  HOOKLINE_WORKER_DEAD_AFTER: duration('HOOKLINE_WORKER_DEAD_AFTER').default(30_000),
  HOOKLINE_SWEEP_INTERVAL: duration('HOOKLINE_SWEEP_INTERVAL')
    .pipe(z.number().min(10, 'HOOKLINE_SWEEP_INTERVAL: must be at least 10ms'))
    .default(60_000),
  HOOKLINE_WORKER_RESTART_WINDOW: duration('HOOKLINE_WORKER_RESTART_WINDOW').default(60_000),
  HOOKLINE_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  HOOKLINE_DATA_DIR: z.string().min(1).default('.hookline'),
  HOOKLINE_MAX_BATCH_CALLS: positiveInt.max(1000).default(50),
  HOOKLINE_READ_TIMEOUT: duration('HOOKLINE_READ_TIMEOUT').default(5_000),
  HOOKLINE_SEND_TEST_LIMIT: ratePerWindow('HOOKLINE_SEND_TEST_LIMIT').default({ limit: 60, windowMs: 60_000 }),
  HOOKLINE_RETRY_LIMIT: ratePerWindow('HOOKLINE_RETRY_LIMIT').default({ limit: 60, windowMs: 60_000 }),
  HOOKLINE_RECOVER_LIMIT: ratePerWindow('HOOKLINE_RECOVER_LIMIT').default({ limit: 10, windowMs: 60_000 }),
  HOOKLINE_AUTH_FAILURES_PER_MINUTE: positiveInt.default(30),
  HOOKLINE_AUTH_FAILURE_DELAY: duration('HOOKLINE_AUTH_FAILURE_DELAY').default(1_000),
  HOOKLINE_PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
  // Operational events (endpoint.disabled, delivery.exhausted) to the operator's own receiver.
  HOOKLINE_OPERATOR_WEBHOOK_URL: z.url({ protocol: /^https?$/ }).optional(),
  HOOKLINE_OPERATOR_WEBHOOK_SECRET: endpointSecretSchema.optional(),
  // The tenant portal (/portal): who may frame it, and its default look.
  HOOKLINE_PORTAL_FRAME_ANCESTORS: z
    .string()
    .regex(/^[^;,\r\n]+$/, "HOOKLINE_PORTAL_FRAME_ANCESTORS: space-separated CSP sources, e.g. 'self' https://app.example.com")
    .default("'self'"),
  HOOKLINE_PORTAL_PRODUCT_NAME: z.string().min(1).max(80).default('Webhooks'),
  HOOKLINE_PORTAL_ACCENT_COLOR: z
    .string()
    .regex(/^#[0-9a-fA-F]{6}$/, 'HOOKLINE_PORTAL_ACCENT_COLOR: a colour like #2563eb')
    .default('#2563eb'),
});

export type RawEnv = z.input<typeof envSchema>;

export interface Config {
  databaseUrl: string | undefined;
  port: number;
  host: string;
  /** A second listener for /metrics, /healthz and /readyz (how a worker-only process is scraped). */
  metricsPort: number | undefined;
  adminKey: string | undefined;
  encryptionKey: Buffer | undefined;
  urlPolicy: UrlPolicy;
  signatureScheme: (typeof SIGNATURE_SCHEMES)[number];
  headerPrefix: string;
  /** Delays (ms) before each retry after the first attempt; empty = one attempt only. */
  retryScheduleMs: readonly number[];
  timeoutMs: number;
  /** Deadline of one name lookup, inside the attempt's (a DNS failure is then recorded as `dns`). */
  dnsTimeoutMs: number;
  maxEndpointsPerTenant: number;
  maxPayloadBytes: number;
  /** The largest events.sendBatch input, serialized. */
  maxBatchBytes: number;
  disableAfterMs: number;
  retentionMs: number;
  workerConcurrency: number;
  /** How often a worker process proves it is alive, and when silence means it died. */
  workerHeartbeatMs: number;
  workerDeadAfterMs: number;
  /** How often each worker looks for pending deliveries that no job will attempt (worker/stranded-sweeper.ts). */
  sweepIntervalMs: number;
  /** `hookline worker` exits 1 when its stopped job runner could not be restarted within this long. */
  workerRestartWindowMs: number;
  logLevel: string;
  dataDir: string;
  /** The most tRPC calls one batched HTTP request may carry. */
  maxBatchCalls: number;
  /** statement_timeout of the API's list and get queries (0 = none). */
  readTimeoutMs: number;
  /** Per-tenant limits, counted in PostgreSQL so they hold across every API process. */
  tenantRateLimits: Readonly<Record<TenantRateLimitedAction, RateLimit>>;
  /** Failed authentications one address may make per minute before each further one is answered late. */
  authFailuresPerMinute: number;
  authFailureDelayMs: number;
  /** The address callers reach this deployment at (no trailing slash): what the OpenAPI document names. */
  publicUrl: string;
  /** The tenant portal: the CSP frame-ancestors sources and the default theme of its sessions. */
  portal: Readonly<{ frameAncestors: string; productName: string; accentColor: string }>;
  /** Where hookline's own events go (server/operator/operational-events.ts); undefined = nowhere. */
  operatorWebhook: Readonly<{ url: string; secret: string }> | undefined;
}

export interface RateLimit {
  limit: number;
  windowMs: number;
}

export type TenantRateLimitedAction = 'sendTest' | 'retry' | 'recover';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses an environment (default: process.env). Throws ConfigError naming each bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Readonly<Config> {
  // Empty strings mean "unset" for optional values, except the retry schedule where "" means "no retries".
  const cleaned: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) continue;
    if (value === '' && key !== 'HOOKLINE_RETRY_SCHEDULE' && key !== 'HOOKLINE_ALLOWED_NETWORKS') continue;
    cleaned[key] = value;
  }
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join('.') || 'env'}: ${issue.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  if ((e.HOOKLINE_OPERATOR_WEBHOOK_URL === undefined) !== (e.HOOKLINE_OPERATOR_WEBHOOK_SECRET === undefined)) {
    throw new ConfigError(
      'invalid configuration:\n  HOOKLINE_OPERATOR_WEBHOOK_URL, HOOKLINE_OPERATOR_WEBHOOK_SECRET: set both (the URL and its whsec_ secret) or neither',
    );
  }
  if (e.HOOKLINE_DNS_TIMEOUT !== undefined && e.HOOKLINE_DNS_TIMEOUT >= e.HOOKLINE_TIMEOUT) {
    throw new ConfigError('invalid configuration:\n  HOOKLINE_DNS_TIMEOUT: must be shorter than HOOKLINE_TIMEOUT');
  }
  return Object.freeze({
    databaseUrl: e.DATABASE_URL,
    port: e.HOOKLINE_PORT,
    host: e.HOOKLINE_HOST,
    metricsPort: e.HOOKLINE_METRICS_PORT,
    adminKey: e.HOOKLINE_ADMIN_KEY,
    encryptionKey: e.HOOKLINE_ENCRYPTION_KEY ? Buffer.from(e.HOOKLINE_ENCRYPTION_KEY, 'base64') : undefined,
    urlPolicy: Object.freeze({ allowHttp: e.HOOKLINE_ALLOW_HTTP, allowedNetworks: e.HOOKLINE_ALLOWED_NETWORKS }),
    signatureScheme: e.HOOKLINE_SIGNATURE_SCHEME,
    headerPrefix: e.HOOKLINE_HEADER_PREFIX,
    retryScheduleMs: Object.freeze(e.HOOKLINE_RETRY_SCHEDULE),
    timeoutMs: e.HOOKLINE_TIMEOUT,
    dnsTimeoutMs: e.HOOKLINE_DNS_TIMEOUT ?? defaultDnsTimeoutMs(e.HOOKLINE_TIMEOUT),
    maxEndpointsPerTenant: e.HOOKLINE_MAX_ENDPOINTS_PER_TENANT,
    maxPayloadBytes: e.HOOKLINE_MAX_PAYLOAD_BYTES,
    maxBatchBytes: e.HOOKLINE_MAX_BATCH_BYTES,
    disableAfterMs: e.HOOKLINE_DISABLE_AFTER,
    retentionMs: e.HOOKLINE_RETENTION,
    workerConcurrency: e.HOOKLINE_WORKER_CONCURRENCY,
    workerHeartbeatMs: e.HOOKLINE_WORKER_HEARTBEAT,
    workerDeadAfterMs: e.HOOKLINE_WORKER_DEAD_AFTER,
    sweepIntervalMs: e.HOOKLINE_SWEEP_INTERVAL,
    workerRestartWindowMs: e.HOOKLINE_WORKER_RESTART_WINDOW,
    logLevel: e.HOOKLINE_LOG_LEVEL,
    dataDir: e.HOOKLINE_DATA_DIR,
    maxBatchCalls: e.HOOKLINE_MAX_BATCH_CALLS,
    readTimeoutMs: e.HOOKLINE_READ_TIMEOUT,
    tenantRateLimits: Object.freeze({
      sendTest: e.HOOKLINE_SEND_TEST_LIMIT,
      retry: e.HOOKLINE_RETRY_LIMIT,
      recover: e.HOOKLINE_RECOVER_LIMIT,
    }),
    authFailuresPerMinute: e.HOOKLINE_AUTH_FAILURES_PER_MINUTE,
    authFailureDelayMs: e.HOOKLINE_AUTH_FAILURE_DELAY,
    publicUrl: e.HOOKLINE_PUBLIC_URL?.replace(/\/+$/, '') ?? defaultPublicUrl(e.HOOKLINE_HOST, e.HOOKLINE_PORT),
    portal: Object.freeze({
      frameAncestors: e.HOOKLINE_PORTAL_FRAME_ANCESTORS,
      productName: e.HOOKLINE_PORTAL_PRODUCT_NAME,
      accentColor: e.HOOKLINE_PORTAL_ACCENT_COLOR,
    }),
    operatorWebhook:
      e.HOOKLINE_OPERATOR_WEBHOOK_URL && e.HOOKLINE_OPERATOR_WEBHOOK_SECRET
        ? Object.freeze({ url: e.HOOKLINE_OPERATOR_WEBHOOK_URL, secret: e.HOOKLINE_OPERATOR_WEBHOOK_SECRET })
        : undefined,
  } satisfies Config);
}

/** `http://{host}:{port}`, a wildcard listen address shown as loopback. */
function defaultPublicUrl(host: string, port: number): string {
  const shown = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '127.0.0.1' : host;
  return `http://${shown.includes(':') ? `[${shown}]` : shown}:${port}`;
}

/** A config whose keys are known to be present (what a running API or worker needs). */
export type ReadyConfig = Readonly<Config & { databaseUrl: string; adminKey: string; encryptionKey: Buffer }>;
