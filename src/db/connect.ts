// Opens the database named by the configuration: a pg pool for PostgreSQL or
// an embedded PGlite. Everything above this module is dialect-agnostic.
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { PGLITE_MEMORY, type DatabaseConfig } from '../config/database.ts';
import { silentLogger, type Logger } from '../observability/logger.ts';
import { lockDirectory } from './dir-lock.ts';
import { PGliteDialect } from './pglite-dialect.ts';
import type { Database } from './schema.ts';

export interface DatabaseHandle {
  db: Kysely<Database>;
  kind: DatabaseConfig['kind'];
  /** The embedded instance (kind pglite), for LISTEN/NOTIFY through pglite.listen (src/db/change-feed.ts). */
  pglite?: PGlite;
  /** Closes the pool / PGlite and releases the data directory. */
  destroy(): Promise<void>;
}

export async function openDatabase(config: DatabaseConfig, logger: Logger = silentLogger()): Promise<DatabaseHandle> {
  return config.kind === 'postgres' ? openPostgres(config, logger) : openPGlite(config.dataDir);
}

function openPostgres(config: Extract<DatabaseConfig, { kind: 'postgres' }>, logger: Logger): DatabaseHandle {
  const pool = new pg.Pool({
    connectionString: config.url,
    max: config.poolMax,
    connectionTimeoutMillis: config.connectTimeoutMs,
    // Bounds every statement on the server; a runaway query surfaces as
    // StatementTimeoutError instead of pinning a connection.
    statement_timeout: config.statementTimeoutMs,
    // A crashed caller must not leave a transaction holding locks.
    idle_in_transaction_session_timeout: Math.max(config.statementTimeoutMs * 2, 60_000),
    idleTimeoutMillis: 30_000,
  });
  // An idle connection that the server drops (restart, failover,
  // pg_terminate_backend) emits 'error' on the pool; without a listener Node
  // would crash the process. pg discards that client and opens a fresh one on
  // the next checkout, so logging is all there is to do here. A query that was
  // running on a dropped connection rejects with DatabaseUnavailableError.
  pool.on('error', (err) => logger.warn({ err: err.message }, 'idle PostgreSQL connection lost; the pool will reconnect'));
  // The same can happen to a client between two queries while it is checked
  // out (kysely holds one across a transaction): the client then emits 'error'
  // itself, which the pool listener does not see. The query in flight, or the
  // next one, rejects and is mapped to DatabaseUnavailableError; pg evicts the
  // broken client when it is released.
  pool.on('connect', (client) => {
    client.on('error', (err) => logger.warn({ err: err.message }, 'PostgreSQL connection lost'));
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { db, kind: 'postgres', destroy: () => db.destroy() };
}

async function openPGlite(dataDir: string): Promise<DatabaseHandle> {
  // Loaded on demand: the WASM module is large and unused with PostgreSQL.
  const { PGlite } = await import('@electric-sql/pglite');
  if (dataDir === PGLITE_MEMORY) {
    const pglite = await PGlite.create();
    const db = new Kysely<Database>({ dialect: new PGliteDialect({ pglite }) });
    return { db, kind: 'pglite', pglite, destroy: () => db.destroy() };
  }
  const dir = resolve(dataDir);
  mkdirSync(dirname(dir), { recursive: true });
  const unlock = lockDirectory(dir);
  try {
    const pglite = await PGlite.create({ dataDir: dir });
    const db = new Kysely<Database>({ dialect: new PGliteDialect({ pglite }) });
    return {
      db,
      kind: 'pglite',
      pglite,
      destroy: async () => {
        try {
          await db.destroy();
        } finally {
          unlock();
        }
      },
    };
  } catch (err) {
    unlock();
    throw err;
  }
}
