// The API's reads (lists and gets) run under a statement_timeout (HOOKLINE_READ_TIMEOUT), so one
// expensive read cannot hold a connection and a CPU for as long as it likes. Set per transaction
// (SET LOCAL), so it bounds these reads only: not the deletes that cascade through a large tenant,
// not sends, not the worker. A read past it answers TIMEOUT with a message saying what to narrow.
// Cost: the transaction's BEGIN, SET and COMMIT, about 1.5 ms per read on loopback (events.list
// 1.4 → 3.0 ms, median of 6 × 500 calls); a second pool with statement_timeout as a connection
// parameter would cost nothing per read but 10 more connections per API process.
import { sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { pgErrorCode } from '../../db/errors.js';
import type { ApiPool, Shared } from '../deps.js';
import { ReadTimeoutError } from '../errors.js';

/** What a read may do with the database: select (also with CTEs), nothing else. */
export type Reader = Pick<Db, 'select' | '$with' | 'with'>;

export async function readWithTimeout<T>(deps: ApiPool & Pick<Shared, 'config'>, read: (db: Reader) => Promise<T>): Promise<T> {
  const timeoutMs = Math.trunc(deps.config.readTimeoutMs);
  if (timeoutMs === 0) return read(deps.db);
  try {
    return await deps.db.transaction(
      async (tx) => {
        await tx.execute(sql.raw(`set local statement_timeout = ${timeoutMs}`));
        return read(tx);
      },
      { accessMode: 'read only' },
    );
  } catch (error) {
    // 57014 query_canceled: the statement_timeout fired.
    if (pgErrorCode(error) === '57014') {
      throw new ReadTimeoutError(
        `the query ran longer than ${timeoutMs} ms (HOOKLINE_READ_TIMEOUT); narrow it (a smaller limit, a since, a filter) or try again`,
      );
    }
    throw error;
  }
}
