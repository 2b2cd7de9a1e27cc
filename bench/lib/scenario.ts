// What a scenario is, and what the run shares between scenarios (the database server, the
// machine description and the ceilings measured first).
import type { DatabaseServer, MachineInfo } from './environment.js';
import type { BenchHookline } from './hookline.js';
import type { ScenarioResult } from './report.js';
import { describeWorkerSettings } from '../../server/worker/settings.js';

export interface Ceilings {
  /** graphile-worker no-op jobs/s with hookline's worker settings. */
  jobsPerSecond: number;
  /** POST/s through hookline's HTTP client to the bench receiver. */
  postsPerSecond: number;
  /** 1 / (1/jobs + 1/posts): both costs paid once per delivery, one after the other. */
  combinedPerSecond: number;
}

export interface BenchContext {
  server: DatabaseServer;
  machine: MachineInfo;
  /** Set once the ceilings scenario has run in this process. */
  ceilings?: Ceilings;
  log(line: string): void;
}

export interface Scenario {
  name: string;
  title: string;
  /** Runs `ceilings` first when run alone. */
  needsCeilings: boolean;
  run(context: BenchContext): Promise<ScenarioResult>;
}

/** The context lines every scenario prints: where each part ran and with which settings. */
export function layoutLines(context: BenchContext, hookline: BenchHookline): string[] {
  const { server } = context;
  return [
    `layout: worker in the bench process (the product's startWorker, ${describeWorkerSettings(hookline.config)}, query pool 10); ` +
      `sender in the bench process (sendEvent, own pool 10); receiver in a child Node process; PostgreSQL ${server.version} ${server.kind}`,
    `PostgreSQL: ${server.durability}; ${pgSettingsLine(context)}`,
  ];
}

export function pgSettingsLine(context: BenchContext): string {
  const { settings } = context.server;
  return `shared_buffers ${settings.shared_buffers}, max_wal_size ${settings.max_wal_size}`;
}
