// What every `hookline admin` command does around its one API call: read the shared options
// (`--url`, `--api-key`, `--json`), connect, and print the result as JSON or for people.
// A failure propagates to server/cli/main.ts, which prints one line and exits 1.
import { readFileSync } from 'node:fs';
import { InvalidArgumentError, type Command, type OptionValues } from 'commander';
import type { HooklineClient } from '../../../client/index.js';
import { AdminUsageError, connectAdminClient, type ConnectionOptions } from './connection.js';
import { formatJson } from './output.js';

/** The options declared on `hookline admin`, valid after any of its subcommands. */
export interface AdminGlobalOptions extends ConnectionOptions {
  json?: boolean;
}

export interface AdminCall {
  client: HooklineClient;
  /** Writes the result to stdout: its JSON with `--json`, else what `human` makes of it. */
  print<T>(result: T, human: (result: T) => string): void;
}

/**
 * A commander action for an admin command: `run` gets the connected client, the command's
 * positional arguments, and its own options.
 */
export function adminAction<Options extends OptionValues = OptionValues>(
  run: (call: AdminCall, args: string[], options: Options) => Promise<void>,
): (...params: unknown[]) => Promise<void> {
  return async (...params) => {
    const command = params[params.length - 1] as Command;
    const globals = command.optsWithGlobals<AdminGlobalOptions>();
    const client = connectAdminClient({ url: globals.url, apiKey: globals.apiKey });
    const print: AdminCall['print'] = (result, human) => {
      process.stdout.write(`${globals.json ? formatJson(result) : human(result)}\n`);
    };
    await run({ client, print }, command.processedArgs as string[], command.opts<Options>());
  };
}

/** A whole number option (`--limit 20`); commander calls it with the raw text. */
export function parseCount(raw: string): number {
  const value = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(value)) throw new InvalidArgumentError('not a whole number.');
  return value;
}

/** Collects a repeatable option into a list (`--event-type a --event-type b`). */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/**
 * A JSON object given on the command line (`--data '{"a":1}'`), or read from a file (`--data @event.json`,
 * `-` for stdin).
 */
export function readJsonObject(option: string, raw: string): Record<string, unknown> {
  let text = raw;
  if (raw === '-' || raw.startsWith('@')) {
    const source = raw === '-' ? 0 : raw.slice(1);
    try {
      text = readFileSync(source, 'utf8');
    } catch (error) {
      throw new AdminUsageError(`${option}: cannot read ${raw === '-' ? 'stdin' : raw.slice(1)}: ${(error as Error).message}`);
    }
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new AdminUsageError(`${option} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new AdminUsageError(`${option} must be a JSON object`);
  }
  return value as Record<string, unknown>;
}
