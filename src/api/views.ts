// Rows → the JSON the API returns. Dates become ISO strings here (not in the
// serialiser) so a stored idempotent response replays byte for byte.
import type { ProductTemplate, ProductTemplateVersion } from '../db/repositories/templates.ts';
import type { TenantInstance } from '../db/repositories/tenant-instances.ts';
import { effectiveValues } from '../domain/values.ts';
import type { LiveStatus } from './live-status.ts';

const iso = (d: Date | null): string | null => (d === null ? null : d.toISOString());

export function templateView(t: ProductTemplate) {
  return { id: t.id, name: t.name, description: t.description, createdAt: t.createdAt.toISOString() };
}

export function versionView(v: ProductTemplateVersion) {
  return {
    id: v.id,
    templateId: v.templateId,
    version: v.version,
    chart: v.chart,
    chartVersion: v.chartVersion,
    defaultValues: v.defaultValues,
    valuesSchema: v.valuesSchema,
    tier: v.tier,
    chartDigest: v.chartDigest,
    secrets: v.secrets,
    domainSuffixes: v.domainSuffixes,
    createdAt: v.createdAt.toISOString(),
  };
}

export type InstanceView = ReturnType<typeof instanceView>;

export function instanceView(i: TenantInstance) {
  return {
    id: i.id,
    userId: i.userId,
    template: { id: i.templateId, name: i.templateName },
    templateVersion: { id: i.productTemplateVersionId, version: i.templateVersion },
    namespace: i.namespace,
    domainName: i.domainName,
    values: i.values,
    state: i.state,
    status: i.status,
    statusMessage: i.statusMessage,
    source: i.source,
    specVersion: i.specVersion,
    observedSpecVersion: i.observedSpecVersion,
    helmRevision: i.helmRevision,
    lastReconcileAt: iso(i.lastReconcileAt),
    lastActivityAt: iso(i.lastActivityAt),
    expiresAt: iso(i.expiresAt),
    deletionPolicy: i.deletionPolicy,
    createdAt: i.createdAt.toISOString(),
    updatedAt: i.updatedAt.toISOString(),
  };
}

/** A list row: the instance and whether its template has a newer version. */
export function instanceListItemView(i: TenantInstance, newest: { id: string; version: string } | undefined) {
  return {
    ...instanceView(i),
    latestVersion: newest ? { id: newest.id, version: newest.version } : null,
    outdated: newest !== undefined && newest.id !== i.productTemplateVersionId,
  };
}

/**
 * One instance with everything a tenant asks about it: status (live from the
 * CR when the API can read the cluster, else what the sync copied to the
 * row), conditions, drift, URL and the effective values with the source of
 * each key.
 */
export function instanceDetailView(i: TenantInstance, defaults: Record<string, unknown>, live: LiveStatus | undefined) {
  const base = instanceView(i);
  const effective = effectiveValues({ defaults, overrides: i.values, domainName: i.domainName });
  return {
    ...base,
    ...(live?.phase ? { status: live.phase } : {}),
    ...(live?.message !== undefined ? { statusMessage: live.message } : {}),
    url: live?.url ?? null,
    conditions: live?.conditions ?? [],
    drift: live?.drift ?? null,
    statusSource: live ? ('cluster' as const) : ('database' as const),
    effectiveValues: effective.values,
    valuesProvenance: effective.provenance,
  };
}
