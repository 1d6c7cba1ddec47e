// The databases every repository test runs against: embedded PGlite always,
// and the PostgreSQL server at DATABASE_URL. With CI set and no DATABASE_URL
// the postgres case fails (CI must test the real server); locally it is
// skipped with a message. Each create() gets its own database, so parallel
// jest workers never see each other's rows.
import { randomBytes } from 'node:crypto';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { PGLITE_MEMORY } from '../../src/config/database.ts';
import { openDatabase, type DatabaseHandle } from '../../src/db/connect.ts';
import { migrateUp } from '../../src/db/migrator.ts';

export type DialectName = 'pglite' | 'postgres';

export interface TestDatabase extends DatabaseHandle {
  /** For postgres: the URL of this test's own database (for child processes). */
  url?: string;
}

export interface TestDatabaseCase {
  name: DialectName;
  /** Opens a fresh, empty database; migrated unless `migrate: false`. */
  create(opts?: { migrate?: boolean; statementTimeoutMs?: number }): Promise<TestDatabase>;
}

export function testDatabases(): TestDatabaseCase[] {
  const cases: TestDatabaseCase[] = [{ name: 'pglite', create: createPGlite }];
  const url = process.env['DATABASE_URL'];
  if (url) {
    cases.push({ name: 'postgres', create: (opts) => createPostgres(url, opts) });
  } else if (process.env['CI']) {
    cases.push({
      name: 'postgres',
      create: () => {
        throw new Error('DATABASE_URL is not set: CI must run the repository tests against PostgreSQL (.ci/run sets it from hack/ensure-postgres.sh)');
      },
    });
  } else if (!warned) {
    warned = true;
    console.warn('DATABASE_URL is not set: repository tests run on PGlite only (set DATABASE_URL=postgres://… to include PostgreSQL)');
  }
  return cases;
}
let warned = false;

async function createPGlite(opts: { migrate?: boolean } = {}): Promise<TestDatabase> {
  const handle = await openDatabase({ kind: 'pglite', dataDir: PGLITE_MEMORY });
  if (opts.migrate !== false) await migrateUp(handle.db);
  return handle;
}

async function createPostgres(adminUrl: string, opts: { migrate?: boolean; statementTimeoutMs?: number } = {}): Promise<TestDatabase> {
  // Random hex only: safe as an identifier, and sql.id quotes it anyway.
  const name = `caelus_test_${randomBytes(6).toString('hex')}`;
  const admin = adminDb(adminUrl);
  try {
    await sql`create database ${sql.id(name)}`.execute(admin);
  } finally {
    await admin.destroy();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const handle = await openDatabase({
    kind: 'postgres',
    url: url.toString(),
    poolMax: 5,
    statementTimeoutMs: opts.statementTimeoutMs ?? 15_000,
    connectTimeoutMs: 5_000,
  });
  try {
    if (opts.migrate !== false) await migrateUp(handle.db);
  } catch (err) {
    await handle.destroy();
    throw err;
  }
  return {
    ...handle,
    url: url.toString(),
    destroy: async () => {
      await handle.destroy();
      const a = adminDb(adminUrl);
      try {
        await sql`drop database if exists ${sql.id(name)} with (force)`.execute(a);
      } finally {
        await a.destroy();
      }
    },
  };
}

function adminDb(url: string): Kysely<unknown> {
  return new Kysely<unknown>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 1 }) }) });
}
