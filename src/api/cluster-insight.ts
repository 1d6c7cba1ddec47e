// What the console shows about an instance that only the cluster knows:
// Events, Helm's release history, the release's objects with readiness, and
// the namespace's ResourceQuota use. Read with the API's own kubeconfig, like
// live-status.ts: Events and ResourceQuotas with the API's (read-only) rights;
// release records and the release's objects as the namespace's read-only
// `caelus-tenant-reader` ServiceAccount (get on the tenant's kinds, list on
// Secrets), so the API can never read more through a tenant's release than
// the tenant itself could, and can impersonate nothing that writes. Release records are tenant-writable: they are
// shown as data, checked and marked, never used to decide anything.
import { CoreV1Api, type CoreV1Event, type KubeConfig } from '@kubernetes/client-node';
import { parseManifest, ManifestError } from '../drift/release-manifest.ts';
import { readinessOf } from '../domain/readiness.ts';
import { tenantReaderUser } from '../domain/tenant.ts';
import { HelmReleaseSecrets, type StoredReleaseRecord } from '../helm/release-storage.ts';
import { KubeApiError, toKubeApiError } from '../k8s/errors.ts';
import { RawObjectClient } from '../k8s/raw-objects.ts';
import type { TenantInstance } from '../db/repositories/tenant-instances.ts';
import type { HistoryEntry, InstanceEvent, QuotaUse, ReleaseObject, ReleaseObjects } from './console-schemas.ts';

export interface InstanceClusterReader {
  events(instance: TenantInstance, limit: number): Promise<InstanceEvent[]>;
  history(instance: TenantInstance): Promise<HistoryEntry[]>;
  objects(instance: TenantInstance): Promise<ReleaseObjects>;
  quota(instance: TenantInstance): Promise<QuotaUse[]>;
}

/** The cluster could not answer (unreachable, or the API's rights do not allow the read): the route answers 503. */
export class ClusterReadError extends Error {
  override readonly name = 'ClusterReadError';
  constructor(message: string, cause: unknown) {
    super(message, { cause });
  }
}

/** Where the operator's EventRecorder puts Events about cluster-scoped CaelusInstances. */
const CR_EVENT_NAMESPACE = 'default';

/** The release of an instance is named like its namespace (the sync names CR, namespace and release alike). */
const releaseOf = (i: TenantInstance): string => i.namespace;

export class ClusterInsightReader implements InstanceClusterReader {
  readonly #core: CoreV1Api;
  readonly #releases: HelmReleaseSecrets;
  readonly #raw: RawObjectClient;

  constructor(kc: KubeConfig) {
    this.#core = kc.makeApiClient(CoreV1Api);
    this.#releases = new HelmReleaseSecrets(kc, { actAs: tenantReaderUser });
    this.#raw = new RawObjectClient(kc);
  }

  async events(instance: TenantInstance, limit: number): Promise<InstanceEvent[]> {
    const [inNamespace, aboutCr] = await Promise.all([
      read('list Events', () => this.#core.listNamespacedEvent({ namespace: instance.namespace })),
      read('list Events', () =>
        this.#core.listNamespacedEvent({
          namespace: CR_EVENT_NAMESPACE,
          fieldSelector: `involvedObject.kind=CaelusInstance,involvedObject.name=${releaseOf(instance)}`,
        }),
      ),
    ]);
    return [...inNamespace.items, ...aboutCr.items]
      .map(eventView)
      .sort((a, b) => (b.lastSeen ?? '').localeCompare(a.lastSeen ?? ''))
      .slice(0, limit);
  }

  async history(instance: TenantInstance): Promise<HistoryEntry[]> {
    const records = await read('list release records', () => this.#releases.records(releaseOf(instance), instance.namespace));
    return records.map((r) => historyEntry(r, releaseOf(instance), instance.namespace));
  }

  async objects(instance: TenantInstance): Promise<ReleaseObjects> {
    const records = await read('list release records', () => this.#releases.records(releaseOf(instance), instance.namespace));
    // Which revision is deployed comes from the row (the operator's status, copied by the sync), never
    // from the records: a tenant could write a newer one claiming "deployed". That revision's record
    // must still pass the checks, else no objects are shown rather than a tenant's invention; what is
    // listed is read as the tenant's reader, so a forged manifest can reveal nothing the tenant cannot read.
    if (instance.helmRevision === null) return { revision: null, items: [] };
    const deployed = records.find((r) => r.revisionLabel === instance.helmRevision);
    if (!deployed?.release || recordProblem(deployed, releaseOf(instance), instance.namespace)) return { revision: null, items: [] };
    let manifest;
    try {
      manifest = parseManifest(deployed.release.manifest, instance.namespace);
    } catch (err) {
      if (err instanceof ManifestError) return { revision: null, items: [] };
      throw err;
    }
    const asUser = tenantReaderUser(instance.namespace);
    const items = await Promise.all(
      manifest.map(async (m): Promise<ReleaseObject> => {
        const ref = { apiVersion: m.apiVersion, kind: m.kind, name: m.metadata.name, namespace: m.metadata.namespace ?? null };
        try {
          const live = await this.#raw.get({ apiVersion: ref.apiVersion, kind: ref.kind, name: ref.name, ...(ref.namespace ? { namespace: ref.namespace } : {}) }, { asUser });
          if (!live) return { ...ref, present: false, ready: null, summary: 'missing' };
          return { ...ref, present: true, ...readinessOf(m.kind, live) };
        } catch (err) {
          if (err instanceof KubeApiError && err.statusCode === 0) throw new ClusterReadError(`read ${m.kind} ${m.metadata.name}: ${err.message}`, err);
          // Forbidden to the reader, or a kind the cluster does not know: shown, not guessed.
          return { ...ref, present: false, ready: null, summary: `not readable: ${err instanceof KubeApiError ? (err.reason ?? `HTTP ${err.statusCode}`) : (err as Error).message}` };
        }
      }),
    );
    return { revision: deployed.release.revision, items };
  }

  async quota(instance: TenantInstance): Promise<QuotaUse[]> {
    const list = await read('list ResourceQuotas', () => this.#core.listNamespacedResourceQuota({ namespace: instance.namespace }));
    return list.items.flatMap((q) => {
      const hard = q.status?.hard ?? q.spec?.hard ?? {};
      const used = q.status?.used ?? {};
      return Object.keys(hard)
        .sort()
        .map((resource) => ({ quota: q.metadata?.name ?? '', resource, hard: hard[resource] ?? '', used: used[resource] ?? '0' }));
    });
  }
}

async function read<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    const e = toKubeApiError(err, { operation: what });
    throw new ClusterReadError(`${what}: ${e.message}`, e);
  }
}

const iso = (d: Date | string | undefined | null): string | null => (d ? new Date(d).toISOString() : null);

function eventView(e: CoreV1Event): InstanceEvent {
  const lastSeen = iso(e.lastTimestamp) ?? iso(e.eventTime) ?? iso(e.firstTimestamp) ?? iso(e.metadata?.creationTimestamp);
  return {
    type: e.type ?? 'Normal',
    reason: e.reason ?? '',
    message: e.message ?? '',
    object: { kind: e.involvedObject.kind ?? '', name: e.involvedObject.name ?? '', namespace: e.involvedObject.namespace ?? null },
    count: e.count ?? e.series?.count ?? 1,
    firstSeen: iso(e.firstTimestamp) ?? iso(e.eventTime) ?? lastSeen,
    lastSeen,
    source: e.source?.component ?? e.reportingComponent ?? '',
  };
}

/** Why a release record is not to be believed, or undefined: it decodes, and its name, namespace, revision and status agree with its Secret. */
export function recordProblem(r: StoredReleaseRecord, release: string, namespace: string): string | undefined {
  if (!r.release) return r.problem ?? 'it does not decode';
  if (r.release.name !== release) return `it names release ${r.release.name}, not ${release}`;
  if (r.release.namespace !== namespace) return `it names namespace ${r.release.namespace}, not ${namespace}`;
  if (r.release.revision !== r.revisionLabel) return `it claims revision ${r.release.revision} but its Secret ${r.secret} is revision ${r.revisionLabel}`;
  if (r.statusLabel !== null && r.statusLabel !== r.release.status) return `it claims status ${r.release.status} but its Secret is labelled ${r.statusLabel}`;
  return undefined;
}

function historyEntry(r: StoredReleaseRecord, release: string, namespace: string): HistoryEntry {
  const problem = recordProblem(r, release, namespace) ?? null;
  const rel = r.release;
  return {
    revision: rel?.revision ?? r.revisionLabel,
    status: rel?.status ?? r.statusLabel ?? 'unknown',
    chart: rel?.chart?.name ?? null,
    chartVersion: rel?.chart?.version ?? null,
    appVersion: rel?.chart?.appVersion ?? null,
    updatedAt: rel?.lastDeployed ?? null,
    description: rel?.description ?? '',
    trusted: problem === null,
    problem,
  };
}
