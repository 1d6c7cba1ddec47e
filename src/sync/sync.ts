// The DB ↔ CR sync (DESIGN §5). One work queue keyed by instance namespace
// (the identity both sides share: row.namespace is unique among live rows,
// and a CR owns spec.namespace ?? its name) is fed by row notifications
// (ChangeFeed), CaelusInstance watch events (Informer) and a periodic sweep.
// Each key is handled in three moves: observe both sides, decide() one
// action (src/sync/decide.ts), carry it out; then copy the CR's status to
// the row. Runs only while this replica leads (a leader task, see src/cli/operator.ts).
import { CustomObjectsApi, PatchStrategy, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import type { Kysely } from 'kysely';
import type { TemplateCatalog } from '../domain/catalog.ts';
import { API_VERSION, GROUP, KIND, PLURAL, VERSION, instanceNamespace, type CaelusInstance } from '../domain/instance.ts';
import { DataError, NotFoundError } from '../db/errors.ts';
import { recordAudit } from '../db/repositories/audit.ts';
import {
  getSyncedInstance,
  getSyncedInstanceByNamespace,
  listSyncNamespaces,
  recordSyncedSpec,
  type SyncedInstance,
} from '../db/repositories/instance-sync.ts';
import { createInstance, markInstanceDeleted, recordInstanceStatus, updateInstanceSpec, type SpecPatch, type StatusUpdate } from '../db/repositories/instances.ts';
import type { Database, JsonObject } from '../db/schema.ts';
import { EMPTY_SECRETS_FINGERPRINT, secretsFingerprint } from '../db/secret-source.ts';
import { isUuid } from '../db/validate.ts';
import { ObjectClient } from '../k8s/apply.ts';
import type { InvolvedObject } from '../k8s/events.ts';
import { Informer } from '../k8s/informer.ts';
import { isNotFound, toKubeApiError } from '../k8s/errors.ts';
import { contentType } from '../k8s/request-options.ts';
import { WorkQueue } from '../k8s/workqueue.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import { LAST_ACTIVITY_ANNOTATION, planAnnotations } from './annotations.ts';
import type { ChangeFeed } from './change-feed.ts';
import { SyncAction, decide, type CrView, type RowView, type SyncDecision } from './decide.ts';
import {
  INSTANCE_ID_ANNOTATION,
  SPEC_VERSION_ANNOTATION,
  SYNC_FIELD_MANAGER,
  USER_ID_LABEL,
  annotatedSpecVersion,
  crSpecFor,
  importableChanges,
  lastSpecManager,
  sameSpec,
  specFromCr,
  specFromRow,
  storedSyncedSpec,
  userIdLabelValue,
  type SyncedSpec,
} from './spec.ts';

/** Event reasons the sync writes on CaelusInstances. */
export const SyncEventReason = {
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

export interface InstanceSyncOptions {
  db: Kysely<Database>;
  kc: KubeConfig;
  /** Resolves `name@version` references of CRs to version ids (the database catalog). */
  catalog: TemplateCatalog;
  feed: ChangeFeed;
  events: SyncEventSink;
  log: Logger;
  metrics?: Metrics;
  /** Full pass over every row and CR this often (the safety net under notifications and watches). Default 30 s. */
  sweepIntervalMs?: number;
  /** Only CRs matching this selector are watched (sharding; test isolation). */
  labelSelector?: string;
  /** Labels put on every CR the sync applies (so an operator restricted by labelSelector sees them). */
  labels?: Record<string, string>;
  /** Keys handled at once (distinct namespaces never race). Default 4. */
  concurrency?: number;
  /**
   * Reported activity reaches the CR's caelus.io/last-activity at most once
   * per this interval per instance (and at most this late). Default 30 s.
   */
  activityGranularityMs?: number;
}

/** How long deleted rows stay in the sweep: their CRs may take a while to finish their finalizer. */
const DELETED_ROW_SWEEP_MS = 24 * 3600_000;
const MAX_STATUS_MESSAGE = 4096;

export class InstanceSync {
  readonly #o: InstanceSyncOptions;
  readonly #log: Logger;
  readonly #objects: ObjectClient;
  readonly #custom: CustomObjectsApi;
  #informer: Informer<KubernetesObject> | undefined;
  #queue: WorkQueue | undefined;
  #running = false;
  #ready = Promise.withResolvers<void>();
  /** Row id → namespace (never changes for a row): activity notifications cost no lookup. */
  readonly #namespaceOf = new Map<string, string>();

  constructor(opts: InstanceSyncOptions) {
    this.#o = opts;
    this.#log = opts.log.child({ component: 'sync' });
    this.#objects = new ObjectClient(opts.kc, { logger: this.#log });
    this.#custom = opts.kc.makeApiClient(CustomObjectsApi);
  }

  /** Syncs until `signal` aborts (lost leadership or shutdown). Never rejects: failures are logged and retried. */
  async run(signal: AbortSignal): Promise<void> {
    if (this.#running) throw new Error('InstanceSync.run() is already running');
    this.#running = true;
    this.#ready = Promise.withResolvers<void>();
    const queue = new WorkQueue({ logger: this.#log, name: 'sync', backoff: { baseDelayMs: 500, maxDelayMs: 60_000, jitter: 0.1 } });
    const informer = new Informer<KubernetesObject>(this.#o.kc, {
      logger: this.#log,
      resource: { apiVersion: API_VERSION, kind: KIND, plural: PLURAL },
      ...(this.#o.labelSelector ? { labelSelector: this.#o.labelSelector } : {}),
    });
    informer.onChange((obj) => queue.add(instanceNamespace(obj as unknown as CaelusInstance)));
    this.#queue = queue;
    this.#informer = informer;
    const stopInformer = () => void informer.stop();
    signal.addEventListener('abort', stopInformer, { once: true });
    let sweepTimer: NodeJS.Timeout | undefined;
    let feedStarted = false;
    try {
      await informer.start();
      await this.#o.feed.start({
        onChange: (id) => void this.#onRowChange(id),
        onListening: () => void this.sweep(),
      });
      feedStarted = true;
      this.#ready.resolve();
      sweepTimer = setInterval(() => void this.sweep(), this.#o.sweepIntervalMs ?? 30_000);
      sweepTimer.unref?.();
      this.#log.info({ sweepIntervalMs: this.#o.sweepIntervalMs ?? 30_000, labelSelector: this.#o.labelSelector }, 'sync running');
      await queue.run((ns) => this.#handle(ns), { concurrency: this.#o.concurrency ?? 4, signal, shutdownTimeoutMs: 10_000 });
    } catch (err) {
      if (!signal.aborted) this.#log.error({ err }, 'sync stopped with an error');
    } finally {
      clearInterval(sweepTimer);
      signal.removeEventListener('abort', stopInformer);
      await queue.shutdown({ timeoutMs: 10_000 });
      if (feedStarted) await this.#o.feed.stop().catch((err: unknown) => this.#log.warn({ err }, 'stopping the change feed failed'));
      await informer.stop();
      this.#queue = undefined;
      this.#informer = undefined;
      this.#running = false;
      this.#log.info('sync stopped');
    }
  }

  /** Resolves once the current run() watches CRs and listens for row changes. */
  whenReady(): Promise<void> {
    return this.#ready.promise;
  }

  /** Queues every live row, recently deleted row and watched CR. */
  async sweep(): Promise<void> {
    const queue = this.#queue;
    if (!queue) return;
    try {
      const namespaces = await listSyncNamespaces(this.#o.db, new Date(Date.now() - DELETED_ROW_SWEEP_MS));
      for (const ns of namespaces) queue.add(ns);
      for (const obj of this.#informer?.list() ?? []) queue.add(instanceNamespace(obj as unknown as CaelusInstance));
      this.#log.debug({ rows: namespaces.length }, 'sweep queued');
    } catch (err) {
      this.#log.warn({ err }, 'sweep failed; the next one retries');
    }
  }

  async #onRowChange(id: string): Promise<void> {
    const known = this.#namespaceOf.get(id);
    if (known) {
      this.#queue?.add(known);
      return;
    }
    try {
      const row = isUuid(id) ? await getSyncedInstance(this.#o.db, id) : undefined;
      if (row) this.#namespaceOf.set(row.id, row.namespace);
      if (row) this.#queue?.add(row.namespace);
    } catch (err) {
      this.#log.warn({ err, id }, 'could not look up a changed row; the next sweep picks it up');
    }
  }

  async #handle(ns: string): Promise<{ requeueAfter: number } | void> {
    const cached = this.#cachedCr(ns);
    let row = await this.#findRow(ns, cached);
    let cr = cached;
    let decision = decide(rowView(row), await this.#crView(cr));
    if (decision.action !== SyncAction.Nothing) {
      // The cache may lag behind our own last write; act only on what the API server says now.
      cr = await this.#getCr(cached?.metadata.name ?? ns);
      if (cr && instanceNamespace(cr) !== ns) cr = undefined;
      row = await this.#findRow(ns, cr);
      decision = decide(rowView(row), await this.#crView(cr));
    }
    const log = this.#log.child({ namespace: ns, instanceId: row?.id, cr: cr?.metadata.name });
    if (decision.action !== SyncAction.Nothing) log.info({ action: decision.action, reason: decision.reason }, 'sync');
    try {
      row = await this.#execute(decision, row, cr, ns, log);
      this.#o.metrics?.syncActions.inc({ action: decision.action, result: 'ok' });
    } catch (err) {
      if (decision.action !== SyncAction.Nothing) this.#o.metrics?.syncActions.inc({ action: decision.action, result: 'error' });
      throw err;
    }
    if (row && cr && !row.deletedAt && !cr.metadata.deletionTimestamp) {
      await this.#copyStatus(row, cr);
      return this.#syncAnnotations(row, cr);
    }
  }

  /**
   * Brings the CR's last-activity and secrets-fingerprint annotations up to
   * the row by a merge patch of metadata.annotations only: no generation
   * bump, no helm run, and other managers' annotations are left alone.
   */
  async #syncAnnotations(row: SyncedInstance, cr: CaelusInstance): Promise<{ requeueAfter: number } | void> {
    // Only a CR linked to this row reads its secrets (guardrails step).
    const linked = cr.metadata.annotations?.[INSTANCE_ID_ANNOTATION] === row.id;
    const plan = planAnnotations(
      {
        lastActivityAt: row.lastActivityAt,
        secretsFingerprint: linked ? await secretsFingerprint(this.#o.db, row.id) : undefined,
        emptyFingerprint: EMPTY_SECRETS_FINGERPRINT,
      },
      cr.metadata.annotations,
      new Date(),
      this.#o.activityGranularityMs ?? 30_000,
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
        this.#o.metrics?.syncAnnotationWrites.inc({ annotation: annotation === LAST_ACTIVITY_ANNOTATION ? 'last-activity' : 'secrets-fingerprint' });
      }
      this.#log.debug({ namespace: row.namespace, instanceId: row.id, cr: name, annotations: Object.keys(plan.patch) }, 'annotations synced');
    }
    if (plan.recheckAfterMs !== undefined) return { requeueAfter: plan.recheckAfterMs };
  }

  /** Carries the decision out; returns the row as it is afterwards (for the status copy). */
  async #execute(decision: SyncDecision, row: SyncedInstance | undefined, cr: CaelusInstance | undefined, ns: string, log: Logger): Promise<SyncedInstance | undefined> {
    switch (decision.action) {
      case SyncAction.Nothing:
        return row;
      case SyncAction.Apply: {
        await this.#apply(cr?.metadata.name ?? ns, row!, cr);
        return row;
      }
      case SyncAction.Conflict: {
        const manager = lastSpecManager(cr!.metadata.managedFields) ?? 'unknown';
        const discarded = (await this.#crView(cr))!.spec;
        await this.#apply(cr!.metadata.name, row!, cr);
        const message = `spec changed both in the cluster (by ${manager}) and in the database since the last sync; the database wins (spec version ${row!.specVersion})`;
        this.#o.events.event(cr!, 'Warning', SyncEventReason.Conflict, message);
        await recordAudit(this.#o.db, {
          actor: SYNC_FIELD_MANAGER,
          action: 'instance.sync.conflict',
          instanceId: row!.id,
          detail: { manager, specVersion: row!.specVersion, discarded: discarded as unknown as JsonObject },
        });
        log.warn({ manager }, message);
        return row;
      }
      case SyncAction.Import:
        return this.#import(row!, cr!, log);
      case SyncAction.Adopt:
        await this.#adopt(cr!, log);
        return undefined;
      case SyncAction.DeleteCR:
        await this.#deleteCr(cr!.metadata.name);
        return row;
      case SyncAction.MarkRowDeleted:
        try {
          await markInstanceDeleted(this.#o.db, row!.id, { actor: SYNC_FIELD_MANAGER });
        } catch (err) {
          // Deleted meanwhile (the API): the outcome we wanted.
          if (!(err instanceof NotFoundError)) throw err;
        }
        return undefined;
    }
  }

  /** Server-side applies the row's spec to CR `name` and records it as synced. */
  async #apply(name: string, row: SyncedInstance, before: CaelusInstance | undefined): Promise<void> {
    const spec = specFromRow(row);
    const body = {
      apiVersion: API_VERSION,
      kind: KIND,
      metadata: {
        name,
        labels: { ...this.#o.labels, [USER_ID_LABEL]: userIdLabelValue(spec.userId) },
        annotations: { [SPEC_VERSION_ANNOTATION]: String(row.specVersion), [INSTANCE_ID_ANNOTATION]: row.id },
      },
      spec: crSpecFor(spec),
    };
    // force: the database is canonical, so fields another manager (kubectl-edit) took are taken back.
    const applied = (await this.#objects.apply(body as KubernetesObject, { fieldManager: SYNC_FIELD_MANAGER, force: true })) as unknown as CaelusInstance;
    if (!sameSpec(specFromCr(applied), spec)) {
      // A field we stopped setting survives an apply when another manager
      // co-owns it (e.g. a kubectl edit that set the same value before it was
      // imported); remove or replace the stragglers explicitly.
      await this.#replaceSpecFields(applied, spec);
    }
    await recordSyncedSpec(this.#o.db, row.id, row.specVersion, spec as unknown as JsonObject);
    const pushedNew = (before ? annotatedSpecVersion(before) : undefined) !== row.specVersion;
    if (pushedNew) this.#o.metrics?.syncPropagationDelay.observe(Math.max(0, Date.now() - row.updatedAt.getTime()) / 1000);
  }

  async #replaceSpecFields(current: CaelusInstance, spec: SyncedSpec): Promise<void> {
    const desired = crSpecFor(spec) as unknown as Record<string, unknown>;
    const live = current.spec as unknown as Record<string, unknown>;
    const ops: Array<Record<string, unknown>> = [{ op: 'test', path: '/metadata/resourceVersion', value: current.metadata.resourceVersion }];
    for (const field of ['userId', 'productTemplateVersion', 'namespace', 'domainName', 'values', 'state', 'expiresAt', 'deletionPolicy']) {
      if (desired[field] !== undefined) ops.push({ op: 'add', path: `/spec/${field}`, value: desired[field] });
      else if (live[field] !== undefined) ops.push({ op: 'remove', path: `/spec/${field}` });
    }
    try {
      await this.#custom.patchClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, name: current.metadata.name, body: ops, fieldManager: SYNC_FIELD_MANAGER });
    } catch (err) {
      // A 409/422 (changed meanwhile) is retried by the queue with a fresh read.
      throw toKubeApiError(err, { operation: 'patch spec', apiVersion: API_VERSION, kind: KIND, name: current.metadata.name });
    }
  }

  async #import(row: SyncedInstance, cr: CaelusInstance, log: Logger): Promise<SyncedInstance> {
    const manager = lastSpecManager(cr.metadata.managedFields) ?? 'unknown';
    const crSpec = (await this.#crView(cr))!.spec;
    const rowSpec = specFromRow(row);
    const fields = importableChanges(crSpec, rowSpec);
    const patch: SpecPatch = {};
    for (const f of fields) {
      if (f === 'productTemplateVersion') patch.productTemplateVersionId = crSpec.productTemplateVersion;
      else if (f === 'domainName') patch.domainName = crSpec.domainName;
      else if (f === 'values') patch.values = crSpec.values;
      else if (f === 'state') patch.state = crSpec.state;
      else if (f === 'deletionPolicy') patch.deletionPolicy = crSpec.deletionPolicy;
      else patch.expiresAt = crSpec.expiresAt === null ? null : new Date(crSpec.expiresAt);
    }
    try {
      await updateInstanceSpec(this.#o.db, row.id, patch, { actor: `manager:${manager}`, fromCluster: true, expectedSpecVersion: row.specVersion });
    } catch (err) {
      // The edit cannot be stored (invalid values, unknown version): it cannot persist either.
      if (!(err instanceof DataError) || !['VALIDATION', 'UNKNOWN_REFERENCE'].includes(err.code)) throw err;
      const reverted = row.source === 'api';
      const message = `spec change by ${manager} not imported: ${err.message}${reverted ? '; reverted to the database spec' : ''}`;
      this.#o.events.event(cr, 'Warning', SyncEventReason.ImportRejected, message);
      log.warn({ manager, err: err.message }, message);
      if (reverted) await this.#apply(cr.metadata.name, row, cr);
      return row;
    }
    const updated = (await getSyncedInstance(this.#o.db, row.id))!;
    // Stamp the new version on the CR (API-managed only: adopted CRs belong to git).
    if (updated.source === 'api') await this.#apply(cr.metadata.name, updated, cr);
    else await recordSyncedSpec(this.#o.db, updated.id, updated.specVersion, specFromRow(updated) as unknown as JsonObject);
    const message = `spec change by ${manager} (${fields.join(', ')}) imported into the database as spec version ${updated.specVersion}`;
    this.#o.events.event(cr, 'Normal', SyncEventReason.Imported, message);
    log.info({ manager, fields, specVersion: updated.specVersion }, 'imported a CR edit');
    return updated;
  }

  async #adopt(cr: CaelusInstance, log: Logger): Promise<void> {
    const manager = lastSpecManager(cr.metadata.managedFields) ?? 'unknown';
    const spec = (await this.#crView(cr))!.spec;
    if (!isUuid(spec.productTemplateVersion)) {
      // The row's version is a foreign key: without a real version there is nothing to adopt into.
      const message = `not adopted: product template version "${cr.spec.productTemplateVersion}" does not exist in the database (retried at every sweep)`;
      this.#o.events.event(cr, 'Warning', SyncEventReason.AdoptFailed, message);
      log.warn(message);
      return;
    }
    try {
      const created = await createInstance(
        this.#o.db,
        {
          userId: spec.userId,
          productTemplateVersionId: spec.productTemplateVersion,
          namespace: spec.namespace,
          domainName: spec.domainName,
          values: spec.values,
          state: spec.state,
          source: 'cluster',
          expiresAt: spec.expiresAt === null ? null : new Date(spec.expiresAt),
          deletionPolicy: spec.deletionPolicy,
        },
        { actor: `manager:${manager}` },
      );
      await recordSyncedSpec(this.#o.db, created.id, created.specVersion, spec as unknown as JsonObject);
      this.#o.events.event(cr, 'Normal', SyncEventReason.Adopted, `adopted into the database as instance ${created.id} (source cluster; created by ${manager})`);
      log.info({ instanceId: created.id, manager }, 'adopted a CR');
    } catch (err) {
      if (!(err instanceof DataError) || !['VALIDATION', 'UNKNOWN_REFERENCE', 'DUPLICATE'].includes(err.code)) throw err;
      const message = `not adopted: ${err.message} (retried at every sweep)`;
      this.#o.events.event(cr, 'Warning', SyncEventReason.AdoptFailed, message);
      log.warn(message);
    }
  }

  async #deleteCr(name: string): Promise<void> {
    await this.#objects.delete({ apiVersion: API_VERSION, kind: KIND, name });
  }

  /** Copies phase, message, helm revision, observed spec version and last reconcile to the row, when any changed. */
  async #copyStatus(row: SyncedInstance, cr: CaelusInstance): Promise<void> {
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
    await recordInstanceStatus(this.#o.db, row.id, update);
  }

  #cachedCr(ns: string): CaelusInstance | undefined {
    const informer = this.#informer;
    if (!informer) return undefined;
    const byName = informer.get(ns) as unknown as CaelusInstance | undefined;
    if (byName && instanceNamespace(byName) === ns) return byName;
    return (informer.list() as unknown as CaelusInstance[]).find((o) => instanceNamespace(o) === ns);
  }

  async #getCr(name: string): Promise<CaelusInstance | undefined> {
    return (await this.#objects.get({ apiVersion: API_VERSION, kind: KIND, name })) as unknown as CaelusInstance | undefined;
  }

  /** The row a CR was pushed for (its instance-id annotation), else the row of its namespace (live, else the latest deleted). */
  async #findRow(ns: string, cr: CaelusInstance | undefined): Promise<SyncedInstance | undefined> {
    const id = cr?.metadata.annotations?.[INSTANCE_ID_ANNOTATION];
    if (id && isUuid(id)) return getSyncedInstance(this.#o.db, id);
    return getSyncedInstanceByNamespace(this.#o.db, ns);
  }

  async #crView(cr: CaelusInstance | undefined): Promise<CrView | undefined> {
    if (!cr) return undefined;
    const ref = cr.spec.productTemplateVersion;
    const versionId = isUuid(ref) ? undefined : (await this.#o.catalog.resolve(ref))?.id;
    const id = cr.metadata.annotations?.[INSTANCE_ID_ANNOTATION];
    return {
      spec: specFromCr(cr, versionId),
      instanceId: id && isUuid(id) ? id : undefined,
      specVersion: annotatedSpecVersion(cr),
      deleting: Boolean(cr.metadata.deletionTimestamp),
      createdAt: cr.metadata.creationTimestamp ? new Date(cr.metadata.creationTimestamp) : undefined,
    };
  }
}

function rowView(row: SyncedInstance | undefined): RowView | undefined {
  if (!row) return undefined;
  return {
    id: row.id,
    source: row.source,
    specVersion: row.specVersion,
    spec: specFromRow(row),
    syncedSpec: storedSyncedSpec(row.syncedSpec),
    deletedAt: row.deletedAt,
  };
}
