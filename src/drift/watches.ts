// Event-driven drift detection: label-filtered watches on the kinds releases
// use. Every rendered object carries caelus.io/instance=<name> (the helm
// post-renderer adds it), so a change to one names the instance to re-check.
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { INSTANCE_LABEL } from '../domain/instance.ts';
import { Informer, type InformerResource } from '../k8s/informer.ts';
import type { Logger } from '../observability/logger.ts';

/**
 * What the example charts and typical product charts render; extend with
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
  { apiVersion: 'apps/v1', kind: 'Deployment', plural: 'deployments' },
  { apiVersion: 'apps/v1', kind: 'StatefulSet', plural: 'statefulsets' },
  { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', plural: 'ingresses' },
  { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', plural: 'networkpolicies' },
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

export class DriftWatches {
  readonly #informers: Informer[];

  constructor(kc: KubeConfig, resources: readonly InformerResource[], log: Logger, onChange: (instance: string) => void) {
    this.#informers = resources.map((resource) => {
      // Only the instance label is read: metadata-only watches, so the cache holds no Deployment specs or ConfigMap data.
      const informer = new Informer(kc, {
        logger: log.child({ component: 'drift-watch', kind: resource.kind }),
        resource,
        labelSelector: INSTANCE_LABEL,
        metadataOnly: true,
      });
      informer.onChange((obj: KubernetesObject, type) => {
        if (type === 'resync') return;
        const instance = obj.metadata?.labels?.[INSTANCE_LABEL];
        if (instance) onChange(instance);
      });
      return informer;
    });
  }

  async start(): Promise<void> {
    await Promise.all(this.#informers.map((i) => i.start()));
  }

  async stop(): Promise<void> {
    await Promise.all(this.#informers.map((i) => i.stop()));
  }
}
