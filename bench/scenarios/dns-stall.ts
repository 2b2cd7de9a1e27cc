// DNS stall: tenant A has 20 endpoints whose names' DNS server never answers; tenant B's endpoints
// (new names that resolve at once) get their deliveries while A's lookups hang, or not.
//
// The worker is the product's `hookline worker` process with its own default resolver, as
// production runs it, but it sees a resolv.conf of its own: it runs in a private mount namespace
// (`unshare --mount`) where /etc/resolv.conf names a DNS server on a loopback address, run here,
// that swallows every query for `*.stall.test` and answers `*.ok.test` with 127.0.0.1. So
// getaddrinfo (before) and c-ares (after) both meet a real DNS server that never answers, and no
// query leaves the machine. Needs Linux and root (port 53, mount namespace).
import { randomInt } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sendEvent } from '../../server/events/send.js';
import { startFakeDnsServer } from '../../test/helpers/dns-server.js';
import { envInt, now, sleep } from '../lib/clock.js';
import { BENCH_EVENT_TYPE, benchPayload, createTenants, startHookline } from '../lib/hookline.js';
import { sendOpenLoop } from '../lib/load.js';
import { startReceiver } from '../lib/receiver.js';
import type { Figure, ScenarioResult } from '../lib/report.js';
import { pgSettingsLine, type Scenario } from '../lib/scenario.js';
import { summarize } from '../lib/stats.js';
import { startWorkerProcess } from '../lib/worker-process.js';
import { describeCpu, startCpuMeter } from '../lib/cpu.js';

export const dnsStallScenario: Scenario = {
  name: 'dns-stall',
  title: "a tenant whose 20 names' DNS never answers vs another tenant's new names",
  needsCeilings: false,
  async run(context): Promise<ScenarioResult> {
    if (process.platform !== 'linux' || process.getuid?.() !== 0) {
      throw new Error(
        'dns-stall needs Linux and root: it binds UDP port 53 on a loopback address and runs the worker in a mount namespace',
      );
    }
    const endpointsA = envInt('BENCH_DNS_A_ENDPOINTS', 20);
    const intervalA = envInt('BENCH_DNS_A_INTERVAL_MS', 1000);
    const endpointsB = envInt('BENCH_DNS_B_ENDPOINTS', 5);
    const rateB = envInt('BENCH_DNS_B_RATE', 2);
    const seconds = envInt('BENCH_DNS_SECONDS', 20);
    const graceMs = envInt('BENCH_DNS_GRACE_MS', 30_000);
    const leadInMs = 5000;

    const dnsHost = `127.${randomInt(1, 255)}.${randomInt(1, 255)}.${randomInt(1, 255)}`;
    const dns = await startFakeDnsServer(
      (name) =>
        name.endsWith('.stall.test') ? 'swallow' : name.endsWith('.ok.test') ? { addresses: ['127.0.0.1'], ttl: 300 } : 'nxdomain',
      { host: dnsHost, port: 53 },
    );
    const directory = mkdtempSync(join(tmpdir(), 'hookline-dns-stall-'));
    const resolvConf = join(directory, 'resolv.conf');
    // glibc's defaults (timeout:5 attempts:2), written out so the figures say what they are.
    writeFileSync(resolvConf, `nameserver ${dnsHost}\noptions timeout:5 attempts:2\n`);

    const database = await context.server.fresh('dnsstall');
    const receiver = await startReceiver({ mode: 'ok', record: true });
    const hookline = await startHookline(database);
    const port = new URL(receiver.urls[0]!).port;
    try {
      const [tenantA] = await createTenants(hookline, {
        label: 'dns-a',
        tenants: 1,
        endpointsPerTenant: endpointsA,
        urlFor: (_t, e) => `http://a${e}.stall.test:${port}/a/${e}`,
      });
      // B alone and B beside A are two tenants with names of their own, so B's first deliveries
      // need a lookup in both windows.
      const [tenantAlone, tenantB] = await createTenants(hookline, {
        label: 'dns-b',
        tenants: 2,
        endpointsPerTenant: endpointsB,
        urlFor: (t, e) => `http://${t === 0 ? 'c' : 'b'}${e}.ok.test:${port}/b/${e}`,
      });
      // Warm-up through an IP literal (no lookup): the worker process is up and its pools open
      // before anything is timed.
      const [warmUp] = await createTenants(hookline, {
        label: 'dns-warm-up',
        tenants: 1,
        endpointsPerTenant: 1,
        urlFor: () => `${receiver.urls[0]}/warm-up`,
      });
      const api = hookline.apiRuntime.deps;
      const worker = startWorkerProcess(hookline.env, {
        wrap: (command) => [
          'unshare',
          '--mount',
          '--propagation',
          'private',
          'sh',
          '-c',
          'mount --bind "$0" /etc/resolv.conf && exec "$@"',
          resolvConf,
          ...command,
        ],
      });
      const warmUpRun = await sendOpenLoop(api, { tenantIds: [warmUp!.id], ratePerSecond: 10, durationMs: 2000 });
      await receiver.waitForCount(warmUpRun.sent.length, 60_000);

      const measureB = async (tenantId: string, label: string) => {
        context.log(`dns-stall: B at ${rateB} events/s to ${endpointsB} new names for ${seconds} s (${label})`);
        await receiver.takeArrivals();
        const base = (await receiver.stats()).count;
        const cpu = startCpuMeter();
        const run = await sendOpenLoop(api, { tenantIds: [tenantId], ratePerSecond: rateB, durationMs: seconds * 1000 });
        const expected = run.sent.length * endpointsB;
        const windowEndedAt = now();
        await receiver.waitForCount(base + expected, graceMs).catch(() => undefined);
        const waitedMs = now() - windowEndedAt;
        const usage = cpu.stop();
        const arrivals = await receiver.takeArrivals();
        // One latency per delivery (event × endpoint): intended send → first arrival; ∞ if none.
        const firstAt = new Map<string, number>();
        for (const [id, path, at] of arrivals) {
          const key = `${id} ${path}`;
          if (!firstAt.has(key) || at < firstAt.get(key)!) firstAt.set(key, at);
        }
        const latencies = run.sent.flatMap((event) =>
          Array.from({ length: endpointsB }, (_, e) => {
            const at = firstAt.get(`${event.eventId} /b/${e}`);
            return at === undefined ? Number.POSITIVE_INFINITY : at - event.intendedAt;
          }),
        );
        return {
          expected,
          received: latencies.filter(Number.isFinite).length,
          summary: summarize(latencies),
          first: Math.min(...latencies),
          waitedMs,
          usage,
        };
      };

      const alone = await measureB(tenantAlone!.id, 'alone');

      const stopA = new AbortController();
      let eventsA = 0;
      const sendingA = (async () => {
        while (!stopA.signal.aborted) {
          await sendEvent(api, tenantA!.id, { type: BENCH_EVENT_TYPE, payload: benchPayload(eventsA++) });
          await sleep(intervalA);
        }
      })();
      context.log(`dns-stall: tenant A active (${endpointsA} unanswered names, one event every ${intervalA} ms), ${leadInMs} ms lead-in`);
      await sleep(leadInMs);
      const withA = await measureB(tenantB!.id, 'with A');
      stopA.abort();
      await sendingA;
      const exitCode = await worker.stop(15_000);

      const attemptsA = await hookline.workerRuntime.deps.sql<
        { error: string | null; attempts: number; p50: number | null; max: number | null }[]
      >`
        select error, count(*)::int as attempts, percentile_disc(0.5) within group (order by duration_ms)::int as p50, max(duration_ms)::int as max
        from attempts where tenant_id = ${tenantA!.id} group by error order by error`;
      const attemptsLine =
        attemptsA.map((r) => `${r.error ?? 'response'} ${r.attempts} (duration p50 ${r.p50} ms, max ${r.max} ms)`).join(', ') || 'none';
      const queriesB = dns.queries.filter((q) => q.name.endsWith('.ok.test')).length;
      const queriesA = dns.queries.filter((q) => q.name.endsWith('.stall.test')).length;

      const ms = (n: number) => (Number.isFinite(n) ? `${n.toFixed(0)} ms` : '∞');
      const describe = (m: typeof alone) =>
        `first ${ms(m.first)}, p50 ${ms(m.summary.p50)} / p99 ${ms(m.summary.p99)} / max ${ms(m.summary.max)}, ${m.received} of ${m.expected} received (waited ${Math.round(m.waitedMs / 1000)} s after the window)`;
      const figures: Figure[] = [
        {
          name: "B's deliveries received with A",
          value: withA.received,
          unit: `of ${withA.expected}`,
          goal: { op: '>=', target: withA.expected },
        },
        { name: "B's first delivery with A", value: withA.first, unit: 'ms', note: `alone ${ms(alone.first)}` },
        { name: 'B p99 alone', value: alone.summary.p99, unit: 'ms', note: `p50 ${ms(alone.summary.p50)}` },
        { name: 'B p99 with A', value: withA.summary.p99, unit: 'ms', note: `p50 ${ms(withA.summary.p50)}, max ${ms(withA.summary.max)}` },
        { name: 'B p99 with A / alone', value: withA.summary.p99 / alone.summary.p99, unit: '×', goal: { op: '<=', target: 2 } },
        { name: "A's attempts", value: attemptsA.reduce((n, r) => n + r.attempts, 0), unit: 'attempts', note: attemptsLine },
      ];
      return {
        scenario: 'dns-stall',
        title: dnsStallScenario.title,
        context: [
          `A: ${endpointsA} endpoints at *.stall.test, whose DNS server (loopback, port 53) never answers; one event every ${intervalA} ms from ${leadInMs / 1000} s before B's window to its end (${eventsA} events)`,
          `B: ${endpointsB} endpoints at *.ok.test (answered at once, TTL 300 s, never looked up before), ${rateB} events/s open loop for ${seconds} s, alone and then beside A (another tenant, new names); latency = intended send → arrival, per delivery (missing = ∞)`,
          `worker: \`hookline worker\` process (exit ${exitCode}) in a mount namespace whose /etc/resolv.conf is "nameserver ${dnsHost}, options timeout:5 attempts:2"; HOOKLINE_TIMEOUT ${hookline.config.timeoutMs} ms, retry schedule ${hookline.config.retryScheduleMs.slice(0, 2).join(', ')} ms…`,
          `B alone: ${describe(alone)}`,
          `B with A: ${describe(withA)}`,
          `DNS queries seen: ${queriesA} for A's names, ${queriesB} for B's`,
          `A's attempts by error: ${attemptsLine}`,
          `alone: ${describeCpu(alone.usage)}`,
          `with A: ${describeCpu(withA.usage)}`,
          `PostgreSQL ${context.server.version} ${context.server.kind}; ${pgSettingsLine(context)}`,
        ],
        figures,
        details: { endpointsA, intervalA, endpointsB, rateB, seconds, eventsA, alone, withA, attemptsA, queriesA, queriesB },
      };
    } finally {
      await hookline.close();
      await receiver.close();
      await dns.close();
      await database.drop();
      rmSync(directory, { recursive: true, force: true });
    }
  },
};
