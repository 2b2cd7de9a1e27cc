// The PostgreSQL the benchmarks run against and the machine they run on. DATABASE_URL is used when
// set; otherwise an embedded PostgreSQL in a temp directory, removed afterwards. A template
// database is migrated once per run and every scenario gets a fresh clone of it.
//
// Durability: the embedded cluster keeps fsync, synchronous_commit and full_page_writes ON (the
// production defaults), so figures include the commit cost a real deployment pays. On this
// machine an fdatasync costs ~0.15 ms, so the difference is small; BENCH_PG_DURABLE=off turns
// the three off to measure code alone.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { startEmbeddedPostgres } from '../../db/embedded.js';
import { migrateDatabase } from '../../db/migrate.js';

export interface FreshDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

export interface DatabaseServer {
  kind: 'embedded' | 'DATABASE_URL';
  serverUrl: string;
  version: string;
  /** The settings that matter for the figures, as the server reports them. */
  settings: Record<string, string>;
  durability: string;
  fresh(label: string): Promise<FreshDatabase>;
  /** With BENCH_PG_STATEMENTS=1 (embedded only): pg_stat_statements, reset per scenario. */
  statements?: {
    reset(): Promise<void>;
    top(limit: number): Promise<StatementStat[]>;
  };
  stop(): Promise<void>;
}

export interface StatementStat {
  query: string;
  calls: number;
  totalMs: number;
  meanMs: number;
  rows: number;
}

const REPORTED_SETTINGS = [
  'fsync',
  'synchronous_commit',
  'full_page_writes',
  'shared_buffers',
  'max_wal_size',
  'max_connections',
  'work_mem',
];

export async function startDatabaseServer(log: (line: string) => void): Promise<DatabaseServer> {
  let serverUrl = process.env.DATABASE_URL;
  let stopServer = async () => {};
  const kind = serverUrl ? 'DATABASE_URL' : 'embedded';
  if (!serverUrl) {
    const durable = (process.env.BENCH_PG_DURABLE ?? 'on') !== 'off';
    const statements = process.env.BENCH_PG_STATEMENTS === '1';
    const dataDir = mkdtempSync(join(os.tmpdir(), 'hookline-bench-pg-'));
    log(`starting an embedded PostgreSQL in ${dataDir}`);
    const pgLog = process.env.BENCH_PG_LOG;
    const embedded = await startEmbeddedPostgres({
      dataDir,
      // BENCH_PG_LOG=<file>: the server's log lines (with BENCH_PG_SETTINGS, e.g. auto_explain's plans).
      ...(pgLog && { log: (line: string) => appendFileSync(pgLog, `${line}\n`) }),
      settings: {
        fsync: durable ? 'on' : 'off',
        synchronous_commit: durable ? 'on' : 'off',
        full_page_writes: durable ? 'on' : 'off',
        shared_buffers: '512MB',
        // Few checkpoints while the backlog scenario writes millions of rows.
        max_wal_size: '4GB',
        max_connections: '200',
        ...(statements && { shared_preload_libraries: 'pg_stat_statements', 'pg_stat_statements.track': 'all' }),
        // For diagnosis, e.g. '{"shared_preload_libraries":"auto_explain","auto_explain.log_min_duration":"5"}'
        // with BENCH_PG_LOG.
        ...(process.env.BENCH_PG_SETTINGS && (JSON.parse(process.env.BENCH_PG_SETTINGS) as Record<string, string>)),
      },
    });
    serverUrl = embedded.url;
    stopServer = async () => {
      await embedded.stop();
      rmSync(dataDir, { recursive: true, force: true });
    };
  }

  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  const template = `hookline_bench_template_${process.pid}`;
  try {
    const [{ version }] = (await admin`select current_setting('server_version') as version`) as unknown as [{ version: string }];
    const settings: Record<string, string> = {};
    for (const name of REPORTED_SETTINGS) {
      const [row] = (await admin`select current_setting(${name}) as value`) as unknown as [{ value: string }];
      settings[name] = row.value;
    }
    await admin.unsafe(`drop database if exists "${template}" with (force)`);
    await admin.unsafe(`create database "${template}"`);
    await migrateDatabase(withDatabase(serverUrl, template));
    const durability =
      settings.fsync === 'on' && settings.synchronous_commit === 'on'
        ? 'durable (fsync on, synchronous_commit on: production-like)'
        : `NOT durable (fsync ${settings.fsync}, synchronous_commit ${settings.synchronous_commit}: measures code, not disks)`;

    const url = serverUrl;
    let statements: DatabaseServer['statements'];
    if (process.env.BENCH_PG_STATEMENTS === '1' && kind === 'embedded') {
      await admin`create extension if not exists pg_stat_statements`;
      statements = {
        async reset() {
          await admin`select pg_stat_statements_reset()`;
        },
        async top(limit) {
          const rows = await admin<StatementStat[]>`
            select regexp_replace(query, '\\s+', ' ', 'g') as query, calls::int as calls,
                   round(total_exec_time::numeric, 1)::float as "totalMs",
                   round(mean_exec_time::numeric, 3)::float as "meanMs", rows::int as rows
              from pg_stat_statements order by total_exec_time desc limit ${limit}`;
          return [...rows];
        },
      };
    }
    return {
      statements,
      kind,
      serverUrl: url,
      version,
      settings,
      durability,
      async fresh(label) {
        const name = `hookline_bench_${label.replaceAll(/[^a-z0-9]/g, '_')}_${randomBytes(3).toString('hex')}`;
        await admin.unsafe(`create database "${name}" template "${template}"`);
        return {
          url: withDatabase(url, name),
          name,
          async drop() {
            await admin.unsafe(`drop database if exists "${name}" with (force)`);
          },
        };
      },
      async stop() {
        await admin.unsafe(`drop database if exists "${template}" with (force)`).catch(() => {});
        await admin.end({ timeout: 5 });
        await stopServer();
      },
    };
  } catch (error) {
    await admin.end({ timeout: 5 }).catch(() => {});
    await stopServer();
    throw error;
  }
}

function withDatabase(serverUrl: string, name: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

export interface MachineInfo {
  /** The hookline commit measured, with a note when server/, db/ or shared/ have uncommitted changes. */
  commit: string;
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  os: string;
  node: string;
  postgres: string;
  packages: Record<string, string>;
}

const projectRoot = fileURLToPath(new URL('../..', import.meta.url));

function packageVersion(name: string): string {
  try {
    const path = join(projectRoot, 'node_modules', name, 'package.json');
    return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function measuredCommit(): string {
  try {
    const git = (...args: string[]) =>
      execFileSync('git', args, { cwd: projectRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = git('status', '--porcelain', '--', 'server', 'db', 'shared') !== '';
    return `${git('rev-parse', '--short', 'HEAD')}${dirty ? ' + uncommitted changes in server/, db/ or shared/' : ''}`;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

export function machineInfo(server: DatabaseServer): MachineInfo {
  return {
    commit: measuredCommit(),
    cpus: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    postgres: `${server.version} (${server.kind})`,
    packages: Object.fromEntries(
      ['graphile-worker', 'undici', 'postgres', 'drizzle-orm', 'tsx'].map((name) => [name, packageVersion(name)]),
    ),
  };
}
