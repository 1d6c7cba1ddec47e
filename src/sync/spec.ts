// The part of a CaelusInstance spec that mirrors a deployment_instance row,
// and the small pure helpers around it (annotations, labels, field managers).
// Pure: no I/O, so src/sync/decide.ts and its unit test can use it freely.
import { createHash } from 'node:crypto';
import { canonicalJson } from '../domain/digest.ts';
import type { JsonObject } from '../db/schema.ts';
import { DeletionPolicy, instanceNamespace, type CaelusInstance, type CaelusInstanceSpec, type InstanceState } from '../domain/instance.ts';

/** Field manager of every write the sync makes to a CR. */
export const SYNC_FIELD_MANAGER = 'caelus-sync';
/** The row's spec_version the CR's spec was last pushed at (or imported as). */
export const SPEC_VERSION_ANNOTATION = 'caelus.io/spec-version';
/** The owner, when label-safe; otherwise a hash of it (labels allow 63 characters of [A-Za-z0-9._-]). */
export const USER_ID_LABEL = 'caelus.io/user-id';

/**
 * The row-mapped spec fields, normalised so that a row and a CR saying the
 * same thing compare equal: defaults filled in (state), absent = null,
 * timestamps as ISO strings, the template version as its uuid.
 */
export interface SyncedSpec {
  userId: string;
  productTemplateVersion: string;
  namespace: string;
  domainName: string | null;
  values: Record<string, unknown>;
  state: InstanceState;
  expiresAt: string | null;
  /** The CRD defaults it to Delete; so does the row. */
  deletionPolicy: DeletionPolicy;
}

/** The fields an imported CR edit may change in the row (updateInstanceSpec's SpecPatch); userId and namespace are not among them. */
export const IMPORTABLE_FIELDS = ['productTemplateVersion', 'domainName', 'values', 'state', 'expiresAt', 'deletionPolicy'] as const;
export type ImportableField = (typeof IMPORTABLE_FIELDS)[number];

/** What specFromRow needs of a row. */
export interface RowSpecSource {
  userId: string;
  productTemplateVersionId: string;
  namespace: string;
  domainName: string | null;
  values: Record<string, unknown>;
  state: InstanceState;
  expiresAt: Date | null;
  deletionPolicy: DeletionPolicy;
}

export function specFromRow(row: RowSpecSource): SyncedSpec {
  return {
    userId: row.userId,
    productTemplateVersion: row.productTemplateVersionId,
    namespace: row.namespace,
    domainName: row.domainName,
    values: row.values,
    state: row.state,
    expiresAt: row.expiresAt ? row.expiresAt.toISOString() : null,
    deletionPolicy: row.deletionPolicy,
  };
}

/**
 * The mapped spec of a CR. `versionId` is spec.productTemplateVersion
 * resolved to a uuid (a CR may say `webapp@1.0.0`); when it does not resolve
 * the raw reference stays, which then differs from any row.
 */
export function specFromCr(cr: Pick<CaelusInstance, 'metadata' | 'spec'>, versionId?: string): SyncedSpec {
  const s = cr.spec;
  return {
    userId: s.userId,
    productTemplateVersion: (versionId ?? s.productTemplateVersion).toLowerCase(),
    namespace: instanceNamespace(cr),
    domainName: s.domainName ?? null,
    values: s.values ?? {},
    state: s.state ?? 'Running',
    expiresAt: s.expiresAt ? normaliseTime(s.expiresAt) : null,
    deletionPolicy: s.deletionPolicy ?? DeletionPolicy.Delete,
  };
}

/**
 * A synced_spec as stored in the row. Specs recorded before a field was
 * mapped lack it; they get the value that field had by default then
 * (deletionPolicy: Delete, the CRD default), so adding a mapped field does not
 * make every CR look edited.
 */
export function storedSyncedSpec(json: unknown): SyncedSpec | null {
  if (json === null || json === undefined) return null;
  const spec = json as Partial<SyncedSpec>;
  return { ...spec, deletionPolicy: spec.deletionPolicy ?? DeletionPolicy.Delete } as SyncedSpec;
}

/** The spec as stored in synced_spec and audit details. */
export function syncedSpecJson(spec: SyncedSpec): JsonObject {
  // values came from a row's jsonb or a CR's JSON: JSON all the way down.
  return { ...spec, values: spec.values as JsonObject };
}

function normaliseTime(value: string): string {
  const t = Date.parse(value);
  return Number.isNaN(t) ? value : new Date(t).toISOString();
}

export function sameSpec(a: SyncedSpec, b: SyncedSpec): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

/** The importable fields on which `cr` differs from `row`. */
export function importableChanges(cr: SyncedSpec, row: SyncedSpec): ImportableField[] {
  return IMPORTABLE_FIELDS.filter((f) => canonicalJson(cr[f]) !== canonicalJson(row[f]));
}

/** The CR spec fields the sync owns: null fields are left out, so server-side apply removes them. */
export function crSpecFor(spec: SyncedSpec): CaelusInstanceSpec {
  return {
    userId: spec.userId,
    productTemplateVersion: spec.productTemplateVersion,
    namespace: spec.namespace,
    ...(spec.domainName === null ? {} : { domainName: spec.domainName }),
    values: spec.values,
    state: spec.state,
    ...(spec.expiresAt === null ? {} : { expiresAt: spec.expiresAt }),
    deletionPolicy: spec.deletionPolicy,
  };
}

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** A label value naming the user: the id itself when it is a valid label value, else `sha256-` + 40 hex digits of its hash. */
export function userIdLabelValue(userId: string): string {
  if (userId.length <= 63 && LABEL_VALUE.test(userId)) return userId;
  return `sha256-${createHash('sha256').update(userId).digest('hex').slice(0, 40)}`;
}

/** The spec-version annotation as a number; undefined when absent or not a positive integer. */
export function annotatedSpecVersion(cr: Pick<CaelusInstance, 'metadata'>): number | undefined {
  const raw = cr.metadata.annotations?.[SPEC_VERSION_ANNOTATION];
  if (raw === undefined || !/^[1-9][0-9]{0,9}$/.test(raw)) return undefined;
  return Number(raw);
}

interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  time?: string | Date;
  fieldsV1?: Record<string, unknown>;
}

/**
 * The field manager that most recently wrote to spec, other than the sync
 * itself (`kubectl-edit`, `kubectl-client-side-apply`, `argocd-controller`,
 * …); undefined when only the sync did. Names the actor of an imported edit.
 */
export function lastSpecManager(managedFields: readonly unknown[] | undefined, exclude = SYNC_FIELD_MANAGER): string | undefined {
  let best: { manager: string; time: number } | undefined;
  for (const raw of managedFields ?? []) {
    const e = raw as ManagedFieldsEntry;
    if (!e.manager || e.manager === exclude || !e.fieldsV1 || !('f:spec' in e.fieldsV1)) continue;
    const time = e.time === undefined ? 0 : new Date(e.time).getTime();
    if (!best || time >= best.time) best = { manager: e.manager, time: Number.isNaN(time) ? 0 : time };
  }
  return best?.manager;
}

/**
 * The labels an equality-only selector (`a=b,c==d`) requires, so CRs the sync
 * creates are seen by an operator restricted to that selector (sharding, test
 * isolation). Undefined for selectors that are not plain equalities.
 */
export function labelsFromSelector(selector: string | undefined): Record<string, string> | undefined {
  if (!selector?.trim()) return {};
  const labels: Record<string, string> = {};
  for (const part of selector.split(',')) {
    const m = /^\s*([A-Za-z0-9./_-]+)\s*==?\s*([A-Za-z0-9._-]*)\s*$/.exec(part);
    if (!m) return undefined;
    labels[m[1]!] = m[2]!;
  }
  return labels;
}
