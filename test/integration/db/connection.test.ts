// PostgreSQL connection behaviour: statement timeout and a dropped connection
// are typed errors, and the pool recovers. (PGlite runs in process: neither applies.)
import { sql } from 'kysely';
import pg from 'pg';
import { DatabaseUnavailableError, StatementTimeoutError } from '../../../src/db/errors.ts';
import { mapDatabaseError, translateErrors } from '../../../src/db/map-error.ts';
import { listTemplates } from '../../../src/db/repositories/templates.ts';
import { testDatabases } from '../../support/database.ts';

const postgres = testDatabases().filter((c) => c.name === 'postgres');

test('the postgres case exists whenever DATABASE_URL or CI is set', () => {
  if (process.env['DATABASE_URL'] || process.env['CI']) expect(postgres).toHaveLength(1);
});

describe.each(postgres)('connections on $name', ({ create }) => {
  test('a statement over statement_timeout → StatementTimeoutError; the pool keeps working', async () => {
    const h = await create({ statementTimeoutMs: 200 });
    try {
      const err = await translateErrors(() => sql`select pg_sleep(2)`.execute(h.db)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StatementTimeoutError);
      expect(await listTemplates(h.db)).toEqual([]);
    } finally {
      await h.destroy();
    }
  });

  test('connections killed by the server are an error to handle, not a crash; the pool reconnects', async () => {
    const h = await create();
    try {
      // A query running when its connection dies fails with DatabaseUnavailableError…
      const running = sql`select pg_sleep(5)`.execute(h.db).catch((e: unknown) => mapDatabaseError(e));
      await new Promise((r) => setTimeout(r, 300));
      await killConnections(h.url);
      expect(await running).toBeInstanceOf(DatabaseUnavailableError);
      // …idle connections killed under the pool emit 'error' (handled), and later queries get fresh connections.
      await killConnections(h.url);
      await new Promise((r) => setTimeout(r, 200));
      for (let i = 0; i < 5; i++) {
        const r = await translateErrors(() => listTemplates(h.db)).catch((e: unknown) => e);
        if (Array.isArray(r)) return;
        expect(r).toBeInstanceOf(DatabaseUnavailableError);
      }
      throw new Error('the pool did not recover');
    } finally {
      await h.destroy();
    }
  });
});

/** Terminates every other session on the database of `url`, from a connection of its own (as a server restart would). */
async function killConnections(url: string | undefined): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()');
  } finally {
    await client.end();
  }
}
