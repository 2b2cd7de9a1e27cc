// Event-type changes told to every API process: eventTypes.upsert and archive notify a channel in
// their own transaction (PostgreSQL delivers the notice at commit, and only if they commit), and
// each process that checks payloads listens, to forget what it holds for that type
// (./payload-check.ts). The notice carries only the type's name; a listener reads the rest.
import { sql } from 'drizzle-orm';
import type postgres from 'postgres';
import type { Db } from '../../db/client.js';
import type { Logger } from '../logger.js';

export const EVENT_TYPE_CHANGE_CHANNEL = 'hookline_event_types';

/** A Drizzle transaction (or the pool): the notice is sent when it commits. */
type Executor = Pick<Db, 'execute'>;

/** Tells every listening process that this type changed, at the commit of `tx`. */
export async function announceEventTypeChange(tx: Executor, name: string): Promise<void> {
  await tx.execute(sql`select pg_notify(${EVENT_TYPE_CHANGE_CHANNEL}, ${name})`);
}

export interface EventTypeChangeHandlers {
  /** The named type changed (upserted or archived) in some process. */
  changed(name: string): void;
  /**
   * The listener is (again) connected. Called after the first LISTEN and after every reconnect:
   * notices sent while it was not connected are lost, so whatever was learnt before is suspect.
   */
  listening(): void;
}

/**
 * Listens on the pool's dedicated listener connection (postgres.js opens one per pool and, when
 * it drops, reconnects and listens again, calling `listening` each time). Runs until the pool ends.
 */
export function listenForEventTypeChanges(sql: postgres.Sql, handlers: EventTypeChangeHandlers, logger: Logger): void {
  sql
    .listen(
      EVENT_TYPE_CHANGE_CHANNEL,
      (name) => handlers.changed(name),
      () => handlers.listening(),
    )
    .catch((error: unknown) => {
      // A first LISTEN that fails on connecting is retried by the driver when the connection closes;
      // until one succeeds, `listening` is not called and nothing is cached.
      logger.warn(
        { err: error },
        'listening for event type changes failed; payload schema checks read the catalog each time until it succeeds',
      );
    });
}
