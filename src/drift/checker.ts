// Finds and corrects drift for one release's objects. A check costs one API
// request per object whose live resourceVersion changed since it was last
// found clean (a dry-run apply), plus the reads; no helm process.
import type { DriftIgnoreRule } from '../domain/instance.ts';
import type { JsonObject, RawObjectClient } from '../k8s/raw-objects.ts';
import type { WithManagedFields } from '../k8s/managed-fields.ts';
import { driftedPointers, ignoreMatcher, type Json } from './diff.ts';
import type { ManifestObject } from './release-manifest.ts';

/** The field manager Helm uses (Helm 4 applies server-side as "helm"; Helm 3 updates as "helm"). */
export const HELM_FIELD_MANAGER = 'helm';

export interface DriftedResource {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
  /** The object does not exist. */
  missing: boolean;
  /** JSON pointers of the fields that differ; values are never reported (Secrets). */
  pointers: string[];
}

export interface CheckOptions {
  ignore: readonly DriftIgnoreRule[];
  /** Hibernated instances run at zero replicas on purpose. */
  ignoreReplicas: boolean;
  /** Re-check every object even if its resourceVersion did not change. */
  full: boolean;
  /** Read and dry-run as this user (the instance's tenant ServiceAccount): the operator itself may not. */
  asUser?: string;
  /**
   * Helm applied this revision in the same reconcile. An object whose only
   * writer is then helm's server-side apply holds the manifest's values (the
   * apply was forced), so it is marked clean without a dry run.
   */
  justApplied?: boolean;
}

export interface CheckResult {
  drifted: DriftedResource[];
  objects: number;
  dryRuns: number;
}

const SCALED_KINDS = new Set(['Deployment', 'StatefulSet', 'ReplicaSet']);

/**
 * Every field of the object was last written by helm's server-side apply
 * (status subresource writes aside). Helm 3 writes with Update and never
 * qualifies; any other writer (kubectl edit, scale, a controller) keeps the
 * dry run. The manager name is writable by the tenant: a forged "helm" apply
 * in the instant after helm's own only delays the correction to the periodic
 * full check, which never takes this shortcut.
 */
export function onlyAppliedByHelm(live: WithManagedFields): boolean {
  const entries = live.metadata?.managedFields ?? [];
  const spec = entries.filter((e) => e.subresource !== 'status');
  return spec.length > 0 && spec.every((e) => e.manager === HELM_FIELD_MANAGER && e.operation === 'Apply');
}

export function objectKey(o: { apiVersion: string; kind: string; namespace?: string; name: string }): string {
  return `${o.apiVersion}/${o.kind}/${o.namespace ?? ''}/${o.name}`;
}

export class DriftChecker {
  readonly #client: RawObjectClient;
  /** namespace → objectKey → resourceVersion last found free of drift. */
  readonly #clean = new Map<string, Map<string, string>>();

  constructor(client: RawObjectClient) {
    this.#client = client;
  }

  async check(objects: readonly ManifestObject[], opts: CheckOptions): Promise<CheckResult> {
    const drifted: DriftedResource[] = [];
    let dryRuns = 0;
    for (const manifest of objects) {
      const ref = { apiVersion: manifest.apiVersion, kind: manifest.kind, name: manifest.metadata.name, ...(manifest.metadata.namespace ? { namespace: manifest.metadata.namespace } : {}) };
      const key = objectKey(ref);
      const as = opts.asUser ? { asUser: opts.asUser } : {};
      const live = await this.#client.get(ref, as);
      if (!live) {
        this.#unmark(ref.namespace, key);
        drifted.push({ ...ref, missing: true, pointers: [] });
        continue;
      }
      const rv = live.metadata?.resourceVersion ?? '';
      if (!opts.full && this.#clean.get(ref.namespace ?? '')?.get(key) === rv) continue;
      if (!opts.full && opts.justApplied && onlyAppliedByHelm(live)) {
        this.#mark(ref.namespace, key, rv);
        continue;
      }
      const dryRun = await this.#client.apply(manifest as unknown as JsonObject, { fieldManager: HELM_FIELD_MANAGER, force: true, dryRun: true, ...as });
      dryRuns++;
      const extra = opts.ignoreReplicas && SCALED_KINDS.has(manifest.kind) ? ['/spec/replicas'] : [];
      const pointers = driftedPointers(
        manifest as unknown as { [k: string]: Json },
        dryRun as unknown as { [k: string]: Json },
        live as unknown as { [k: string]: Json },
        ignoreMatcher(opts.ignore, { kind: manifest.kind, name: manifest.metadata.name }, extra),
      );
      if (pointers.length === 0) this.#mark(ref.namespace, key, rv);
      else {
        this.#unmark(ref.namespace, key);
        drifted.push({ ...ref, missing: false, pointers });
      }
    }
    return { drifted, objects: objects.length, dryRuns };
  }

  /** Re-applies the drifted objects as Helm's field manager, taking the fields back from whoever changed them. */
  async correct(drifted: readonly DriftedResource[], objects: readonly ManifestObject[], opts: { ignoreReplicas: boolean; asUser?: string }): Promise<void> {
    const byKey = new Map(objects.map((o) => [objectKey({ apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name, ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}) }), o]));
    for (const d of drifted) {
      let manifest = byKey.get(objectKey(d));
      if (!manifest) continue;
      if (opts.ignoreReplicas && SCALED_KINDS.has(d.kind)) {
        // Never wake a hibernated workload while correcting something else.
        manifest = { ...manifest, spec: { ...((manifest['spec'] ?? {}) as Record<string, Json>), replicas: 0 } } as ManifestObject;
      }
      await this.#client.apply(manifest as unknown as JsonObject, { fieldManager: HELM_FIELD_MANAGER, force: true, dryRun: false, ...(opts.asUser ? { asUser: opts.asUser } : {}) });
      this.#unmark(d.namespace, objectKey(d));
    }
  }

  /** Drops what is known about the objects of a namespace (its instance is gone). */
  forgetNamespace(namespace: string): void {
    this.#clean.delete(namespace);
  }

  /** Objects remembered as clean (tests and memory figures). */
  get size(): number {
    let n = 0;
    for (const m of this.#clean.values()) n += m.size;
    return n;
  }

  #mark(namespace: string | undefined, key: string, rv: string): void {
    const ns = namespace ?? '';
    let m = this.#clean.get(ns);
    if (!m) this.#clean.set(ns, (m = new Map()));
    m.set(key, rv);
  }

  #unmark(namespace: string | undefined, key: string): void {
    const ns = namespace ?? '';
    const m = this.#clean.get(ns);
    if (!m) return;
    m.delete(key);
    if (m.size === 0) this.#clean.delete(ns);
  }
}
