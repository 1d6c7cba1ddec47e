// The Events the sync writes on CaelusInstances.
import type { InvolvedObject } from '../k8s/events.ts';

export const SyncEventReason = {
  /** Both sides changed (the database won), or a CR claims a row it is not bound to. */
  Conflict: 'SyncConflict',
  Imported: 'SyncImported',
  ImportRejected: 'SyncImportRejected',
  Adopted: 'SyncAdopted',
  AdoptFailed: 'SyncAdoptFailed',
} as const;
export type SyncEventReason = (typeof SyncEventReason)[keyof typeof SyncEventReason];

export interface SyncEventSink {
  event(obj: InvolvedObject, type: 'Normal' | 'Warning', reason: string, message: string): void;
}
