// Where the sync's Events go: the operator's recorder, handed in by
// src/compose. The reasons are domain's SyncReason (one union of Event reasons).
import type { SyncReason } from '../domain/instance.ts';
import type { InvolvedObject } from '../k8s/events.ts';

export interface SyncEventSink {
  event(obj: InvolvedObject, type: 'Normal' | 'Warning', reason: SyncReason, message: string): void;
}
