// Kubernetes adapters for the guardrail, hibernation and lifecycle ports
// (ports.ts): thin, so the steps stay testable without a cluster.
import { shardOf, type ShardList } from '../domain/shard.ts';
import { AppsV1Api, CustomObjectsApi, PatchStrategy, type KubeConfig } from '@kubernetes/client-node';
import { API_VERSION, GROUP, InstanceState, KIND, PLURAL, VERSION, type CaelusInstance, type CaelusInstanceSpec, type CaelusInstanceStatus } from '../domain/instance.ts';
import { ObjectClient } from '../k8s/apply.ts';
import { isNotFound, toKubeApiError } from '../k8s/errors.ts';
import { InstanceClient } from '../k8s/instance-client.ts';
import { RawObjectClient, type JsonObject } from '../k8s/raw-objects.ts';
import { contentType, impersonate } from '../k8s/request-options.ts';
import { tenantUser } from '../domain/tenant.ts';
import type { Logger } from '../observability/logger.ts';
import { LIFECYCLE_FIELD_MANAGER } from './lifecycle/jobs.ts';
import type { GuardrailObjects, LifecyclePort, OwnWritesPort, Workload, WorkloadPort } from './ports.ts';
import { otherContentWriters } from '../k8s/managed-fields.ts';
import { HIBERNATED_REPLICAS_ANNOTATION, HIBERNATION_FIELD_MANAGER } from './steps/hibernation.ts';

/**
 * Raw JSON server-side apply: client-node's typed model would drop keys it
 * spells differently (a LimitRange's `default` among them). Forced, because
 * these objects are Caelus's own: a tenant's kubectl edit is taken back. An
 * apply resets only the fields it sets, so when the result still holds
 * content another writer added (an allow-all rule on the default-deny, a
 * scope on the quota) the object is replaced whole, conditional on the
 * version just applied. Read off the apply's answer: no extra request
 * unless something must go.
 */
export function guardrailObjects(kc: KubeConfig, log: Logger, writes?: OwnWritesPort): GuardrailObjects {
  const raw = new RawObjectClient(kc);
  const objects = new ObjectClient(kc, { logger: log });
  return {
    apply: async (obj, fieldManager) => {
      const wrote = (live: JsonObject) => writes?.wrote({ kind: String(obj['kind']), namespace: live.metadata?.namespace, name: live.metadata?.name ?? '' }, live.metadata?.resourceVersion);
      const live = await raw.apply(obj as JsonObject, { fieldManager, force: true, dryRun: false });
      wrote(live);
      const others = otherContentWriters(live, fieldManager);
      if (others.length === 0) return;
      log.warn({ kind: obj['kind'], namespace: live.metadata?.namespace, name: live.metadata?.name, writers: others }, 'replacing a guardrail object other writers added to');
      wrote(await raw.replace({ ...(obj as JsonObject), metadata: { ...(obj as JsonObject).metadata, resourceVersion: live.metadata?.resourceVersion } }, { fieldManager }));
    },
    delete: async (ref) => {
      const deleted = await objects.delete(ref);
      if (deleted) writes?.deleted(ref);
      return deleted;
    },
  };
}

function hibernated(annotations: Record<string, string> | undefined): number | undefined {
  const raw = annotations?.[HIBERNATED_REPLICAS_ANNOTATION];
  if (raw === undefined || !/^\d+$/.test(raw)) return undefined;
  return Number(raw);
}

/** Hibernation reads and scales the release's workloads as the namespace's tenant, like helm. */
export function workloadPort(kc: KubeConfig): WorkloadPort {
  const apps = kc.makeApiClient(AppsV1Api);
  return {
    async list(namespace, labelSelector) {
      try {
        const as = impersonate(tenantUser(namespace));
        const [deployments, statefulSets] = await Promise.all([
          apps.listNamespacedDeployment({ namespace, labelSelector }, as),
          apps.listNamespacedStatefulSet({ namespace, labelSelector }, as),
        ]);
        const of = (kind: Workload['kind'], items: Array<{ metadata?: { name?: string; annotations?: Record<string, string> }; spec?: { replicas?: number } }>) =>
          items.map((o): Workload => {
            const h = hibernated(o.metadata?.annotations);
            // An unset replicas field means 1 (the API default).
            return { kind, name: o.metadata!.name!, replicas: o.spec?.replicas ?? 1, ...(h === undefined ? {} : { hibernatedReplicas: h }) };
          });
        return [...of('Deployment', deployments.items), ...of('StatefulSet', statefulSets.items)];
      } catch (err) {
        throw toKubeApiError(err, { operation: 'list', kind: 'Deployment/StatefulSet', namespace });
      }
    },
    async scale(namespace, workload, replicas, annotation) {
      const patch = (body: unknown, type: string) => {
        const params = { name: workload.name, namespace, body, fieldManager: HIBERNATION_FIELD_MANAGER };
        const options = impersonate(tenantUser(namespace), contentType(type));
        return workload.kind === 'Deployment' ? apps.patchNamespacedDeployment(params, options) : apps.patchNamespacedStatefulSet(params, options);
      };
      try {
        const scaled = await patch({ metadata: { annotations: { [HIBERNATED_REPLICAS_ANNOTATION]: annotation } }, spec: { replicas } }, PatchStrategy.MergePatch);
        // Helm 4 installs by server-side apply without forcing conflicts: while
        // caelus-hibernation owns spec.replicas, every later helm upgrade would
        // fail on it. Dropping our managedFields entry leaves replicas unowned
        // (our change took it from helm), so helm simply sets it again. A patch
        // that only rewrites managedFields is honoured as written.
        const managed = scaled.metadata?.managedFields ?? [];
        const kept = managed.filter((m) => m.manager !== HIBERNATION_FIELD_MANAGER);
        if (kept.length > 0 && kept.length < managed.length) {
          await patch(
            [
              // Only if nothing changed since our scale; a conflict is retried by the next reconcile.
              { op: 'test', path: '/metadata/resourceVersion', value: scaled.metadata?.resourceVersion },
              { op: 'replace', path: '/metadata/managedFields', value: kept },
            ],
            PatchStrategy.JsonPatch,
          );
        }
      } catch (err) {
        throw toKubeApiError(err, { operation: 'scale', apiVersion: 'apps/v1', kind: workload.kind, namespace, name: workload.name });
      }
    },
  };
}

/**
 * The lifecycle job's view of CaelusInstances: the informer's label selector,
 * and when sharded never a CR naming an unknown shard (the default shard's
 * selector lets those through so they can be reported; they are not its to
 * delete or hibernate).
 */
export function lifecyclePort(kc: KubeConfig, log: Logger, labelSelector?: string, shards?: ShardList): LifecyclePort {
  const client = new InstanceClient<CaelusInstanceSpec, CaelusInstanceStatus>(kc, { logger: log });
  const custom = kc.makeApiClient(CustomObjectsApi);
  const raw = new RawObjectClient(kc);
  return {
    list: async () => {
      const all = (await client.list(labelSelector ? { labelSelector } : {})) as unknown as CaelusInstance[];
      return shards ? all.filter((cr) => shardOf(cr.metadata.labels, shards).known) : all;
    },
    async delete(name) {
      try {
        await custom.deleteClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, name });
      } catch (err) {
        if (isNotFound(err)) return;
        throw toKubeApiError(err, { operation: 'delete', apiVersion: API_VERSION, kind: KIND, name });
      }
    },
    async hibernate(name) {
      // Only spec.state, as our own field manager: the rest of the spec keeps its owners.
      await raw.apply({ apiVersion: API_VERSION, kind: KIND, metadata: { name }, spec: { state: InstanceState.Hibernated } } as JsonObject, {
        fieldManager: LIFECYCLE_FIELD_MANAGER,
        force: true,
        dryRun: false,
      });
    },
  };
}
