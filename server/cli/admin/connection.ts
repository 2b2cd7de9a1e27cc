// Where `hookline admin` connects and with which key: flags, then environment, then the quickstart's
// key file; and the typed client (client/, published as `@hookline/client`) built from that: its
// sends carry an idempotency key and are retried when the answer was lost.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createHooklineClient, type HooklineClient } from '../../../client/index.js';

export const DEFAULT_API_URL = 'http://127.0.0.1:3000';

/** The options every admin command accepts (declared once, on `hookline admin`). */
export interface ConnectionOptions {
  url?: string | undefined;
  apiKey?: string | undefined;
}

export interface Connection {
  url: string;
  apiKey: string;
  /** Where the key came from, for messages. */
  keySource: 'flag' | 'env' | 'file';
}

/** A usage problem found before any request: printed as one line, exit code 1. */
export class AdminUsageError extends Error {
  override readonly name = 'AdminUsageError';
}

/**
 * The URL: `--url`, else HOOKLINE_URL, else http://127.0.0.1:3000. The key: `--api-key`, else
 * HOOKLINE_API_KEY, else HOOKLINE_ADMIN_KEY, else the quickstart's
 * `<HOOKLINE_DATA_DIR or .hookline>/admin-key` under `cwd`.
 */
export function resolveConnection(
  options: ConnectionOptions,
  env: NodeJS.ProcessEnv = process.env,
  cwd: string = process.cwd(),
): Connection {
  const rawUrl = nonEmpty(options.url) ?? nonEmpty(env.HOOKLINE_URL) ?? DEFAULT_API_URL;
  const from = nonEmpty(options.url) ? '--url' : 'HOOKLINE_URL';
  let parsed: URL;
  try {
    parsed = new URL(rawUrl);
  } catch {
    throw new AdminUsageError(`${from} is not a URL: "${rawUrl}"`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new AdminUsageError(`${from} must be an http:// or https:// address, got "${rawUrl}"`);
  }
  const url = rawUrl.trim().replace(/\/+$/, '');

  const flagKey = nonEmpty(options.apiKey);
  if (flagKey) return { url, apiKey: flagKey, keySource: 'flag' };
  // HOOKLINE_ADMIN_KEY too: inside a server's container the operator key is already there.
  const envKey = nonEmpty(env.HOOKLINE_API_KEY) ?? nonEmpty(env.HOOKLINE_ADMIN_KEY);
  if (envKey) return { url, apiKey: envKey, keySource: 'env' };
  const keyFile = resolve(cwd, nonEmpty(env.HOOKLINE_DATA_DIR) ?? '.hookline', 'admin-key');
  const fileKey = readKeyFile(keyFile);
  if (fileKey) return { url, apiKey: fileKey, keySource: 'file' };
  throw new AdminUsageError('no API key: pass --api-key, set HOOKLINE_API_KEY, or run where .hookline/admin-key is (the quickstart)');
}

export function connectAdminClient(options: ConnectionOptions): HooklineClient {
  const { url, apiKey } = resolveConnection(options);
  return createHooklineClient({ url, apiKey });
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

function readKeyFile(path: string): string | undefined {
  try {
    return nonEmpty(readFileSync(path, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new AdminUsageError(`cannot read ${path}: ${(error as Error).message}`);
  }
}
