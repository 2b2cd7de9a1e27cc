// graphile-worker's log lines, routed into our pino logger.
import { Logger as GraphileLogger } from 'graphile-worker';
import type { Logger } from '../logger.js';

export function graphileLogger(logger: Logger): GraphileLogger {
  return new GraphileLogger((scope) => (level, message, meta) => {
    const fields = { scope: { ...scope }, ...trimErrors(meta) };
    if (level === 'error') logger.error(fields, message);
    // Both intended, not the misconfigurations these warnings are about: with localQueue batching one
    // fetch feeds every job slot, so the pool may be smaller than the concurrency; and half of the
    // job slots are a waiting room for delivery slots (worker/settings.ts), so the batch is smaller.
    else if (level === 'warning' && (message.includes('maxPoolSize') || message.includes('job batch size'))) {
      logger.debug(fields, message);
    } else if (level === 'warning') logger.warn(fields, message);
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
