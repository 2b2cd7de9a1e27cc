// `npm run bench` runs every scenario; `npm run bench -- <name> [<name>…]` runs some. Ceilings run
// first (and are reused) whenever a chosen scenario compares against them. Each scenario prints a
// table with every figure beside its goal and writes bench/results/<scenario>-<timestamp>.json;
// the run ends with one summary table (Markdown, as docs/BENCHMARKS.md shows it). Bounded: every
// wait has a timeout and the whole run has a deadline (BENCH_DEADLINE_MINUTES, default 40).
import { envInt } from './lib/clock.js';
import { waitForQuiet } from './lib/cpu.js';
import { machineInfo, startDatabaseServer, type DatabaseServer } from './lib/environment.js';
import { renderMarkdown, renderTable, verdict, writeResult, type ScenarioResult } from './lib/report.js';
import type { BenchContext, Scenario } from './lib/scenario.js';
import type { StatementStat } from './lib/environment.js';
import { backlogScenario } from './scenarios/backlog.js';
import { ceilingsScenario } from './scenarios/ceilings.js';
import { dnsStallScenario } from './scenarios/dns-stall.js';
import { fanoutScenario } from './scenarios/fanout.js';
import { fifoScenario } from './scenarios/fifo.js';
import { ingestScenario } from './scenarios/ingest.js';
import { latencyScenario } from './scenarios/latency.js';
import { endpointIsolationScenario } from './scenarios/endpoint-isolation.js';
import { noisyNeighbourScenario } from './scenarios/noisy-neighbour.js';
import { slowEndpointScenario } from './scenarios/slow-endpoint.js';
import { throughputScenario } from './scenarios/throughput.js';

const scenarios: Scenario[] = [
  ceilingsScenario,
  throughputScenario,
  latencyScenario,
  fanoutScenario,
  noisyNeighbourScenario,
  endpointIsolationScenario,
  slowEndpointScenario,
  backlogScenario,
  dnsStallScenario,
  ingestScenario,
  fifoScenario,
];

function choose(names: string[]): Scenario[] {
  if (names.length === 0) return scenarios;
  const unknown = names.filter((name) => !scenarios.some((s) => s.name === name));
  if (unknown.length > 0) {
    throw new Error(`unknown scenario ${unknown.join(', ')}; choose from: ${scenarios.map((s) => s.name).join(', ')}`);
  }
  const chosen = scenarios.filter((s) => names.includes(s.name));
  if (chosen.some((s) => s.needsCeilings) && !chosen.includes(ceilingsScenario)) chosen.unshift(ceilingsScenario);
  return chosen;
}

/** BENCH_PG_STATEMENTS=1: where PostgreSQL spent its time during the scenario. */
function renderStatements(rows: StatementStat[]): string {
  const lines = rows.map(
    (r) =>
      `  ${r.totalMs.toFixed(0).padStart(8)} ms ${String(r.calls).padStart(8)} calls ${r.meanMs.toFixed(3).padStart(8)} ms/call  ${r.query.slice(0, 110)}`,
  );
  return `\n  top statements by total time (pg_stat_statements):\n${lines.join('\n')}\n`;
}

async function main(): Promise<number> {
  const chosen = choose(process.argv.slice(2).filter((arg) => arg !== '--'));
  const deadlineMinutes = envInt('BENCH_DEADLINE_MINUTES', 40);
  let server: DatabaseServer | undefined;
  // Whatever happens, the embedded PostgreSQL (and its temp directory) goes too, within 10 s.
  const abandon = (code: number, why: string) => {
    process.stderr.write(`bench: ${why}; stopping\n`);
    // Connections die as PostgreSQL stops; nothing they throw matters any more.
    process.on('uncaughtException', () => {});
    process.on('unhandledRejection', () => {});
    const stopped = server ? server.stop().catch(() => {}) : Promise.resolve();
    void Promise.race([stopped, new Promise((resolve) => setTimeout(resolve, 10_000))]).finally(() => process.exit(code));
  };
  setTimeout(() => abandon(2, `the run did not finish within ${deadlineMinutes} minutes`), deadlineMinutes * 60_000).unref();
  process.once('SIGINT', () => abandon(130, 'interrupted'));
  process.once('SIGTERM', () => abandon(143, 'terminated'));

  const log = (line: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
  const startedAt = new Date();
  server = await startDatabaseServer(log);
  const machine = machineInfo(server);
  const context: BenchContext = { server, machine, log };
  const results: ScenarioResult[] = [];
  const files: string[] = [];
  let failed = 0;
  process.stdout.write(
    `hookline benchmarks — ${startedAt.toISOString()}\n` +
      `hookline ${machine.commit}\n` +
      `machine: ${machine.cpus} CPUs (${machine.cpuModel}), ${machine.memoryGiB} GiB, ${machine.os}\n` +
      `Node ${machine.node}, PostgreSQL ${machine.postgres}, ` +
      `${Object.entries(machine.packages)
        .map(([name, version]) => `${name} ${version}`)
        .join(', ')}\n` +
      `command: npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}\n`,
  );
  try {
    for (const scenario of chosen) {
      await waitForQuiet(log, envInt('BENCH_QUIET_WAIT_MS', 120_000));
      log(`${scenario.name}: starting`);
      const began = Date.now();
      try {
        await server.statements?.reset();
        const result = await scenario.run(context);
        const statements = await server.statements?.top(15);
        if (statements) result.details.topStatements = statements;
        results.push(result);
        process.stdout.write(renderTable(result));
        if (statements) process.stdout.write(renderStatements(statements));
        const file = writeResult(result, {
          startedAt: startedAt.toISOString(),
          machine,
          postgres: { kind: server.kind, version: server.version, settings: server.settings, durability: server.durability },
          command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
        });
        files.push(file);
        log(`${scenario.name}: done in ${Math.round((Date.now() - began) / 1000)} s → ${file}`);
      } catch (error) {
        failed++;
        process.stdout.write(
          `\n=== ${scenario.name}: FAILED ===\n  ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
        );
      }
    }
  } finally {
    await server.stop();
  }

  const figures = results.flatMap((r) => r.figures);
  const passed = figures.filter((f) => verdict(f) === 'PASS').length;
  const missed = figures.filter((f) => verdict(f) === 'MISS').length;
  process.stdout.write(`\n=== summary (${Math.round((Date.now() - startedAt.getTime()) / 1000)} s) ===\n\n${renderMarkdown(results)}\n`);
  process.stdout.write(`goals: ${passed} PASS, ${missed} MISS${failed ? `, ${failed} scenario(s) FAILED to run` : ''}\n`);
  for (const file of files) process.stdout.write(`wrote ${file}\n`);
  return failed > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
