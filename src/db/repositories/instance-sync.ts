// What the DB ↔ CR sync (src/sync) reads and writes beyond the ordinary
// instance repository: the row together with its synced_spec, lookups by
// namespace that include soft-deleted rows, and the synced_spec bookkeeping.
// Spec changes, adoption and deletion go through instances.ts so they keep
// their validation and audit rows. Also the one rule deciding whether a CR is
// a row's CR (bindingMismatch), used by the sync and by the operator's secret
// source alike.
import { sql, type Kysely } from 'kysely';
import { INSTANCE_ID_ANNOTATION, instanceNamespace, type CaelusInstance } from '../../domain/instance.ts';
import { jsonb } from '../json.ts';
import { translateErrors } from '../map-error.ts';
import type { Database, DeploymentInstanceRow, JsonObject } from '../schema.ts';
import { dnsLabel, isUuid, nonNegativeInt, shardName, uuid } from '../validate.ts';
import { toInstance, type Instance } from './instances.ts';

/** The instance row together with what the sync last pushed or imported. */
export interface SyncedInstance extends Instance {
  /** The mapped spec last pushed to / imported from the CR; null = never synced. */
  syncedSpec: JsonObject | null;
  /** Last activity reported through the API (copied to the CR's caelus.io/last-activity). */
  lastActivityAt: Date | null;
  /** metadata.uid of the CR bound to the row; null until the sync first binds one. */
  crUid: string | null;
  /** The shard the instance was assigned to; null = the default shard (src/domain/shard.ts). */
  shard: string | null;
}

function toSynced(row: DeploymentInstanceRow): SyncedInstance {
  return { ...toInstance(row), syncedSpec: (row.synced_spec as JsonObject | null) ?? null, lastActivityAt: row.last_activity_at, crUid: row.cr_uid, shard: row.shard };
}

/** What binding compares of a row. */
export interface BindingRow {
  id: string;
  namespace: string;
  userId: string;
  crUid: string | null;
}

/** What binding compares of a CR: who it is and what its spec claims. */
export interface CrIdentity {
  uid: string | undefined;
  namespace: string;
  userId: string;
}

export function crIdentity(cr: Pick<CaelusInstance, 'metadata' | 'spec'>): CrIdentity {
  return { uid: cr.metadata.uid, namespace: instanceNamespace(cr), userId: cr.spec.userId };
}

/**
 * Why `cr` is not the CR of `row` (a sentence for an Event), or undefined
 * when it is. The caelus.io/instance-id annotation only says which row a CR
 * claims: anyone who can write a CR can write it. The claim holds only when
 * the row's namespace and owner are the CR's and, once the sync recorded the
 * uid of the row's CR, the CR is that very object. A CR that fails this gets
 * neither the row's secrets (src/db/secret-source.ts) nor a say over the row
 * (the sync imports nothing from it and pushes nothing to it).
 */
export function bindingMismatch(row: BindingRow, cr: CrIdentity): string | undefined {
  const reasons: string[] = [];
  if (row.crUid !== null && cr.uid !== row.crUid) reasons.push(`is bound to the CaelusInstance with uid ${row.crUid}, not to this one (uid ${cr.uid ?? 'none'})`);
  if (cr.namespace !== row.namespace) reasons.push(`owns namespace "${row.namespace}", but this CaelusInstance's namespace is "${cr.namespace}"`);
  if (cr.userId !== row.userId) reasons.push(`belongs to user "${row.userId}", but this CaelusInstance's spec.userId is "${cr.userId}"`);
  return reasons.length > 0 ? `instance ${row.id} ${reasons.join('; ')}` : undefined;
}

/** The row id a CR's caelus.io/instance-id annotation claims, when it is one. */
export function claimedInstanceId(cr: Pick<CaelusInstance, 'metadata'>): string | undefined {
  const id = cr.metadata.annotations?.[INSTANCE_ID_ANNOTATION];
  return id !== undefined && isUuid(id) ? id : undefined;
}

/**
 * The live row `cr` claims and is bound to (bindingMismatch), else undefined:
 * what the operator may read the secrets of for this CR.
 */
export async function boundInstance(db: Kysely<Database>, cr: Pick<CaelusInstance, 'metadata' | 'spec'>): Promise<SyncedInstance | undefined> {
  const id = claimedInstanceId(cr);
  if (!id) return undefined;
  const row = await getSyncedInstance(db, id);
  if (!row || row.deletedAt || bindingMismatch(row, crIdentity(cr)) !== undefined) return undefined;
  return row;
}

/**
 * Records `uid` as the row's CR unless one is recorded already (the first
 * binding stands; a different CR never replaces it). Like synced_spec, no
 * notification: it never needs a push.
 */
export async function bindCr(db: Kysely<Database>, id: string, uid: string): Promise<void> {
  const key = uuid('id', id);
  await translateErrors(() => db.updateTable('deployment_instance').set({ cr_uid: uid }).where('id', '=', key).where('cr_uid', 'is', null).execute());
}

/** Records the shard an admin moved the instance's CR to (no notification: nothing to push). */
export async function setInstanceShard(db: Kysely<Database>, id: string, shard: string): Promise<void> {
  const key = uuid('id', id);
  const value = shardName(shard);
  await translateErrors(() => db.updateTable('deployment_instance').set({ shard: value }).where('id', '=', key).execute());
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
export async function listSyncNamespaces(db: Kysely<Database>, deletedSince: Date, only?: { shard: string; withUnassigned: boolean }): Promise<string[]> {
  return translateErrors(async () => {
    let q = db
      .selectFrom('deployment_instance')
      .select('namespace')
      .distinct()
      .where((eb) => eb.or([eb('deleted_at', 'is', null), eb('deleted_at', '>', deletedSince)]));
    if (only) q = q.where((eb) => (only.withUnassigned ? eb.or([eb('shard', '=', only.shard), eb('shard', 'is', null)]) : eb('shard', '=', only.shard)));
    const rows = await q.execute();
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
