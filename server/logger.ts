// Structured JSON logs (pino). Secrets never reach a log line: the redact list is the net for
// fields that could carry one, and the error serializer withholds the query parameters Drizzle
// writes into its error messages (an endpoint's URL token, custom auth headers, payloads).
import { pino } from 'pino';

export type Logger = pino.Logger;

/** `destination`: where the JSON lines go (default stdout; tests capture them). */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { service: 'hookline' },
    redact: {
      paths: ['secret', 'signingSecret', 'apiKey', 'adminKey', 'headers.authorization', '*.secret', '*.apiKey'],
      censor: '[redacted]',
    },
    serializers: { err: serializeError },
  };
  return destination ? pino(options, destination) : pino(options);
}

const WITHHELD = '\nparams: [withheld]';

/** pino's standard error serializer, minus every query-parameter list found in the cause chain. */
export function serializeError(error: unknown): unknown {
  const serialized = pino.stdSerializers.err(error as Error);
  const leaks = queryParameterTexts(error);
  return leaks.length === 0 ? serialized : scrub(serialized, leaks, 0);
}

/**
 * Drizzle's DrizzleQueryError has `query`, `params` and the message `Failed query: {query}\nparams:
 * {params}`; wrappers (tRPC's INTERNAL_SERVER_ERROR) copy that message. Collects the exact
 * parameter texts so they can be cut wherever they were copied.
 */
function queryParameterTexts(error: unknown): string[] {
  const texts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 10 && current && typeof current === 'object'; depth++) {
    const candidate = current as { query?: unknown; params?: unknown; cause?: unknown };
    if (typeof candidate.query === 'string' && Array.isArray(candidate.params)) {
      texts.push(`\nparams: ${String(candidate.params)}`);
    }
    current = candidate.cause;
  }
  return texts;
}

function scrub(value: unknown, leaks: string[], depth: number): unknown {
  if (typeof value === 'string') return leaks.reduce((text, leak) => text.replaceAll(leak, WITHHELD), value);
  if (!value || typeof value !== 'object' || depth > 5) return value;
  if (Array.isArray(value)) return value.map((item) => scrub(item, leaks, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (key === 'params') continue;
    out[key] = scrub(item, leaks, depth + 1);
  }
  return out;
}
