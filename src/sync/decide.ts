// Given what the database and the cluster say about one instance, choose the
// one thing the sync does about it (DESIGN §5: who wins). Pure, so the whole
// table is a unit test (test/unit/sync/decide.test.ts); src/sync/loop.ts
// observes, calls decide(), and src/sync/actions.ts carries the action out.
import { bindingMismatch } from '../db/repositories/instance-sync.ts';
import { importableChanges, sameSpec, type SyncedSpec } from './spec.ts';

export const SyncAction = {
  /** Push the row's spec to the CR (create it if missing) by server-side apply. */
  Apply: 'Apply',
  /** Copy a CR spec edit made by someone else (kubectl, GitOps) into the row. */
  Import: 'Import',
  /** Both sides changed since the last sync: push the row (the DB wins) and warn on the CR. */
  Conflict: 'Conflict',
  /** A CR nobody created through the API: insert a row with source = cluster. */
  Adopt: 'Adopt',
  /** The row was deleted: delete the CR (the operator's finalizer cleans up). */
  DeleteCR: 'DeleteCR',
  /** The CR was deleted in the cluster: soft-delete the row. */
  MarkRowDeleted: 'MarkRowDeleted',
  /**
   * The CR claims a live row it is not bound to (bindingMismatch: another
   * namespace, owner or CR): report it on the CR and touch neither side.
   */
  Refuse: 'Refuse',
  Nothing: 'Nothing',
} as const;
export type SyncAction = (typeof SyncAction)[keyof typeof SyncAction];

export interface RowView {
  id: string;
  source: 'api' | 'cluster';
  specVersion: number;
  spec: SyncedSpec;
  /** What the CR was last pushed / imported as; null = never synced. */
  syncedSpec: SyncedSpec | null;
  deletedAt: Date | null;
  /** metadata.uid of the CR bound to the row; null = none recorded yet. */
  crUid: string | null;
}

export interface CrView {
  spec: SyncedSpec;
  /** caelus.io/instance-id: the CR was pushed by the sync for this row. */
  instanceId: string | undefined;
  /** caelus.io/spec-version. */
  specVersion: number | undefined;
  /** metadata.uid. */
  uid: string | undefined;
  /** metadata.deletionTimestamp is set. */
  deleting: boolean;
  createdAt: Date | undefined;
}

export interface SyncDecision {
  action: SyncAction;
  /** Why, for logs and Events. */
  reason: string;
}

const d = (action: SyncAction, reason: string): SyncDecision => ({ action, reason });

export function decide(row: RowView | undefined, cr: CrView | undefined): SyncDecision {
  if (!cr) {
    if (!row) return d(SyncAction.Nothing, 'neither a row nor a CR');
    if (row.deletedAt) return d(SyncAction.Nothing, 'row deleted and CR gone');
    if (row.source === 'cluster') return d(SyncAction.MarkRowDeleted, 'the adopted CR was deleted');
    // A row never pushed is new; a row once pushed whose CR vanished was deleted in the cluster.
    return row.syncedSpec === null ? d(SyncAction.Apply, 'create the CR') : d(SyncAction.MarkRowDeleted, 'the CR was deleted in the cluster');
  }
  if (row && !row.deletedAt) {
    // Checked before anything reads or writes on the CR's word, deletion included.
    const mismatch = bindingMismatch(
      { id: row.id, namespace: row.spec.namespace, userId: row.spec.userId, crUid: row.crUid },
      { uid: cr.uid, namespace: cr.spec.namespace, userId: cr.spec.userId },
    );
    if (mismatch) {
      // The row's own CR (its recorded uid) with spec.userId edited: the database owns that field.
      const ours = row.crUid !== null && cr.uid === row.crUid;
      return ours && row.source === 'api' && !cr.deleting ? d(SyncAction.Apply, `revert an edit: ${mismatch}`) : d(SyncAction.Refuse, mismatch);
    }
  }
  if (cr.deleting) {
    // We only delete CRs of deleted rows, so a live row means someone else deleted it.
    return row && !row.deletedAt ? d(SyncAction.MarkRowDeleted, 'the CR is being deleted in the cluster') : d(SyncAction.Nothing, 'CR is being deleted');
  }
  if (!row) {
    // An annotated CR was pushed for a row that no longer exists at all (purged): leave it to a human.
    return cr.instanceId ? d(SyncAction.Nothing, `the CR names row ${cr.instanceId}, which does not exist`) : d(SyncAction.Adopt, 'a CR without a row');
  }
  if (row.deletedAt) {
    // A GitOps tool re-creating a CR after its row was deleted is a new instance, not a leftover.
    const recreated = !cr.instanceId && cr.createdAt !== undefined && cr.createdAt > row.deletedAt;
    return recreated ? d(SyncAction.Adopt, 'CR created after its namespace’s row was deleted') : d(SyncAction.DeleteCR, 'the row was deleted');
  }
  if (row.source === 'cluster') {
    // Git is the source of truth: never pushed, only imported (fields the row cannot hold are ignored).
    return importableChanges(cr.spec, row.spec).length > 0 ? d(SyncAction.Import, 'the adopted CR changed') : d(SyncAction.Nothing, 'in sync');
  }

  const pushed = cr.specVersion ?? 0;
  const rowChanged = pushed !== row.specVersion;
  // Without a synced_spec (never recorded) the annotation still tells: a CR at
  // the row's version that differs from the row was edited after our push.
  const crChanged = row.syncedSpec ? !sameSpec(cr.spec, row.syncedSpec) : pushed === row.specVersion && !sameSpec(cr.spec, row.spec);
  const agree = sameSpec(cr.spec, row.spec);

  if (crChanged && rowChanged) {
    return agree ? d(SyncAction.Apply, 'both sides changed to the same spec') : d(SyncAction.Conflict, 'both sides changed since the last sync');
  }
  if (crChanged) {
    // userId/namespace edits cannot be imported (the row keeps them): revert them.
    return importableChanges(cr.spec, row.spec).length > 0
      ? d(SyncAction.Import, 'the CR spec was edited in the cluster')
      : d(SyncAction.Apply, 'revert a CR edit of fields the database does not take from the cluster');
  }
  if (rowChanged) return d(SyncAction.Apply, pushed === 0 ? 'take over the CR' : 'the row changed');
  return agree ? d(SyncAction.Nothing, 'in sync') : d(SyncAction.Apply, 'repair: CR differs from the row');
}
