// What the DB ↔ CR sync (src/sync) reads and writes beyond the ordinary
// instance repository: the row together with its synced_spec, lookups by
// namespace that include soft-deleted rows, and the synced_spec bookkeeping.
// Spec changes, adoption and deletion go through instances.ts so they keep
// their validation and audit rows.
import { sql, type Kysely } from 'kysely';
import { jsonb } from '../json.ts';
import { translateErrors } from '../map-error.ts';
import type { Database, DeploymentInstanceRow, JsonObject } from '../schema.ts';
import { dnsLabel, nonNegativeInt, uuid } from '../validate.ts';
import { toInstance, type Instance } from './instances.ts';

/** The instance row together with what the sync last pushed or imported. */
export interface SyncedInstance extends Instance {
  /** The mapped spec last pushed to / imported from the CR; null = never synced. */
  syncedSpec: JsonObject | null;
  /** Last activity reported through the API (copied to the CR's caelus.io/last-activity). */
  lastActivityAt: Date | null;
}

function toSynced(row: DeploymentInstanceRow): SyncedInstance {
  return { ...toInstance(row), syncedSpec: (row.synced_spec as JsonObject | null) ?? null, lastActivityAt: row.last_activity_at };
}

/** The row with this id, deleted or not. */
export async function getSyncedInstance(db: Kysely<Database>, id: string): Promise<SyncedInstance | undefined> {
  const key = uuid('id', id);
  return translateErrors(async () => {
    const row = await db.selectFrom('deployment_instance').selectAll().where('id', '=', key).executeTakeFirst();
    return row && toSynced(row);
  });
}

/**
 * The live row in `namespace`, else the most recently deleted one (so the
 * sync can tell "the row was deleted, delete the CR" from "no row yet").
 */
export async function getSyncedInstanceByNamespace(db: Kysely<Database>, namespace: string): Promise<SyncedInstance | undefined> {
  const ns = dnsLabel('namespace', namespace);
  return translateErrors(async () => {
    const row = await db
      .selectFrom('deployment_instance')
      .selectAll()
      .where('namespace', '=', ns)
      // Live first (nulls first), then the latest deletion.
      .orderBy(sql`deleted_at desc nulls first`)
      .limit(1)
      .executeTakeFirst();
    return row && toSynced(row);
  });
}

/** Namespaces of every live row, and of rows deleted after `deletedSince` (for the periodic sweep). */
export async function listSyncNamespaces(db: Kysely<Database>, deletedSince: Date): Promise<string[]> {
  return translateErrors(async () => {
    const rows = await db
      .selectFrom('deployment_instance')
      .select('namespace')
      .distinct()
      .where((eb) => eb.or([eb('deleted_at', 'is', null), eb('deleted_at', '>', deletedSince)]))
      .execute();
    return rows.map((r) => r.namespace);
  });
}

/**
 * Records what the CR now holds for spec version `specVersion`. Conditional on
 * the row still being at that version: if the API changed it meanwhile, the
 * old synced_spec stays and the next pass sees a row change to push.
 * Does not touch updated_at (bookkeeping, not a change of the instance).
 */
export async function recordSyncedSpec(db: Kysely<Database>, id: string, specVersion: number, spec: JsonObject): Promise<boolean> {
  const key = uuid('id', id);
  const version = nonNegativeInt('specVersion', specVersion);
  return translateErrors(async () => {
    const result = await db
      .updateTable('deployment_instance')
      .set({ synced_spec: jsonb(spec) })
      .where('id', '=', key)
      .where('spec_version', '=', version)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  });
}
