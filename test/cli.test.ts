// `hookline admin …` as operators run it: a child process (`node server/bin/hookline.js`) against a
// live API, connected through HOOKLINE_URL / HOOKLINE_API_KEY, flags, or the quickstart's key file.
// JSON output for scripts, tables for people, one-line errors and exit code 1 on failure, --help.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openHeaderValues } from '../server/endpoints/header-secrets.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { eventually, startReceiver, type Receiver } from './helpers/receiver.js';

const bin = fileURLToPath(new URL('../server/bin/hookline.js', import.meta.url));
/** Each command is a fresh process (about 0.3 s through tsx); a test runs several. */
const SLOW = 180_000;

let app: TestApp;
/** A directory without .hookline/, so no key is picked up unless a test gives one. */
let cwd: string;

beforeAll(async () => {
  // With a worker, so deliveries happen; one attempt each (no retries), so a failure is final at once.
  app = await startTestApp({ env: { HOOKLINE_RETRY_SCHEDULE: '' }, worker: true });
  cwd = mkdtempSync(join(tmpdir(), 'hookline-cli-'));
});
afterAll(async () => {
  await app?.close();
  if (cwd) rmSync(cwd, { recursive: true, force: true });
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The environment without any HOOKLINE_* variable of the test run itself. */
function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith('HOOKLINE_')) env[key] = value;
  }
  return env;
}

function hookline(args: string[], options: { env?: Record<string, string>; cwd?: string; admin?: boolean } = {}): Promise<Run> {
  const connection = options.admin === false ? {} : { HOOKLINE_URL: app.url, HOOKLINE_API_KEY: app.config.adminKey };
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { cwd: options.cwd ?? cwd, env: { ...cleanEnv(), ...connection, ...options.env }, timeout: 60_000 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') reject(error);
        else resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
      },
    );
  });
}

/** Runs an admin command with --json and returns the parsed result; fails on a non-zero exit. */
async function json<T = any>(args: string[], options?: Parameters<typeof hookline>[1]): Promise<T> {
  const run = await hookline([...args, '--json'], options);
  expect(run.stderr, `stderr of hookline ${args.join(' ')}`).toBe('');
  expect(run.code).toBe(0);
  return JSON.parse(run.stdout) as T;
}

/** The failure line of a command that must fail: exit 1, nothing on stdout, exactly one line on stderr. */
async function failure(args: string[], options?: Parameters<typeof hookline>[1]): Promise<string> {
  const run = await hookline(args, options);
  expect(run.code).toBe(1);
  expect(run.stdout).toBe('');
  expect(run.stderr.endsWith('\n')).toBe(true);
  expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
  return run.stderr.trimEnd();
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('help', () => {
  it('--help works on every level and lists the connection options on leaves', async () => {
    const commands = [
      [],
      ['admin'],
      ['admin', 'tenants'],
      ['admin', 'tenants', 'create'],
      ['admin', 'tenants', 'list'],
      ['admin', 'tenants', 'get'],
      ['admin', 'tenants', 'rotate-key'],
      ['admin', 'tenants', 'update'],
      ['admin', 'tenants', 'delete'],
      ['admin', 'event-types', 'upsert'],
      ['admin', 'endpoints', 'create'],
      ['admin', 'endpoints', 'update'],
      ['admin', 'endpoints', 'rotate-secret'],
      ['admin', 'endpoints', 'send-test'],
      ['admin', 'endpoints', 'recover'],
      ['admin', 'events', 'send'],
      ['admin', 'events', 'list'],
      ['admin', 'events', 'get'],
      ['admin', 'deliveries'],
      ['admin', 'deliveries', 'list'],
      ['admin', 'deliveries', 'get'],
      ['admin', 'deliveries', 'retry'],
    ];
    // A few at a time: two cores starting dozens of CLI processes at once would only time out.
    const runs: Awaited<ReturnType<typeof hookline>>[] = [];
    for (let i = 0; i < commands.length; i += 4) {
      runs.push(...(await Promise.all(commands.slice(i, i + 4).map((args) => hookline([...args, '--help'], { admin: false })))));
    }
    runs.forEach((run, i) => {
      const args = commands[i]!;
      expect(run.code, args.join(' ')).toBe(0);
      expect(run.stdout).toContain(`Usage: hookline ${args.join(' ')}`.trimEnd());
      if (args.length === 3) {
        for (const flag of ['--json', '--url <url>', '--api-key <key>']) expect(run.stdout).toContain(flag);
      }
    });
    expect(runs[0]!.stdout).toMatch(/admin\b/);
    expect(runs[1]!.stdout).toMatch(/tenants[\s\S]*event-types[\s\S]*endpoints[\s\S]*events[\s\S]*deliveries/);
  }, 180_000);
});

describe('tenants', () => {
  it(
    'create, get, list, rotate-key and delete, as JSON',
    async () => {
      const created = await json(['admin', 'tenants', 'create', '--name', 'Acme Video', '--external-id', 'acme-cli']);
      expect(created.tenant).toMatchObject({ name: 'Acme Video', externalId: 'acme-cli', metadata: {} });
      expect(created.apiKey).toMatch(/^hk_/);
      expect(created.signingSecret).toMatch(/^whsec_/);
      const id: string = created.tenant.id;
      expect((await app.client(created.apiKey).tenants.me.query()).id).toBe(id);

      expect(await json(['admin', 'tenants', 'get', id])).toEqual(created.tenant);

      await json(['admin', 'tenants', 'create', '--name', 'Second']);
      const all = await json(['admin', 'tenants', 'list']);
      expect(all.items.map((t: { id: string }) => t.id)).toContain(id);
      expect(all.nextCursor).toBeNull();
      const first = await json(['admin', 'tenants', 'list', '--limit', '1']);
      expect(first.items).toHaveLength(1);
      expect(first.nextCursor).toBe(first.items[0].id);
      const rest = await json(['admin', 'tenants', 'list', '--cursor', first.nextCursor]);
      expect(rest.items.length).toBe(all.items.length - 1);
      const byExternal = await json(['admin', 'tenants', 'list', '--external-id', 'acme-cli']);
      expect(byExternal.items.map((t: { id: string }) => t.id)).toEqual([id]);

      const rotated = await json(['admin', 'tenants', 'rotate-key', id]);
      expect(rotated.apiKey).toMatch(/^hk_/);
      expect(rotated.apiKey).not.toBe(created.apiKey);
      expect((await app.client(rotated.apiKey).tenants.me.query()).id).toBe(id);
      await expect(app.client(created.apiKey).tenants.me.query()).rejects.toThrow();

      expect(await json(['admin', 'tenants', 'delete', id])).toEqual({ deleted: true });
      expect(await failure(['admin', 'tenants', 'get', id])).toBe('hookline: NOT_FOUND: tenant not found');
      expect(await failure(['admin', 'tenants', 'delete', id])).toBe('hookline: NOT_FOUND: tenant not found');
    },
    SLOW,
  );

  it(
    'prints tables and fields for people',
    async () => {
      const create = await hookline(['admin', 'tenants', 'create', '--name', 'Human Co']);
      expect(create.code).toBe(0);
      expect(create.stdout).toMatch(/^id\s+tnt_\w+$/m);
      expect(create.stdout).toMatch(/^name\s+Human Co$/m);
      expect(create.stdout).toMatch(/^api key\s+hk_\S+$/m);
      expect(create.stdout).toMatch(/^signing secret\s+whsec_\S+$/m);
      const id = /^id\s+(tnt_\w+)$/m.exec(create.stdout)![1]!;

      const list = await hookline(['admin', 'tenants', 'list']);
      expect(list.code).toBe(0);
      const lines = list.stdout.trimEnd().split('\n');
      expect(lines[0]).toMatch(/^ID\s+NAME\s+EXTERNAL ID\s+CREATED$/);
      expect(lines.some((line) => line.startsWith(id) && line.includes('Human Co'))).toBe(true);

      const get = await hookline(['admin', 'tenants', 'get', id]);
      expect(get.stdout).toMatch(/^external id\s+-$/m);
      const rotate = await hookline(['admin', 'tenants', 'rotate-key', id]);
      expect(rotate.stdout).toMatch(/^api key\s+hk_\S+$/m);
      const remove = await hookline(['admin', 'tenants', 'delete', id]);
      expect(remove.stdout).toBe(`deleted tenant ${id}\n`);
    },
    SLOW,
  );

  it(
    'update: only what is given changes; --clear-external-id; nothing given is a usage error',
    async () => {
      const { tenant } = await app.admin.tenants.create.mutate({ name: 'Before', externalId: 'update-cli' });
      const [updated, nothing] = await Promise.all([
        json(['admin', 'tenants', 'update', tenant.id, '--name', 'After', '--metadata', '{"plan":"gold"}']),
        failure(['admin', 'tenants', 'update', tenant.id]),
      ]);
      expect(updated).toMatchObject({ id: tenant.id, name: 'After', externalId: 'update-cli', metadata: { plan: 'gold' } });
      expect(nothing).toMatch(/^hookline: nothing to update: /);

      const [cleared, badMetadata] = await Promise.all([
        hookline(['admin', 'tenants', 'update', tenant.id, '--clear-external-id']),
        failure(['admin', 'tenants', 'update', tenant.id, '--metadata', '{"plan":1}']),
      ]);
      expect(cleared.code).toBe(0);
      expect(cleared.stdout).toMatch(/^name\s+After$/m);
      expect(cleared.stdout).toMatch(/^external id\s+-$/m);
      expect(cleared.stdout).toMatch(/^metadata\s+plan=gold$/m);
      expect(badMetadata).toMatch(/^hookline: BAD_REQUEST: metadata/);
    },
    SLOW,
  );

  it('--json may also come before the subcommand', async () => {
    const run = await hookline(['admin', '--json', 'tenants', 'list', '--limit', '1']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toHaveProperty('items');
  });
});

describe('failures: one line, exit code 1', () => {
  it(
    'API errors name the tRPC code',
    async () => {
      const { apiKey } = await app.admin.tenants.create.mutate({ name: 'Tenant with a key' });
      await app.admin.tenants.create.mutate({ name: 'One', externalId: 'dup-cli' });
      const [wrongKey, tenantKey, badId, longName, duplicate] = await Promise.all([
        failure(['admin', 'tenants', 'list'], { env: { HOOKLINE_API_KEY: `hk_wrongwrong_${'x'.repeat(43)}` } }),
        failure(['admin', 'tenants', 'list'], { env: { HOOKLINE_API_KEY: apiKey } }),
        failure(['admin', 'tenants', 'get', "1' or 1=1"]),
        failure(['admin', 'tenants', 'create', '--name', 'x'.repeat(201)]),
        failure(['admin', 'tenants', 'create', '--name', 'Two', '--external-id', 'dup-cli']),
      ]);
      expect(wrongKey).toMatch(/^hookline: UNAUTHORIZED: \S/);
      expect(tenantKey).toBe('hookline: FORBIDDEN: this procedure needs the admin key');
      // Validation errors: the zod issues, on one line.
      expect(badId).toMatch(/^hookline: BAD_REQUEST: tenantId: /);
      expect(longName).toMatch(/^hookline: BAD_REQUEST: name: /);
      expect(duplicate).toMatch(/^hookline: CONFLICT: .*dup-cli/);
    },
    SLOW,
  );

  it('an unreachable server is a NETWORK_ERROR naming the address', async () => {
    const port = await closedPort();
    expect(await failure(['admin', 'tenants', 'list'], { env: { HOOKLINE_URL: `http://127.0.0.1:${port}` } })).toBe(
      `hookline: NETWORK_ERROR: cannot reach http://127.0.0.1:${port}/trpc: connect ECONNREFUSED 127.0.0.1:${port}`,
    );
  });

  it(
    'usage problems: no key, a bad URL, a missing argument',
    async () => {
      const [noKey, badUrl, missing, badLimit] = await Promise.all([
        failure(['admin', 'tenants', 'list'], { admin: false }),
        failure(['admin', 'tenants', 'list'], { env: { HOOKLINE_URL: 'ftp://example.com' } }),
        hookline(['admin', 'tenants', 'get']),
        hookline(['admin', 'tenants', 'list', '--limit', 'many']),
      ]);
      expect(noKey).toMatch(/^hookline: no API key: /);
      expect(badUrl).toMatch(/^hookline: HOOKLINE_URL must be an http/);
      expect(missing.code).toBe(1);
      expect(missing.stdout).toBe('');
      expect(missing.stderr).toContain("error: missing required argument 'id'");
      expect(badLimit.code).toBe(1);
      expect(badLimit.stderr).toContain('not a whole number');
    },
    SLOW,
  );
});

describe('connection', () => {
  it('flags win over the environment', async () => {
    const port = await closedPort();
    const page = await json(['admin', 'tenants', 'list', '--url', app.url, '--api-key', app.config.adminKey], {
      env: { HOOKLINE_URL: `http://127.0.0.1:${port}`, HOOKLINE_API_KEY: 'hk_not_this_one' },
    });
    expect(page).toHaveProperty('items');
  });

  it(
    "without a key, uses the quickstart's .hookline/admin-key in the working directory",
    async () => {
      const project = mkdtempSync(join(tmpdir(), 'hookline-cli-project-'));
      try {
        mkdirSync(join(project, '.hookline'));
        writeFileSync(join(project, '.hookline', 'admin-key'), `${app.config.adminKey}\n`);
        const page = await json(['admin', 'tenants', 'list'], { admin: false, cwd: project, env: { HOOKLINE_URL: app.url } });
        expect(page).toHaveProperty('items');
        // An explicit key still wins over the file.
        expect(
          await failure(['admin', 'tenants', 'list'], {
            admin: false,
            cwd: project,
            env: { HOOKLINE_URL: app.url, HOOKLINE_API_KEY: 'hk_not_this_one' },
          }),
        ).toMatch(/^hookline: UNAUTHORIZED: /);
      } finally {
        rmSync(project, { recursive: true, force: true });
      }
    },
    SLOW,
  );
});

describe('event types, endpoints, events', () => {
  it(
    'event-types upsert, list, archive',
    async () => {
      const upserted = await json([
        'admin',
        'event-types',
        'upsert',
        'video.rendered',
        '--description',
        'a video finished rendering',
        '--schema',
        '{"type":"object"}',
      ]);
      expect(upserted).toMatchObject({ name: 'video.rendered', description: 'a video finished rendering', archived: false });
      expect(upserted.schema).toEqual({ type: 'object' });

      const listed = await json(['admin', 'event-types', 'list']);
      expect(listed.items.map((t: { name: string }) => t.name)).toContain('video.rendered');
      const table = await hookline(['admin', 'event-types', 'list']);
      expect(table.stdout).toMatch(/^NAME\s+ARCHIVED\s+SCHEMA\s+DESCRIPTION$/m);
      expect(table.stdout).toMatch(/^video\.rendered\s+no\s+yes\s+a video finished rendering$/m);

      expect(await json(['admin', 'event-types', 'archive', 'video.rendered'])).toMatchObject({ archived: true });
      expect((await json(['admin', 'event-types', 'list'])).items.map((t: { name: string }) => t.name)).not.toContain('video.rendered');
      const withArchived = await json(['admin', 'event-types', 'list', '--include-archived']);
      expect(withArchived.items.map((t: { name: string }) => t.name)).toContain('video.rendered');

      expect(await failure(['admin', 'event-types', 'upsert', 'x.y', '--schema', '{not json'])).toMatch(
        /^hookline: --schema is not valid JSON: /,
      );
    },
    SLOW,
  );

  it(
    'endpoints create, list, get, delete and events send, for a named tenant',
    async () => {
      const { tenant } = await app.admin.tenants.create.mutate({ name: 'Endpoint Owner' });
      await json(['admin', 'event-types', 'upsert', 'job.completed']);

      const created = await json([
        'admin',
        'endpoints',
        'create',
        'http://127.0.0.1:65000/hooks',
        '--tenant',
        tenant.id,
        '--description',
        'render farm',
        '--event-type',
        'job.completed',
        '--header',
        'X-Team: video',
      ]);
      expect(created.endpoint).toMatchObject({
        tenantId: tenant.id,
        url: 'http://127.0.0.1:65000/hooks',
        description: 'render farm',
        eventTypes: ['job.completed'],
      });
      // Custom header values are shown masked.
      expect(Object.entries(created.endpoint.headers)).toEqual([[expect.stringMatching(/^x-team$/i), '••••']]);
      expect(created.secret).toMatch(/^whsec_/);
      const endpointId: string = created.endpoint.id;

      const listed = await json(['admin', 'endpoints', 'list', '--tenant', tenant.id]);
      expect(listed.items.map((e: { id: string }) => e.id)).toEqual([endpointId]);
      expect(await json(['admin', 'endpoints', 'get', endpointId, '--tenant', tenant.id])).toEqual(created.endpoint);

      const dataFile = join(cwd, 'event.json');
      writeFileSync(dataFile, JSON.stringify({ jobId: 'j-1', ok: true }));
      const sent = await json(['admin', 'events', 'send', '--tenant', tenant.id, '--type', 'job.completed', '--data', `@${dataFile}`]);
      expect(sent.event).toMatchObject({ tenantId: tenant.id, type: 'job.completed', payload: { jobId: 'j-1', ok: true } });
      expect(sent.deliveries.map((d: { endpointId: string }) => d.endpointId)).toEqual([endpointId]);
      expect(await failure(['admin', 'events', 'send', '--tenant', tenant.id, '--type', 'job.completed', '--data', '[1]'])).toBe(
        'hookline: --data must be a JSON object',
      );

      // --signing ed25519: the secret is the public key, shown by get too (in both output forms).
      const asymmetric = await json([
        'admin',
        'endpoints',
        'create',
        'http://127.0.0.1:65000/ed',
        '--tenant',
        tenant.id,
        '--signing',
        'ed25519',
      ]);
      expect(asymmetric.secret).toMatch(/^whpk_[A-Za-z0-9+/]{43}=$/);
      expect(asymmetric.endpoint).toMatchObject({ signing: 'ed25519', publicKey: asymmetric.secret });
      const shown = await hookline(['admin', 'endpoints', 'get', asymmetric.endpoint.id, '--tenant', tenant.id]);
      expect(shown.stdout).toContain(`ed25519, public key ${asymmetric.secret}`);
      const refused = await hookline([
        'admin',
        'endpoints',
        'create',
        'http://127.0.0.1:65000/x',
        '--tenant',
        tenant.id,
        '--signing',
        'rsa',
      ]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain("option '--signing <kind>' argument 'rsa' is invalid. Allowed choices are hmac, ed25519.");
      await json(['admin', 'endpoints', 'delete', asymmetric.endpoint.id, '--tenant', tenant.id]);

      expect(await json(['admin', 'endpoints', 'delete', endpointId, '--tenant', tenant.id])).toEqual({ deleted: true });
      expect(await failure(['admin', 'endpoints', 'get', endpointId, '--tenant', tenant.id])).toMatch(/^hookline: NOT_FOUND: /);
      const noTenant = await hookline(['admin', 'endpoints', 'list']);
      expect(noTenant.code).toBe(1);
      expect(noTenant.stderr).toContain("required option '--tenant <id>' not specified");
    },
    SLOW,
  );

  it('endpoint payload filters: --filter at create and update, --clear-filter, a bad filter named', async () => {
    const { tenant } = await app.admin.tenants.create.mutate({ name: 'Filter Setter' });
    const filterFile = join(cwd, 'filter.json');
    writeFileSync(filterFile, JSON.stringify({ 'job.status': { $in: ['failed', 'cancelled'] } }));
    const created = await json([
      'admin',
      'endpoints',
      'create',
      'https://hooks.example.com/f',
      '--tenant',
      tenant.id,
      '--filter',
      `@${filterFile}`,
    ]);
    expect(created.endpoint.filter).toEqual({ 'job.status': { $in: ['failed', 'cancelled'] } });
    const id: string = created.endpoint.id;

    const shown = await hookline(['admin', 'endpoints', 'get', id, '--tenant', tenant.id]);
    expect(shown.stdout).toContain('{"job.status":{"$in":["failed","cancelled"]}}');

    const updated = await json(['admin', 'endpoints', 'update', id, '--tenant', tenant.id, '--filter', '{"plan": "pro"}']);
    expect(updated.filter).toEqual({ plan: 'pro' });
    const cleared = await json(['admin', 'endpoints', 'update', id, '--tenant', tenant.id, '--clear-filter']);
    expect(cleared.filter).toBeNull();

    const line = await failure(['admin', 'endpoints', 'update', id, '--tenant', tenant.id, '--filter', '{"n": {"$gt": "5"}}']);
    expect(line).toContain('BAD_REQUEST');
    expect(line).toContain('filter.n.$gt: must be a number');
  });

  it('endpoint rate limits: --rate-limit at create and update, --clear-rate-limit, an out-of-range limit refused', async () => {
    const { tenant } = await app.admin.tenants.create.mutate({ name: 'Rate Setter' });
    const created = await json([
      'admin',
      'endpoints',
      'create',
      'https://hooks.example.com/r',
      '--tenant',
      tenant.id,
      '--rate-limit',
      '25',
    ]);
    expect(created.endpoint.rateLimit).toBe(25);
    const id: string = created.endpoint.id;
    const shown = await hookline(['admin', 'endpoints', 'get', id, '--tenant', tenant.id]);
    expect(shown.stdout).toContain('25 attempts per second');
    expect((await json(['admin', 'endpoints', 'update', id, '--tenant', tenant.id, '--rate-limit', '3'])).rateLimit).toBe(3);
    expect((await json(['admin', 'endpoints', 'update', id, '--tenant', tenant.id, '--clear-rate-limit'])).rateLimit).toBeNull();
    const line = await failure(['admin', 'endpoints', 'update', id, '--tenant', tenant.id, '--rate-limit', '10001']);
    expect(line).toContain('BAD_REQUEST');
    expect(line).toContain('rateLimit must be at most 10000');
    const notNumber = await hookline(['admin', 'endpoints', 'update', id, '--tenant', tenant.id, '--rate-limit', 'fast']);
    expect(notNumber.code).toBe(1);
    expect(notNumber.stderr).toContain('not a whole number');
  });

  it('endpoint ordering: --ordering fifo at create, --ordering none at update, anything else refused', async () => {
    const { tenant } = await app.admin.tenants.create.mutate({ name: 'Line Keeper' });
    const created = await json([
      'admin',
      'endpoints',
      'create',
      'https://hooks.example.com/f',
      '--tenant',
      tenant.id,
      '--ordering',
      'fifo',
    ]);
    expect(created.endpoint.ordering).toBe('fifo');
    const id: string = created.endpoint.id;
    const shown = await hookline(['admin', 'endpoints', 'get', id, '--tenant', tenant.id]);
    expect(shown.stdout).toContain('fifo (one at a time, in event order)');
    expect((await json(['admin', 'endpoints', 'update', id, '--tenant', tenant.id, '--ordering', 'none'])).ordering).toBe('none');
    const bad = await hookline(['admin', 'endpoints', 'update', id, '--tenant', tenant.id, '--ordering', 'lifo']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('Allowed choices are none, fifo');
  });

  it(
    'endpoint headers: shown masked; update --keep-header keeps a stored credential without retyping it',
    async () => {
      const { tenant } = await app.admin.tenants.create.mutate({ name: 'Header Keeper' });
      const token = 'Bearer sk_live_cli_0123456789abcd1234';
      const { endpoint } = await app.admin.endpoints.create.mutate({
        tenantId: tenant.id,
        url: 'https://hooks.example.com/cli',
        headers: { Authorization: token, 'X-Team': 'video' },
      });
      const shown = await hookline(['admin', 'endpoints', 'get', endpoint.id, '--tenant', tenant.id]);
      expect(shown.code).toBe(0);
      // (jsonb keeps its own key order.)
      expect(shown.stdout).toMatch(/^headers\s+(authorization=Bearer ••••1234, x-team=••••|x-team=••••, authorization=Bearer ••••1234)$/m);
      expect(shown.stdout).not.toContain('sk_live');

      const [updated, missing] = await Promise.all([
        json([
          'admin',
          'endpoints',
          'update',
          endpoint.id,
          '--tenant',
          tenant.id,
          '--keep-header',
          'Authorization',
          '--header',
          'X-Team: audio',
        ]),
        failure(['admin', 'endpoints', 'update', endpoint.id, '--tenant', tenant.id, '--keep-header', 'x-missing']),
      ]);
      expect(updated.headers).toEqual({ authorization: 'Bearer ••••1234', 'x-team': '••••' });
      expect(missing).toMatch(/^hookline: --keep-header x-missing: the endpoint has no such header \(it has: /);
      const [row] = await app.deps.sql<
        Array<{ headers: string }>
      >`select headers::text as headers from endpoints where id = ${endpoint.id}`;
      const stored = openHeaderValues(JSON.parse(row!.headers) as Record<string, string>, (sealed) => app.deps.secretBox.open(sealed));
      expect(stored).toEqual({ authorization: token, 'x-team': 'audio' });
    },
    SLOW,
  );
});

describe('deliveries, events list/get and endpoint operations, with a worker', () => {
  let receiver: Receiver;
  /** While true the receiver answers 500; else 204. */
  let failing = true;
  let tenantId: string;
  let endpointId: string;
  /** The first event's one delivery, failed (its one attempt got a 500). */
  let eventId: string;
  let deliveryId: string;

  const deliveryStatus = async (id: string) => (await app.admin.deliveries.get.query({ tenantId, deliveryId: id })).status;

  beforeAll(async () => {
    receiver = await startReceiver(() => (failing ? { status: 500, body: 'down for maintenance' } : { status: 204 }));
    ({
      tenant: { id: tenantId },
    } = await app.admin.tenants.create.mutate({ name: 'Delivery Watcher' }));
    await app.admin.eventTypes.upsert.mutate({ name: 'render.finished' });
    const { endpoint } = await app.admin.endpoints.create.mutate({ tenantId, url: `${receiver.url}/hooks` });
    endpointId = endpoint.id;
    const sent = await app.admin.events.send.mutate({ tenantId, type: 'render.finished', payload: { renderId: 'r-1' } });
    eventId = sent.event.id;
    deliveryId = sent.deliveries[0]!.id;
    await eventually(async () => (await deliveryStatus(deliveryId)) === 'failed');
  });
  afterAll(async () => {
    await receiver?.close();
  });

  it(
    'deliveries list (filters), get (attempts), retry after a failure, as JSON and as tables',
    async () => {
      const [all, filtered, none, got, table, fields, foreignEvent] = await Promise.all([
        json(['admin', 'deliveries', 'list', '--tenant', tenantId]),
        json([
          'admin',
          'deliveries',
          'list',
          '--tenant',
          tenantId,
          '--event',
          eventId,
          '--endpoint',
          endpointId,
          '--status',
          'failed',
          '--limit',
          '1',
        ]),
        json(['admin', 'deliveries', 'list', '--tenant', tenantId, '--status', 'succeeded']),
        json(['admin', 'deliveries', 'get', deliveryId, '--tenant', tenantId]),
        hookline(['admin', 'deliveries', 'list', '--tenant', tenantId]),
        hookline(['admin', 'deliveries', 'get', deliveryId, '--tenant', tenantId]),
        failure(['admin', 'deliveries', 'list', '--tenant', tenantId, '--event', 'evt_00000000000000000000000000']),
      ]);
      expect(all).toEqual({ items: [expect.objectContaining({ id: deliveryId, status: 'failed' })], nextCursor: null });
      expect(filtered.items.map((d: { id: string }) => d.id)).toEqual([deliveryId]);
      expect(none).toEqual({ items: [], nextCursor: null });
      expect(got).toMatchObject({ id: deliveryId, eventId, endpointId, status: 'failed', attemptCount: 1 });
      expect(got.attempts).toEqual([expect.objectContaining({ number: 1, statusCode: 500, responseBody: 'down for maintenance' })]);
      expect(table.stdout).toMatch(/^DELIVERY\s+EVENT\s+ENDPOINT\s+STATUS\s+ATTEMPTS\s+NEXT ATTEMPT\s+LAST ERROR\s+TYPE$/m);
      expect(table.stdout).toMatch(new RegExp(`^${deliveryId}\\s+${eventId}\\s+${endpointId}\\s+failed\\s+1\\s+-\\s+\\S`, 'm'));
      expect(fields.stdout).toMatch(/^status\s+failed$/m);
      expect(fields.stdout).toMatch(/^#\s+STARTED\s+HTTP\s+MS\s+ERROR$/m);
      expect(fields.stdout).toMatch(/^1\s+\d{4}-\S+\s+500\s+\d+\s+-$/m);
      expect(foreignEvent).toBe('hookline: NOT_FOUND: event not found');

      failing = false;
      const retried = await json(['admin', 'deliveries', 'retry', deliveryId, '--tenant', tenantId]);
      expect(retried).toMatchObject({ id: deliveryId, status: 'pending', attemptCount: 1 });
      await receiver.waitFor(2);
      await eventually(async () => (await deliveryStatus(deliveryId)) === 'succeeded');

      const [after, unknown] = await Promise.all([
        json(['admin', 'deliveries', 'get', deliveryId, '--tenant', tenantId]),
        failure(['admin', 'deliveries', 'retry', 'dlv_00000000000000000000000000', '--tenant', tenantId]),
      ]);
      expect(after).toMatchObject({ status: 'succeeded', attemptCount: 2, lastError: null });
      expect(after.attempts.map((a: { number: number; statusCode: number }) => [a.number, a.statusCode])).toEqual([
        [1, 500],
        [2, 204],
      ]);
      expect(unknown).toBe('hookline: NOT_FOUND: delivery not found');
    },
    SLOW,
  );

  it(
    'endpoints send-test, recover, update and rotate-secret',
    async () => {
      // A second failed delivery, for recover to send again.
      failing = true;
      const second = await app.admin.events.send.mutate({ tenantId, type: 'render.finished', payload: { renderId: 'r-2' } });
      await eventually(async () => (await deliveryStatus(second.deliveries[0]!.id)) === 'failed');
      failing = false;

      const [test, recovered, badSince] = await Promise.all([
        json(['admin', 'endpoints', 'send-test', endpointId, '--tenant', tenantId]),
        json(['admin', 'endpoints', 'recover', endpointId, '--tenant', tenantId, '--since', '1h']),
        hookline(['admin', 'endpoints', 'recover', endpointId, '--tenant', tenantId, '--since', 'last week']),
      ]);
      expect(test.eventId).toMatch(/^evt_/);
      expect(recovered).toEqual({ requeued: 1 });
      expect(badSince.code).toBe(1);
      expect(badSince.stderr).toContain('expected an ISO-8601 time');
      await eventually(async () => (await deliveryStatus(second.deliveries[0]!.id)) === 'succeeded');
      const testEvent = await eventually(async () => {
        const event = await app.admin.events.get.query({ tenantId, eventId: test.eventId });
        return event.deliveries[0]?.status === 'succeeded' && event;
      });
      expect(testEvent.type).toBe('hookline.test');

      const [updated, rotated, conflicting, nothing] = await Promise.all([
        json([
          'admin',
          'endpoints',
          'update',
          endpointId,
          '--tenant',
          tenantId,
          '--description',
          'renders',
          '--event-type',
          'render.finished',
          '--header',
          'X-Team: video',
          '--disable',
        ]),
        json(['admin', 'endpoints', 'rotate-secret', endpointId, '--tenant', tenantId, '--grace', '1h']),
        hookline(['admin', 'endpoints', 'update', endpointId, '--tenant', tenantId, '--enable', '--disable']),
        failure(['admin', 'endpoints', 'update', endpointId, '--tenant', tenantId]),
      ]);
      expect(updated).toMatchObject({ id: endpointId, description: 'renders', eventTypes: ['render.finished'], disabled: true });
      expect(Object.values(updated.headers)).toEqual(['••••']);
      expect(rotated.secret).toMatch(/^whsec_/);
      expect(conflicting.code).toBe(1);
      expect(conflicting.stderr).toContain("option '--enable' cannot be used with option '--disable'");
      expect(nothing).toMatch(/^hookline: nothing to update: /);

      // Disabled: no test event, no recovery.
      const [disabledTest, disabledRecover] = await Promise.all([
        failure(['admin', 'endpoints', 'send-test', endpointId, '--tenant', tenantId]),
        failure(['admin', 'endpoints', 'recover', endpointId, '--tenant', tenantId, '--since', '10m']),
      ]);
      expect(disabledTest).toMatch(/^hookline: BAD_REQUEST: endpoint ep_\w+ is disabled/);
      expect(disabledRecover).toMatch(/^hookline: BAD_REQUEST: endpoint ep_\w+ is disabled/);

      const enabled = await hookline([
        'admin',
        'endpoints',
        'update',
        endpointId,
        '--tenant',
        tenantId,
        '--endpoint-url',
        `${receiver.url}/v2`,
        '--clear-description',
        '--all-event-types',
        '--clear-headers',
        '--enable',
      ]);
      expect(enabled.code).toBe(0);
      expect(enabled.stdout).toMatch(new RegExp(`^url\\s+${receiver.url}/v2$`, 'm'));
      expect(enabled.stdout).toMatch(/^description\s+-$/m);
      expect(enabled.stdout).toMatch(/^event types\s+all$/m);
      expect(enabled.stdout).toMatch(/^headers\s+-$/m);
      expect(enabled.stdout).toMatch(/^disabled\s+no$/m);
    },
    SLOW,
  );

  it(
    'events list (filters, held back a second) and get (with its deliveries), as JSON and as tables',
    async () => {
      // events.list holds back the last second's events.
      await eventually(async () => (await app.admin.events.list.query({ tenantId })).items.length === 3);
      const future = new Date(Date.now() + 3_600_000).toISOString();
      const [all, byType, none, got, table, fields, badId] = await Promise.all([
        json(['admin', 'events', 'list', '--tenant', tenantId]),
        json(['admin', 'events', 'list', '--tenant', tenantId, '--type', 'render.finished', '--since', '1h', '--limit', '1']),
        json(['admin', 'events', 'list', '--tenant', tenantId, '--since', future]),
        json(['admin', 'events', 'get', eventId, '--tenant', tenantId]),
        hookline(['admin', 'events', 'list', '--tenant', tenantId, '--type', 'render.finished']),
        hookline(['admin', 'events', 'get', eventId, '--tenant', tenantId]),
        failure(['admin', 'events', 'get', 'evt_00000000000000000000000000', '--tenant', tenantId]),
      ]);
      expect(all.items.map((e: { type: string }) => e.type).sort()).toEqual(['hookline.test', 'render.finished', 'render.finished']);
      expect(byType).toEqual({ items: [expect.objectContaining({ id: eventId, payload: { renderId: 'r-1' } })], nextCursor: eventId });
      expect(none).toEqual({ items: [], nextCursor: null });
      expect(got).toMatchObject({ id: eventId, tenantId, type: 'render.finished', payload: { renderId: 'r-1' } });
      expect(got.deliveries).toEqual([expect.objectContaining({ id: deliveryId, status: 'succeeded', attemptCount: 2 })]);
      expect(table.stdout).toMatch(/^ID\s+TYPE\s+CREATED\s+TO$/m);
      expect(table.stdout).toMatch(new RegExp(`^${eventId}\\s+render\\.finished\\s+\\S+\\s+endpoints$`, 'm'));
      expect(table.stdout.trimEnd().split('\n')).toHaveLength(3);
      expect(fields.stdout).toMatch(/^payload\s+\{"renderId":"r-1"\}$/m);
      expect(fields.stdout).toMatch(/^DELIVERY\s+ENDPOINT\s+STATUS\s+ATTEMPTS/m);
      expect(fields.stdout).toMatch(new RegExp(`^${deliveryId}\\s+${endpointId}\\s+succeeded\\s+2\\s`, 'm'));
      expect(badId).toBe('hookline: NOT_FOUND: event not found');
    },
    SLOW,
  );
});
