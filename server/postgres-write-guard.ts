// A guard against a known crash of the postgres.js driver (3.4.9; porsager/postgres#1154, #1208,
// fix proposed in #1176/#1209, not released): a write smaller than 1 KiB is deferred with
// setImmediate, and when the connection closes before it runs (PostgreSQL stopped or restarting)
// the deferred write dereferences the closed socket and throws from the timer, where no caller can
// catch it: the whole process exits. By then the driver has already failed the connection's
// queries with CONNECTION_CLOSED, so that one exception is logged and the process goes on (the
// pool reconnects). Any other uncaught exception still ends the process, as before.
import type { Logger } from './logger.js';

let installed = false;

export function isPostgresClosedSocketWrite(error: unknown): boolean {
  return (
    error instanceof TypeError &&
    /Cannot read properties of null \(reading 'write'\)/.test(error.message) &&
    /postgres[/\\]src[/\\]connection\.js/.test(error.stack ?? '') &&
    /nextWrite/.test(error.stack ?? '')
  );
}

/** Installs the guard once per process. */
export function guardPostgresClosedSocketWrites(logger: Logger): void {
  if (installed) return;
  installed = true;
  process.on('uncaughtException', (error) => {
    if (isPostgresClosedSocketWrite(error)) {
      logger.warn(
        { err: error },
        'a database connection closed under a pending write (postgres.js); its queries failed and the pool reconnects',
      );
      return;
    }
    // What Node would have done without a listener: print the error and exit 1.
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
}
