// Event-driven drift detection: label-filtered watches on the kinds releases
// use. Every rendered object carries caelus.io/instance=<name> (the helm
// post-renderer adds it), so a change to one names the instance to re-check;
// when sharded it also carries its CR's caelus.io/shard label, so a shard
// watches only its own instances' objects (the selector comes from
// src/operator/run-operator.ts, next to the CR informer's).
import type { KubeConfig } from '@kubernetes/client-node';
import { INSTANCE_LABEL } from '../domain/instance.ts';
import { SHARD_LABEL, type ShardList } from '../domain/shard.ts';
import { onlyStatusChanged, type MetadataSummary } from '../k8s/cache-shape.ts';
import { Informer, type InformerResource } from '../k8s/informer.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';

/**
 * What the example charts and typical product charts render, and what Caelus
 * itself applies in each instance namespace (ServiceAccounts, RoleBindings,
 * LimitRange, NetworkPolicies: operator/restore.ts); extend with
 * CAELUS_DRIFT_WATCH_KINDS (and grant the operator list/watch on it). Not
 * Secrets: a cluster-wide watch would let the operator read every tenant's
 * Secrets; their drift is found when the instance is checked (each reconcile
 * and the periodic full check), reading them as the tenant.
 */
export const DEFAULT_WATCHED: readonly InformerResource[] = [
  { apiVersion: 'v1', kind: 'ConfigMap', plural: 'configmaps' },
  { apiVersion: 'v1', kind: 'Service', plural: 'services' },
  { apiVersion: 'v1', kind: 'PersistentVolumeClaim', plural: 'persistentvolumeclaims' },
  { apiVersion: 'v1', kind: 'ServiceAccount', plural: 'serviceaccounts' },
  // Caelus's own LimitRange; not ResourceQuota, whose status the quota controller rewrites with every pod change.
  { apiVersion: 'v1', kind: 'LimitRange', plural: 'limitranges' },
  { apiVersion: 'apps/v1', kind: 'Deployment', plural: 'deployments' },
  { apiVersion: 'apps/v1', kind: 'StatefulSet', plural: 'statefulsets' },
  { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', plural: 'ingresses' },
  { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', plural: 'networkpolicies' },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', plural: 'rolebindings' },
  { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', plural: 'poddisruptionbudgets' },
  { apiVersion: 'batch/v1', kind: 'Job', plural: 'jobs' },
];

/** Parses `apps/v1/Deployment/deployments,v1/ConfigMap/configmaps`. */
export function parseWatchedKinds(text: string): InformerResource[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry) => {
      const parts = entry.split('/');
      if (parts.length < 3) throw new Error(`watched kind "${entry}" must look like <apiVersion>/<Kind>/<plural>`);
      const plural = parts.pop()!;
      const kind = parts.pop()!;
      return { apiVersion: parts.join('/'), kind, plural };
    });
}

export interface DriftWatchOptions {
  /** Which objects to watch: the instance label, and the shard's selector when sharded. */
  labelSelector: string;
  /** The configured shards, to name the shard label of the cached objects in caelus_drift_watch_objects. */
  shards?: ShardList | undefined;
  metrics?: Pick<Metrics, 'countDriftWatchObjects'> | undefined;
}

/**
 * The caelus_drift_watch_objects series an object is counted in: its shard
 * label if that names a configured shard. Anything else is bucketed, since
 * the label of an object in a tenant namespace is the tenant's to write and
 * must not mint series.
 */
export function shardBucket(labels: Readonly<Record<string, string>> | undefined, shards: ShardList | undefined): string {
  const label = labels?.[SHARD_LABEL];
  if (!label) return 'none';
  return shards?.includes(label) ? label : 'other';
}

/** One watch event, as the callback gets it: the instance its label names and the object's identity and labels. */
export interface WatchedChange {
  instance: string;
  type: 'update' | 'delete';
  kind: string;
  name: string;
  namespace: string | undefined;
  /** For an update, the version written; for a delete, the last one. */
  resourceVersion: string | undefined;
  labels: Readonly<Record<string, string>>;
}

export class DriftWatches {
  readonly #informers: Informer<MetadataSummary>[];
  readonly #opts: DriftWatchOptions;
  #uncount: (() => void) | undefined;

  constructor(kc: KubeConfig, resources: readonly InformerResource[], log: Logger, opts: DriftWatchOptions, onChange: (change: WatchedChange) => void) {
    this.#opts = opts;
    this.#informers = resources.map((resource) => {
      // Metadata-only watches: the cache holds no Deployment specs or ConfigMap data.
      const informer = new Informer<MetadataSummary>(kc, {
        logger: log.child({ component: 'drift-watch', kind: resource.kind }),
        resource,
        labelSelector: opts.labelSelector,
        metadataOnly: true,
      });
      informer.onChange((obj: MetadataSummary, type, previous?: MetadataSummary) => {
        // Only changes to objects that exist can be drift. An add is helm's or
        // Caelus's own create (whose reconcile checks what it applied), the
        // initial list (every instance is reconciled at start anyway) or an
        // object a relist found created meanwhile; re-checking for it only
        // ran a second, empty reconcile after every install.
        if (type === 'resync' || type === 'add') return;
        // A controller writing a Deployment's or Job's status changes nothing a release applied.
        if (type === 'update' && onlyStatusChanged(previous, obj)) return;
        const labels = obj.metadata?.labels ?? {};
        const instance = labels[INSTANCE_LABEL];
        if (!instance) return;
        onChange({ instance, type, kind: resource.kind, name: obj.metadata?.name ?? '', namespace: obj.metadata?.namespace, resourceVersion: obj.metadata?.resourceVersion, labels });
      });
      return informer;
    });
  }

  /** Cached objects by shardBucket, over every watched kind. */
  counts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const informer of this.#informers) {
      for (const obj of informer.list()) {
        const bucket = shardBucket(obj.metadata?.labels, this.#opts.shards);
        counts.set(bucket, (counts.get(bucket) ?? 0) + 1);
      }
    }
    return counts;
  }

  async start(): Promise<void> {
    this.#uncount ??= this.#opts.metrics?.countDriftWatchObjects(() => this.counts());
    await Promise.all(this.#informers.map((i) => i.start()));
  }

  async stop(): Promise<void> {
    this.#uncount?.();
    this.#uncount = undefined;
    await Promise.all(this.#informers.map((i) => i.stop()));
  }
}
