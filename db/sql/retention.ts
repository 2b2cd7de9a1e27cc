// Retention's deletes (server/retention.ts): one bounded batch of expired attempts, deliveries or
// events per call. An event is expired while it was created before the cutoff and none of its
// deliveries is still pending; its deliveries and attempts expire with it. Each table is walked
// through its created_at index.
import type postgres from 'postgres';

export interface ExpiredBatch {
  /** Rows created before this time may go. */
  before: Date;
  /** Rows deleted at most by this statement. */
  limit: number;
}

/** An event is kept while any of its deliveries is still pending (`eventId`: a column, never input). */
function settled(sql: postgres.Sql, eventId: string) {
  return sql`not exists (select 1 from deliveries p where p.event_id = ${sql.unsafe(eventId)} and p.status = 'pending')`;
}

// Raw statements take timestamps as ISO strings: Drizzle replaces the driver's Date serializer.

/** Deletes up to `limit` attempts of expired events; returns how many. */
export async function deleteExpiredAttempts(sql: postgres.Sql, batch: ExpiredBatch): Promise<number> {
  const { count } = await sql`
    delete from attempts where id in (
      select a.id from attempts a join deliveries d on d.id = a.delivery_id
       where a.created_at < ${batch.before.toISOString()}::timestamptz
         and ${settled(sql, 'd.event_id')}
       limit ${batch.limit})`;
  return count;
}

/** Deletes up to `limit` deliveries of expired events (created with their event, so as old); returns how many. */
export async function deleteExpiredDeliveries(sql: postgres.Sql, batch: ExpiredBatch): Promise<number> {
  const { count } = await sql`
    delete from deliveries where id in (
      select d.id from deliveries d
       where d.created_at < ${batch.before.toISOString()}::timestamptz
         and ${settled(sql, 'd.event_id')}
       limit ${batch.limit})`;
  return count;
}

/** Deletes up to `limit` expired events; returns how many. */
export async function deleteExpiredEvents(sql: postgres.Sql, batch: ExpiredBatch): Promise<number> {
  const { count } = await sql`
    delete from events where id in (
      select e.id from events e
       where e.created_at < ${batch.before.toISOString()}::timestamptz
         and ${settled(sql, 'e.id')}
       limit ${batch.limit})`;
  return count;
}
