// What db/sql functions run their statements on: the Drizzle handle or one of its transactions
// (Drizzle statements), or the postgres.js pool or one of its transactions (raw statements).
import type { Db } from '../client.js';

/** Runs raw Drizzle `sql` statements: the database handle or a transaction of it. */
export type Executor = Pick<Db, 'execute'>;

/** Runs Drizzle query-builder reads: the database handle, a transaction, or a read-only reader. */
export type Selector = Pick<Db, 'select'>;

/** Runs Drizzle query-builder reads and writes: the database handle or a transaction of it. */
export type Writer = Pick<Db, 'select' | 'insert' | 'update' | 'delete'>;
