// After the action, each pass mirrors what only one side knows to the other:
// the CR's status to the row, and the row's activity and secrets fingerprint
// to the CR's annotations. Only for a CR bound to the row (the loop calls
// this with the row execute() returned).
import { CustomObjectsApi, PatchStrategy, type KubeConfig } from '@kubernetes/client-node';
import type { Kysely } from 'kysely';
import { API_VERSION, GROUP, KIND, LAST_ACTIVITY_ANNOTATION, PLURAL, VERSION, type CaelusInstance } from '../domain/instance.ts';
import type { SyncedInstance } from '../db/repositories/instance-sync.ts';
import { recordInstanceStatus, type StatusUpdate } from '../db/repositories/instances.ts';
import type { Database } from '../db/schema.ts';
import { EMPTY_SECRETS_FINGERPRINT, secretsFingerprint } from '../db/secret-source.ts';
import { isNotFound, toKubeApiError } from '../k8s/errors.ts';
import { contentType } from '../k8s/request-options.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import { planAnnotations } from './annotations.ts';
import { SYNC_FIELD_MANAGER, annotatedSpecVersion } from './spec.ts';

const MAX_STATUS_MESSAGE = 4096;

export interface MirrorDeps {
  db: Kysely<Database>;
  kc: KubeConfig;
  log: Logger;
  metrics?: Metrics | undefined;
  /** See InstanceSyncOptions.activityGranularityMs. */
  activityGranularityMs: number;
}

export class Mirror {
  readonly #d: MirrorDeps;
  readonly #custom: CustomObjectsApi;

  constructor(deps: MirrorDeps) {
    this.#d = deps;
    this.#custom = deps.kc.makeApiClient(CustomObjectsApi);
  }

  /** Copies phase, message, helm revision, observed spec version and last reconcile to the row, when any changed. */
  async copyStatus(row: SyncedInstance, cr: CaelusInstance): Promise<void> {
    const s = cr.status;
    if (!s?.phase) return;
    const update: StatusUpdate = {
      status: s.phase,
      statusMessage: s.message === undefined ? null : s.message.slice(0, MAX_STATUS_MESSAGE),
      helmRevision: s.release?.revision ?? null,
    };
    if (s.lastReconcile) update.reconciledAt = new Date(s.lastReconcile);
    // observedGeneration names a generation; the annotation names the spec
    // version that generation carries (both change in one apply).
    if (s.observedGeneration !== undefined && s.observedGeneration === cr.metadata.generation) {
      const observed = row.source === 'api' ? annotatedSpecVersion(cr) : row.specVersion;
      if (observed !== undefined) update.observedSpecVersion = observed;
    }
    const same =
      update.status === row.status &&
      update.statusMessage === row.statusMessage &&
      update.helmRevision === row.helmRevision &&
      (update.observedSpecVersion === undefined || update.observedSpecVersion === row.observedSpecVersion) &&
      (update.reconciledAt === undefined || update.reconciledAt.getTime() === row.lastReconcileAt?.getTime());
    if (same) return;
    await recordInstanceStatus(this.#d.db, row.id, update);
  }

  /**
   * Brings the CR's last-activity and secrets-fingerprint annotations up to
   * the row by a merge patch of metadata.annotations only: no generation
   * bump, no helm run, and other managers' annotations are left alone.
   * Only a CR pushed for this row (source api) reads its secrets.
   */
  async syncAnnotations(row: SyncedInstance, cr: CaelusInstance, readsSecrets: boolean): Promise<{ requeueAfter: number } | void> {
    const plan = planAnnotations(
      {
        lastActivityAt: row.lastActivityAt,
        secretsFingerprint: readsSecrets ? await secretsFingerprint(this.#d.db, row.id) : undefined,
        emptyFingerprint: EMPTY_SECRETS_FINGERPRINT,
      },
      cr.metadata.annotations,
      new Date(),
      this.#d.activityGranularityMs,
    );
    if (plan.patch) {
      const name = cr.metadata.name;
      try {
        await this.#custom.patchClusterCustomObject(
          { group: GROUP, version: VERSION, plural: PLURAL, name, body: { metadata: { annotations: plan.patch } }, fieldManager: SYNC_FIELD_MANAGER },
          contentType(PatchStrategy.MergePatch),
        );
      } catch (err) {
        // Deleted meanwhile: the next pass sees it gone.
        if (isNotFound(err)) return;
        throw toKubeApiError(err, { operation: 'patch annotations', apiVersion: API_VERSION, kind: KIND, name });
      }
      for (const annotation of Object.keys(plan.patch)) {
        this.#d.metrics?.syncAnnotationWrites.inc({ annotation: annotation === LAST_ACTIVITY_ANNOTATION ? 'last-activity' : 'secrets-fingerprint' });
      }
      this.#d.log.debug({ namespace: row.namespace, instanceId: row.id, cr: name, annotations: Object.keys(plan.patch) }, 'annotations synced');
    }
    if (plan.recheckAfterMs !== undefined) return { requeueAfter: plan.recheckAfterMs };
  }
}
