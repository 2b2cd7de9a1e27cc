// A code migration (run by db/migrate.ts after the schema migrations, under the migration lock):
// seals the custom header values that earlier releases stored in plaintext. Idempotent: only rows
// with a value not yet sealed are read, and sealed values are kept as they are. Until it has run,
// every process reads both forms (./header-secrets.ts), so a rolling deploy delivers throughout.
import type postgres from 'postgres';
import type { SecretBox } from '../security/secret-box.js';
import { SEALED_HEADER_PREFIX, sealHeaderValues } from './header-secrets.js';

const ROWS_PER_TRANSACTION = 500;

/** Seals every plaintext header value; returns how many endpoints were changed. */
export async function sealLegacyHeaderValues(sql: postgres.Sql, secretBox: Pick<SecretBox, 'seal'>): Promise<number> {
  let sealedRows = 0;
  let afterId = '';
  for (;;) {
    const batch = await sql.begin(async (tx) => {
      // FOR UPDATE: an update of the same endpoint waits rather than being overwritten. jsonb goes
      // in and out as text: the driver's JSON handling depends on who configured it (Drizzle does).
      const rows = await tx<Array<{ id: string; headers: string }>>`
        select id, headers::text as headers from endpoints
         where id > ${afterId}
           and headers <> '{}'::jsonb
           and exists (select 1 from jsonb_each_text(headers) h where left(h.value, 1) <> ${SEALED_HEADER_PREFIX})
         order by id
         limit ${ROWS_PER_TRANSACTION}
           for update`;
      for (const row of rows) {
        const sealed = sealHeaderValues(JSON.parse(row.headers) as Record<string, string>, (plain) => secretBox.seal(plain));
        await tx`update endpoints set headers = ${JSON.stringify(sealed)}::text::jsonb where id = ${row.id}`;
      }
      return rows;
    });
    sealedRows += batch.length;
    if (batch.length < ROWS_PER_TRANSACTION) return sealedRows;
    afterId = batch[batch.length - 1]!.id;
  }
}
