// What an informer keeps of each object. Caches hold one copy of every
// watched object for the life of the process, so anything no reader needs is
// dropped on the way in instead of being carried for thousands of objects.
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

/**
 * The part of an object a watcher that reacts to labels needs: identity,
 * resourceVersion (which the cache compares to skip unchanged objects) and
 * labels. `apiVersion`/`kind` name the watched resource, not the
 * PartialObjectMetadata wrapper the API server sends.
 */
export function labelsOnly(obj: KubernetesObject, resource: { apiVersion: string; kind: string }): KubernetesObject {
  const m = obj.metadata ?? {};
  return {
    apiVersion: resource.apiVersion,
    kind: resource.kind,
    metadata: {
      ...(m.name === undefined ? {} : { name: m.name }),
      ...(m.namespace === undefined ? {} : { namespace: m.namespace }),
      ...(m.uid === undefined ? {} : { uid: m.uid }),
      ...(m.resourceVersion === undefined ? {} : { resourceVersion: m.resourceVersion }),
      ...(m.labels === undefined ? {} : { labels: m.labels }),
    },
  };
}
