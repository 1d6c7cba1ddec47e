// What an informer keeps of each object. Caches hold one copy of every
// watched object for the life of the process, so anything no reader needs is
// dropped on the way in instead of being carried for thousands of objects.
import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { KubernetesObject } from '@kubernetes/client-node';

/** Written by `kubectl apply` (client-side): a second copy of the object's spec, read by nobody here. */
export const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';

/** Accept headers that make the API server send PartialObjectMetadata(List) instead of whole objects. */
export const METADATA_ACCEPT = {
  list: 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1',
  watch: 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1',
} as const;

/**
 * Drops what no cache reader uses: managedFields (often larger than the
 * object's spec; writers that need them read the live object) and the
 * last-applied annotation. Mutates and returns `obj`: it is freshly parsed
 * and not yet shared.
 */
export function slimForCache<T extends KubernetesObject>(obj: T): T {
  const meta = obj.metadata;
  if (!meta) return obj;
  delete meta.managedFields;
  if (meta.annotations && LAST_APPLIED_ANNOTATION in meta.annotations) {
    delete meta.annotations[LAST_APPLIED_ANNOTATION];
    if (Object.keys(meta.annotations).length === 0) delete meta.annotations;
  }
  return obj;
}

/** A metadata-only cache entry: a digest stands in for the metadata a watcher compares but never reads. */
export type MetadataSummary = KubernetesObject & {
  /** Digest of annotations, ownerReferences, finalizers and deletionTimestamp; absent when all are. */
  metadataDigest?: string;
};

/**
 * The part of an object a watcher that reacts to changes needs: identity,
 * resourceVersion (which the cache compares to skip unchanged objects),
 * labels, generation, and a digest of the rest of the metadata, so that
 * `onlyStatusChanged` can tell a status write from a change to what was
 * applied without caching annotations a tenant can make arbitrarily large.
 * `apiVersion`/`kind` name the watched resource, not the
 * PartialObjectMetadata wrapper the API server sends.
 */
export function metadataSummary(obj: KubernetesObject, resource: { apiVersion: string; kind: string }): MetadataSummary {
  const m = obj.metadata ?? {};
  const rest = [m.annotations, m.ownerReferences, m.finalizers, m.deletionTimestamp];
  const digest = rest.some((x) => x !== undefined) ? createHash('sha256').update(JSON.stringify(rest)).digest('base64url') : undefined;
  return {
    apiVersion: resource.apiVersion,
    kind: resource.kind,
    metadata: {
      ...(m.name === undefined ? {} : { name: m.name }),
      ...(m.namespace === undefined ? {} : { namespace: m.namespace }),
      ...(m.uid === undefined ? {} : { uid: m.uid }),
      ...(m.resourceVersion === undefined ? {} : { resourceVersion: m.resourceVersion }),
      ...(m.generation === undefined ? {} : { generation: m.generation }),
      ...(m.labels === undefined ? {} : { labels: m.labels }),
    },
    ...(digest === undefined ? {} : { metadataDigest: digest }),
  };
}

/**
 * Whether an update of a summarised object wrote only its status: same
 * generation, labels and other metadata. The API server bumps `generation`
 * on every change to the spec of kinds that keep one (Deployment,
 * StatefulSet, Job, Ingress, NetworkPolicy, PodDisruptionBudget, custom
 * resources), and not when a controller writes their status. Kinds without
 * a generation (ConfigMap, Service, RoleBinding…) give no such signal: every
 * write of theirs counts as a change.
 */
export function onlyStatusChanged(previous: MetadataSummary | undefined, next: MetadataSummary): boolean {
  const generation = next.metadata?.generation;
  if (!previous || !generation) return false;
  return (
    previous.metadata?.generation === generation &&
    previous.metadataDigest === next.metadataDigest &&
    isDeepStrictEqual(previous.metadata?.labels ?? {}, next.metadata?.labels ?? {})
  );
}
