// hookline as the benchmarks run it: the product's own runtime (startRuntime, the same env parsing
// and pool sizes as `hookline worker`, wired by the composition root, server/compose.ts), the
// product's worker in this process (started through that root, as `hookline worker` does), and an "API
// side" runtime with its own pool that sends events with the product's sendEvent, as an API
// process would. Nothing here changes how the product behaves; knobs come from HOOKLINE_* env.
import { randomBytes } from 'node:crypto';
import type { Outcome } from '../../server/delivery/outcome.js';
import type { ReadyConfig } from '../../server/env.js';
import { createEndpoint } from '../../server/endpoints/service.js';
import { upsertEventType } from '../../server/event-types/service.js';
import { startRuntime, type Runtime } from '../../server/runtime.js';
import { createTenant } from '../../server/tenants/service.js';
import type { Worker } from '../../server/worker/worker.js';
import { now } from './clock.js';
import type { FreshDatabase } from './environment.js';

export const BENCH_EVENT_TYPE = 'bench.event';

/**
 * The environment the product is started with: the caller's HOOKLINE_* variables (so
 * `HOOKLINE_WORKER_CONCURRENCY=200 npm run bench` works as it does in production), plus what a
 * loopback benchmark needs: plain http to 127.0.0.1, and room for 1,000 endpoints per tenant.
 */
export function productEnv(databaseUrl: string, keys: { admin: string; encryption: string }): Record<string, string> {
  const passthrough = Object.fromEntries(
    Object.entries(process.env).filter((entry): entry is [string, string] => entry[0].startsWith('HOOKLINE_') && entry[1] !== undefined),
  );
  const maxEndpoints = Math.max(1000, Number(passthrough.HOOKLINE_MAX_ENDPOINTS_PER_TENANT ?? 0) || 0);
  return {
    HOOKLINE_LOG_LEVEL: 'warn',
    ...passthrough,
    HOOKLINE_MAX_ENDPOINTS_PER_TENANT: String(maxEndpoints),
    HOOKLINE_ALLOW_HTTP: 'true',
    HOOKLINE_ALLOWED_NETWORKS: '127.0.0.1/32,::1/128',
    DATABASE_URL: databaseUrl,
    HOOKLINE_ADMIN_KEY: keys.admin,
    HOOKLINE_ENCRYPTION_KEY: keys.encryption,
  };
}

/** Counts recorded attempts (the worker's onAttempt fires after recordAttempt commits). */
export interface AttemptCounter {
  total: number;
  byOutcome: Record<Outcome['kind'], number>;
  firstAt: number | null;
  lastAt: number | null;
  /** Resolves once `total` reaches `count`. */
  waitFor(count: number, timeoutMs: number): Promise<void>;
}

export interface RunningWorker {
  worker: Worker;
  attempts: AttemptCounter;
  stop(): Promise<void>;
}

export interface BenchHookline {
  config: ReadyConfig;
  /** The env both runtimes were started with (a `hookline worker` child gets the same). */
  env: Record<string, string>;
  /** Deps of the worker process (startRuntime's pool of 10, as `hookline worker`). */
  workerRuntime: Runtime;
  /** Deps of the sending side (its own pool of 10, as `hookline serve`). */
  apiRuntime: Runtime;
  startWorker(): Promise<RunningWorker>;
  close(): Promise<void>;
}

export async function startHookline(database: FreshDatabase): Promise<BenchHookline> {
  const keys = { admin: `hk_admin_${randomBytes(24).toString('base64url')}`, encryption: randomBytes(32).toString('base64') };
  const env = productEnv(database.url, keys);
  const workerRuntime = await startRuntime({ env, migrate: false });
  const apiRuntime = await startRuntime({ env, migrate: false });
  const workers = new Set<RunningWorker>();
  return {
    config: workerRuntime.deps.config,
    env,
    workerRuntime,
    apiRuntime,
    async startWorker() {
      const attempts = createAttemptCounter();
      const worker = await workerRuntime.app.startWorker({ onAttempt: attempts.record });
      let stopped: Promise<void> | undefined;
      const running: RunningWorker = {
        worker,
        attempts,
        stop: () => {
          stopped ??= worker.stop().finally(() => workers.delete(running));
          return stopped;
        },
      };
      workers.add(running);
      return running;
    },
    async close() {
      await Promise.all([...workers].map((w) => w.stop()));
      await apiRuntime.close();
      await workerRuntime.close();
    },
  };
}

function createAttemptCounter(): AttemptCounter & { record: (info: { outcome: Outcome['kind'] }) => void } {
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  const counter = {
    total: 0,
    byOutcome: { succeeded: 0, retry: 0, failed: 0 } as Record<Outcome['kind'], number>,
    firstAt: null as number | null,
    lastAt: null as number | null,
    record(info: { outcome: Outcome['kind'] }) {
      const at = now();
      counter.total++;
      counter.byOutcome[info.outcome]++;
      counter.firstAt ??= at;
      counter.lastAt = at;
      for (let i = waiters.length - 1; i >= 0; i--) {
        if (counter.total >= waiters[i]!.count) waiters.splice(i, 1)[0]!.resolve();
      }
    },
    waitFor(count: number, timeoutMs: number): Promise<void> {
      if (counter.total >= count) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          const index = waiters.indexOf(waiter);
          if (index >= 0) waiters.splice(index, 1);
          reject(new Error(`timed out after ${timeoutMs} ms: ${counter.total} of ${count} attempts recorded`));
        }, timeoutMs);
        const waiter = {
          count,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        };
        waiters.push(waiter);
      });
    },
  };
  return counter;
}

export interface BenchTenant {
  id: string;
  endpointIds: string[];
}

/**
 * Registers the bench event type, then `tenants` tenants with `endpointsPerTenant` endpoints each
 * through the product's services; `urlFor(tenantIndex, endpointIndex)` gives each endpoint's URL.
 */
export async function createTenants(
  hookline: BenchHookline,
  spec: { label: string; tenants: number; endpointsPerTenant: number; urlFor: (tenant: number, endpoint: number) => string },
): Promise<BenchTenant[]> {
  const deps = hookline.apiRuntime.deps;
  await upsertEventType(deps, { name: BENCH_EVENT_TYPE, description: 'benchmark traffic' });
  const out: BenchTenant[] = [];
  for (let t = 0; t < spec.tenants; t++) {
    const { tenant } = await createTenant(deps, { name: `${spec.label} ${t}` });
    const endpointIds: string[] = [];
    for (let e = 0; e < spec.endpointsPerTenant; e++) {
      const { endpoint } = await createEndpoint(deps, tenant.id, { url: spec.urlFor(t, e) });
      endpointIds.push(endpoint.id);
    }
    out.push({ id: tenant.id, endpointIds });
  }
  return out;
}

/** A realistic small webhook body (~300 bytes serialized). */
export function benchPayload(n: number): Record<string, unknown> {
  return {
    object: 'job',
    id: `job_${n.toString(36).padStart(8, '0')}`,
    status: 'completed',
    sequence: n,
    result: { url: `https://cdn.example.com/renders/${n}.mp4`, durationSeconds: 42.5, width: 1920, height: 1080 },
    metadata: { customer: 'bench', region: 'eu-west-1', attempt: 1 },
    createdAt: '2025-01-01T00:00:00.000Z',
  };
}
