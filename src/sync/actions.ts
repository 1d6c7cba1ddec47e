// Carrying out what decide() chose (src/sync/decide.ts), one function per
// SyncAction. The loop (src/sync/loop.ts) observes both sides and calls
// execute(); everything here writes.
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import type { Kysely } from 'kysely';
import { API_VERSION, GROUP, INSTANCE_ID_ANNOTATION, KIND, PLURAL, SyncReason, VERSION, type CaelusInstance, type CaelusInstanceSpec } from '../domain/instance.ts';
import { SHARD_LABEL } from '../domain/shard.ts';
import { DataError, NotFoundError } from '../db/errors.ts';
import { recordAudit } from '../db/repositories/audit.ts';
import { bindCr, getSyncedInstance, recordSyncedSpec, type SyncedInstance } from '../db/repositories/instance-sync.ts';
import { createInstance, markInstanceDeleted, updateInstanceSpec, type SpecPatch } from '../db/repositories/instances.ts';
import type { Database } from '../db/schema.ts';
import { isUuid } from '../db/validate.ts';
import { ObjectClient } from '../k8s/apply.ts';
import { toKubeApiError } from '../k8s/errors.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import { asCaelusInstance } from './cr.ts';
import { SyncAction, type CrView, type SyncDecision } from './decide.ts';
import type { SyncEventSink } from './events.ts';
import {
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
  syncedSpecJson,
  userIdLabelValue,
  type SyncedSpec,
} from './spec.ts';

/** One key's observation: the row and CR decide() was given. */
export interface Observed {
  /** The work-queue key: the instance namespace. */
  namespace: string;
  row: SyncedInstance | undefined;
  cr: CaelusInstance | undefined;
  /** The CR as decide() saw it (its template version resolved). */
  crView: CrView | undefined;
}

export interface SyncActionDeps {
  db: Kysely<Database>;
  kc: KubeConfig;
  events: SyncEventSink;
  log: Logger;
  metrics?: Metrics | undefined;
  /** Labels put on every CR the sync applies. */
  labels?: Record<string, string> | undefined;
}

/** The CR spec fields the sync writes, each checked when an apply left a straggler. */
const SPEC_FIELDS = ['userId', 'productTemplateVersion', 'namespace', 'domainName', 'values', 'state', 'expiresAt', 'deletionPolicy'] as const satisfies readonly (keyof CaelusInstanceSpec)[];

export class SyncActions {
  readonly #d: SyncActionDeps;
  readonly #objects: ObjectClient;
  readonly #custom: CustomObjectsApi;

  constructor(deps: SyncActionDeps) {
    this.#d = deps;
    this.#objects = new ObjectClient(deps.kc, { logger: deps.log });
    this.#custom = deps.kc.makeApiClient(CustomObjectsApi);
  }

  /**
   * Carries the decision out. Returns the row the CR is bound to afterwards
   * (its status is then copied to it), undefined when there is none.
   */
  async execute(decision: SyncDecision, o: Observed, log: Logger): Promise<SyncedInstance | undefined> {
    const { row, cr, crView } = o;
    switch (decision.action) {
      case SyncAction.Nothing:
        return row;
      case SyncAction.Apply:
        return this.apply(cr?.metadata.name ?? o.namespace, need(row), cr);
      case SyncAction.Conflict:
        return this.conflict(need(row), need(cr), need(crView).spec, log);
      case SyncAction.Import:
        return this.importEdit(need(row), need(cr), need(crView).spec, log);
      case SyncAction.Adopt:
        await this.adopt(need(cr), need(crView).spec, log);
        return undefined;
      case SyncAction.DeleteCR:
        await this.#objects.delete({ apiVersion: API_VERSION, kind: KIND, name: need(cr).metadata.name });
        return row;
      case SyncAction.MarkRowDeleted:
        await this.markRowDeleted(need(row));
        return undefined;
      case SyncAction.Refuse:
        this.refuse(need(cr), decision.reason, log);
        return undefined;
    }
  }

  /** Server-side applies the row's spec to CR `name`, records it as synced and binds the CR to the row. */
  async apply(name: string, row: SyncedInstance, before: CaelusInstance | undefined): Promise<SyncedInstance> {
    const spec = specFromRow(row);
    // The shard is chosen once, when the instance is created (the API records
    // it in the row); a CR keeps the label it has, so only an admin moves it.
    const shard = before?.metadata.labels?.[SHARD_LABEL] ?? row.shard ?? undefined;
    const body = {
      apiVersion: API_VERSION,
      kind: KIND,
      metadata: {
        name,
        labels: { ...this.#d.labels, ...(shard ? { [SHARD_LABEL]: shard } : {}), [USER_ID_LABEL]: userIdLabelValue(spec.userId) },
        annotations: { [SPEC_VERSION_ANNOTATION]: String(row.specVersion), [INSTANCE_ID_ANNOTATION]: row.id },
      },
      spec: crSpecFor(spec),
    };
    // force: the database is canonical, so fields another manager (kubectl-edit) took are taken back.
    const applied = asCaelusInstance(await this.#objects.apply(body, { fieldManager: SYNC_FIELD_MANAGER, force: true }));
    if (!sameSpec(specFromCr(applied), spec)) {
      // A field we stopped setting survives an apply when another manager
      // co-owns it (e.g. a kubectl edit that set the same value before it was
      // imported); remove or replace the stragglers explicitly.
      await this.#replaceSpecFields(applied, spec);
    }
    await recordSyncedSpec(this.#d.db, row.id, row.specVersion, syncedSpecJson(spec));
    if (applied.metadata.uid && row.crUid === null) await bindCr(this.#d.db, row.id, applied.metadata.uid);
    const pushedNew = (before ? annotatedSpecVersion(before) : undefined) !== row.specVersion;
    if (pushedNew) this.#d.metrics?.syncPropagationDelay.observe(Math.max(0, Date.now() - row.updatedAt.getTime()) / 1000);
    return row;
  }

  async #replaceSpecFields(current: CaelusInstance, spec: SyncedSpec): Promise<void> {
    const desired = crSpecFor(spec);
    const live = current.spec;
    const ops: Array<Record<string, unknown>> = [{ op: 'test', path: '/metadata/resourceVersion', value: current.metadata.resourceVersion }];
    for (const field of SPEC_FIELDS) {
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

  /** Both sides changed: the row is pushed (the database wins) and the discarded CR spec goes to the audit log. */
  async conflict(row: SyncedInstance, cr: CaelusInstance, discarded: SyncedSpec, log: Logger): Promise<SyncedInstance> {
    const manager = lastSpecManager(cr.metadata.managedFields) ?? 'unknown';
    await this.apply(cr.metadata.name, row, cr);
    const message = `spec changed both in the cluster (by ${manager}) and in the database since the last sync; the database wins (spec version ${row.specVersion})`;
    this.#d.events.event(cr, 'Warning', SyncReason.Conflict, message);
    await recordAudit(this.#d.db, {
      actor: SYNC_FIELD_MANAGER,
      action: 'instance.sync.conflict',
      instanceId: row.id,
      detail: { manager, specVersion: row.specVersion, discarded: syncedSpecJson(discarded) },
    });
    log.warn({ manager }, message);
    return row;
  }

  /** Copies a CR spec edit (kubectl, GitOps) into the row; an edit the row cannot hold is reported (and reverted for API rows). */
  async importEdit(row: SyncedInstance, cr: CaelusInstance, crSpec: SyncedSpec, log: Logger): Promise<SyncedInstance> {
    const manager = lastSpecManager(cr.metadata.managedFields) ?? 'unknown';
    const fields = importableChanges(crSpec, specFromRow(row));
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
      await updateInstanceSpec(this.#d.db, row.id, patch, { actor: `manager:${manager}`, fromCluster: true, expectedSpecVersion: row.specVersion });
    } catch (err) {
      // The edit cannot be stored (invalid values, unknown version): it cannot persist either.
      if (!(err instanceof DataError) || !['VALIDATION', 'UNKNOWN_REFERENCE'].includes(err.code)) throw err;
      const reverted = row.source === 'api';
      const message = `spec change by ${manager} not imported: ${err.message}${reverted ? '; reverted to the database spec' : ''}`;
      this.#d.events.event(cr, 'Warning', SyncReason.ImportRejected, message);
      log.warn({ manager, err: err.message }, message);
      if (reverted) await this.apply(cr.metadata.name, row, cr);
      return row;
    }
    const updated = need(await getSyncedInstance(this.#d.db, row.id));
    // Stamp the new version on the CR (API-managed only: adopted CRs belong to git).
    if (updated.source === 'api') await this.apply(cr.metadata.name, updated, cr);
    else await recordSyncedSpec(this.#d.db, updated.id, updated.specVersion, syncedSpecJson(specFromRow(updated)));
    const message = `spec change by ${manager} (${fields.join(', ')}) imported into the database as spec version ${updated.specVersion}`;
    this.#d.events.event(cr, 'Normal', SyncReason.Imported, message);
    log.info({ manager, fields, specVersion: updated.specVersion }, 'imported a CR edit');
    return updated;
  }

  /** Inserts a row (source cluster) for a CR nobody created through the API, bound to that CR. */
  async adopt(cr: CaelusInstance, spec: SyncedSpec, log: Logger): Promise<void> {
    const manager = lastSpecManager(cr.metadata.managedFields) ?? 'unknown';
    if (!isUuid(spec.productTemplateVersion)) {
      // The row's version is a foreign key: without a real version there is nothing to adopt into.
      const message = `not adopted: product template version "${cr.spec.productTemplateVersion}" does not exist in the database (retried at every sweep)`;
      this.#d.events.event(cr, 'Warning', SyncReason.AdoptFailed, message);
      log.warn(message);
      return;
    }
    try {
      const created = await createInstance(
        this.#d.db,
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
          shard: cr.metadata.labels?.[SHARD_LABEL] || null,
        },
        { actor: `manager:${manager}` },
      );
      await recordSyncedSpec(this.#d.db, created.id, created.specVersion, syncedSpecJson(spec));
      if (cr.metadata.uid) await bindCr(this.#d.db, created.id, cr.metadata.uid);
      this.#d.events.event(cr, 'Normal', SyncReason.Adopted, `adopted into the database as instance ${created.id} (source cluster; created by ${manager})`);
      log.info({ instanceId: created.id, manager }, 'adopted a CR');
    } catch (err) {
      if (!(err instanceof DataError) || !['VALIDATION', 'UNKNOWN_REFERENCE', 'DUPLICATE'].includes(err.code)) throw err;
      const message = `not adopted: ${err.message} (retried at every sweep)`;
      this.#d.events.event(cr, 'Warning', SyncReason.AdoptFailed, message);
      log.warn(message);
    }
  }

  async markRowDeleted(row: SyncedInstance): Promise<void> {
    try {
      await markInstanceDeleted(this.#d.db, row.id, { actor: SYNC_FIELD_MANAGER });
    } catch (err) {
      // Deleted meanwhile (the API): the outcome we wanted.
      if (!(err instanceof NotFoundError)) throw err;
    }
  }

  /** A CR that claims a row it is not bound to: said on the CR, nothing read from or written to either side. */
  refuse(cr: CaelusInstance, reason: string, log: Logger): void {
    const message = `not synced: ${reason}; the caelus.io/instance-id annotation alone does not bind a CaelusInstance to an instance`;
    this.#d.events.event(cr, 'Warning', SyncReason.Conflict, message);
    log.warn({ claimed: cr.metadata.annotations?.[INSTANCE_ID_ANNOTATION] }, message);
  }
}

/** What decide() guarantees for the action taken (a row, a CR); a broken guarantee is a bug, said as one. */
function need<T>(value: T | undefined): T {
  if (value === undefined) throw new Error('sync: decide() chose an action without the object it acts on');
  return value;
}
