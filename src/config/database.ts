// Where the data lives: PostgreSQL when DATABASE_URL is set, else embedded
// PGlite under a directory, so `caelus dev` needs no server.
import { ConfigError } from './errors.ts';

export type DatabaseConfig =
  | {
      kind: 'postgres';
      url: string;
      /** Pool size (CAELUS_DB_POOL_MAX). */
      poolMax: number;
      /** Server-side statement_timeout per connection (CAELUS_DB_STATEMENT_TIMEOUT_MS). */
      statementTimeoutMs: number;
      /** How long to wait for a connection from the server (CAELUS_DB_CONNECT_TIMEOUT_MS). */
      connectTimeoutMs: number;
    }
  | {
      kind: 'pglite';
      /** Data directory (CAELUS_DB_DIR, default .caelus/db); `memory://` keeps nothing on disk. */
      dataDir: string;
    };

export const DEFAULT_PGLITE_DIR = '.caelus/db';
export const PGLITE_MEMORY = 'memory://';

type Env = Record<string, string | undefined>;

export function databaseConfigFromEnv(env: Env = process.env): DatabaseConfig {
  const url = env['DATABASE_URL']?.trim();
  if (url) {
    if (!/^postgres(ql)?:\/\//.test(url)) throw new ConfigError('DATABASE_URL', 'must be a postgres:// or postgresql:// URL');
    return {
      kind: 'postgres',
      url,
      poolMax: positiveInt(env, 'CAELUS_DB_POOL_MAX', 10),
      statementTimeoutMs: positiveInt(env, 'CAELUS_DB_STATEMENT_TIMEOUT_MS', 30_000),
      connectTimeoutMs: positiveInt(env, 'CAELUS_DB_CONNECT_TIMEOUT_MS', 5_000),
    };
  }
  return { kind: 'pglite', dataDir: env['CAELUS_DB_DIR']?.trim() || DEFAULT_PGLITE_DIR };
}

function positiveInt(env: Env, name: string, fallback: number): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  if (!/^[1-9][0-9]*$/.test(raw)) throw new ConfigError(name, `must be a positive integer, got "${raw}"`);
  return Number(raw);
}
