// Applies migrations/ through kysely's Migrator. On Postgres the Migrator runs
// in a transaction holding pg_advisory_xact_lock, so several processes starting
// at once apply each migration exactly once; the others wait and find nothing to do.
import type { Kysely } from 'kysely';
import { Migrator, type MigrationResult } from 'kysely/migration';
import { DataError } from './errors.ts';
import { migrationProvider } from './migrations.ts';
import type { Database } from './schema.ts';

export interface MigrationRun {
  /** Names of the migrations this call applied (or reverted, for down). */
  names: string[];
  millis: number;
}

export interface MigrationState {
  name: string;
  /** When it was applied; undefined while pending. */
  executedAt?: Date;
}

export class MigrationError extends DataError {
  constructor(migration: string | undefined, cause: unknown) {
    super(
      'DATABASE',
      `migration ${migration ?? '(setup)'} failed: ${cause instanceof Error ? cause.message : String(cause)}`,
      { migration },
      { cause },
    );
  }
}

function migrator(db: Kysely<Database>): Migrator {
  return new Migrator({ db, provider: migrationProvider });
}

function settle(results: MigrationResult[] | undefined, error: unknown, t0: number): MigrationRun {
  if (error !== undefined) {
    throw new MigrationError(results?.find((r) => r.status === 'Error')?.migrationName, error);
  }
  return { names: (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName), millis: Date.now() - t0 };
}

/** Applies every pending migration. */
export async function migrateUp(db: Kysely<Database>): Promise<MigrationRun> {
  const t0 = Date.now();
  const { results, error } = await migrator(db).migrateToLatest();
  return settle(results, error, t0);
}

/** Reverts the most recent migration (for development; production rolls forward). */
export async function migrateDown(db: Kysely<Database>): Promise<MigrationRun> {
  const t0 = Date.now();
  const { results, error } = await migrator(db).migrateDown();
  return settle(results, error, t0);
}

/** Every known migration, in order, with when it was applied. */
export async function migrationStatus(db: Kysely<Database>): Promise<MigrationState[]> {
  const all = await migrator(db).getMigrations();
  return all.map((m) => (m.executedAt ? { name: m.name, executedAt: m.executedAt } : { name: m.name }));
}
