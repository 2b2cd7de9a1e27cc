// Real hookline processes for tests: `hookline serve` / `worker` as child processes against a test
// database, exactly as containers run them.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { ReadyConfig } from '../../server/env.js';

const bin = fileURLToPath(new URL('../../server/bin/hookline.js', import.meta.url));

export interface HooklineProcess {
  child: ChildProcess;
  output(): string;
  /** Resolves when the output contains `text`. */
  waitForOutput(text: string | RegExp, timeoutMs?: number): Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

/** The environment a child needs to join the same deployment as an in-process test app. */
export function processEnv(config: ReadyConfig, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/tmp',
    DATABASE_URL: config.databaseUrl,
    HOOKLINE_ADMIN_KEY: config.adminKey,
    HOOKLINE_ENCRYPTION_KEY: config.encryptionKey.toString('base64'),
    HOOKLINE_ALLOW_HTTP: String(config.urlPolicy.allowHttp),
    HOOKLINE_ALLOWED_NETWORKS: config.urlPolicy.allowedNetworks.map((n) => n.cidr).join(','),
    HOOKLINE_RETRY_SCHEDULE: config.retryScheduleMs.map((ms) => `${ms}ms`).join(','),
    HOOKLINE_TIMEOUT: `${config.timeoutMs}ms`,
    HOOKLINE_LOG_LEVEL: 'info',
    ...extra,
  };
}

export function spawnHookline(args: string[], env: Record<string, string>): HooklineProcess {
  const child = spawn(process.execPath, [bin, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const listeners = new Set<() => void>();
  const collect = (chunk: Buffer) => {
    output += chunk.toString('utf8');
    for (const listener of listeners) listener();
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  return {
    child,
    output: () => output,
    waitForOutput(text, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const matches = () => (typeof text === 'string' ? output.includes(text) : text.test(output));
        const check = () => {
          if (matches()) {
            listeners.delete(check);
            clearTimeout(timer);
            resolve();
          }
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`process did not print ${String(text)} within ${timeoutMs} ms; output:\n${output}`));
        }, timeoutMs);
        listeners.add(check);
        child.once('exit', () => {
          if (!matches()) {
            listeners.delete(check);
            clearTimeout(timer);
            reject(new Error(`process exited before printing ${String(text)}; output:\n${output}`));
          }
        });
        check();
      });
    },
    async kill(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      const [code] = (await once(child, 'exit')) as [number | null];
      return code;
    },
  };
}
