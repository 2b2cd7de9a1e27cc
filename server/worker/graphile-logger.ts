// graphile-worker's log lines, routed into our pino logger.
import { Logger as GraphileLogger } from 'graphile-worker';
import type { Logger } from '../logger.js';

export function graphileLogger(logger: Logger): GraphileLogger {
  return new GraphileLogger((scope) => (level, message, meta) => {
    const fields = { scope: { ...scope }, ...trimErrors(meta) };
    if (level === 'error') logger.error(fields, message);
    // With localQueue batching one fetch feeds every slot, so a pool smaller than the concurrency is
    // intended, not the misconfiguration this warning is about.
    else if (level === 'warning' && message.includes('maxPoolSize')) logger.debug(fields, message);
    else if (level === 'warning') logger.warn(fields, message);
    else if (level === 'info') logger.debug(fields, message);
    else logger.trace(fields, message);
  });
}

/**
 * Errors from `pg` carry their client (connection, parser, buffers: kilobytes per line) among
 * their enumerable properties; a log line needs only what identifies the error.
 */
function trimErrors(meta: Record<string, unknown> | undefined): Record<string, unknown> {
  if (!meta) return {};
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(meta)) {
    if (value instanceof Error) {
      const { code } = value as Error & { code?: unknown };
      fields[key] = { type: value.name, message: value.message, ...(code !== undefined && { code }), stack: value.stack };
    } else {
      fields[key] = value;
    }
  }
  return fields;
}
