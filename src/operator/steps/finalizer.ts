import { CONTINUE, condition, setPhase, stopHere, type ReconcileContext, type Step } from '../context.ts';
import {
  ConditionType,
  DeletionPolicy,
  FINALIZER,
  Phase,
  Reason,
  instanceNamespace,
  releaseName,
  secretsName,
} from '../../domain/instance.ts';
import { ownerLabels, type ShardList } from '../../domain/shard.ts';
import type { EventSink, GuardrailObjects, HelmPort, InstanceStore, NamespacePort } from '../ports.ts';
import { helmFailure } from '../release/helm-failure.ts';
import type { TenantIdentityPort } from './tenant.ts';
import { namespaceOwnership } from './namespace.ts';

export interface FinalizerDeps {
  helm: HelmPort;
  namespaces: NamespacePort;
  instances: InstanceStore;
  events: EventSink;
  /** helm uninstalls as the tenant: its identity is put back first in case someone removed it. */
  tenants?: TenantIdentityPort;
  writeProgress(ctx: ReconcileContext): Promise<void>;
  /** Deletes the instance's secrets Secret on Retain; absent in the bare pipeline, which never writes it. */
  objects?: Pick<GuardrailObjects, 'delete'>;
  /** All configured shards when sharded (the tenant identity keeps the CR's shard label). */
  shards?: ShardList | undefined;
}

// Namespace deletion is asynchronous (the namespace controller empties it);
// poll at this pace until it is gone, then let the CR go.
const NAMESPACE_GONE_POLL_MS = 2_000;

/**
 * Being deleted → uninstall, apply the deletion policy, then remove the
 * finalizer (only after cleanup succeeded). Otherwise make sure the finalizer
 * is there before anything is created.
 */
export function finalizerStep(deps: FinalizerDeps): Step {
  return {
    name: 'finalizer',
    async run(ctx) {
      const { metadata } = ctx.instance;
      const hasFinalizer = metadata.finalizers?.includes(FINALIZER) ?? false;
      if (!metadata.deletionTimestamp) {
        if (!hasFinalizer) await deps.instances.addFinalizer(ctx.instance, FINALIZER);
        return CONTINUE;
      }
      if (!hasFinalizer) return stopHere();
      return finalize(ctx, deps);
    },
  };
}

async function finalize(ctx: ReconcileContext, deps: FinalizerDeps) {
  const instance = ctx.instance;
  const name = instance.metadata.name;
  const namespace = ctx.instance.status?.namespace ?? instanceNamespace(instance);
  const policy = instance.spec.deletionPolicy ?? DeletionPolicy.Delete;
  if (ctx.status.current.phase !== Phase.Deleting) {
    setPhase(ctx, Phase.Deleting, `deleting (deletionPolicy ${policy})`);
    condition(ctx, { type: ConditionType.Ready, status: 'False', reason: Reason.Deleting, message: 'instance is being deleted' });
    await deps.writeProgress(ctx);
    deps.events.record(instance, 'Normal', Reason.Deleting, `uninstalling release ${releaseName(instance)} (deletionPolicy ${policy})`);
  }

  const ns = await deps.namespaces.get(namespace);
  // A namespace that is not ours (name and uid labels) never had our release in it and is never touched.
  const ours = ns !== undefined && namespaceOwnership(ns, instance).owned;
  if (ours && !ns.terminating) {
    try {
      await deps.tenants?.ensure(namespace, ownerLabels(instance, deps.shards));
      await deps.helm.uninstall(releaseName(instance), namespace, ctx.signal);
    } catch (err) {
      throw helmFailure(err, Reason.UninstallFailed);
    }
    if (policy === DeletionPolicy.Delete) {
      await deps.namespaces.delete(namespace);
      ctx.log.info({ namespace }, 'deleting namespace');
      return stopHere(NAMESPACE_GONE_POLL_MS);
    }
    // Retain keeps the tenant's data (PVCs, the namespace), not the credentials Caelus handed it:
    // they stay in the database, and a retained namespace outlives the instance that may use them.
    const deleted = await deps.objects?.delete({ apiVersion: 'v1', kind: 'Secret', name: secretsName(instance), namespace });
    if (deleted) ctx.log.info({ namespace, secret: secretsName(instance) }, 'deleted the secrets Secret of a retained namespace');
  } else if (ours && policy === DeletionPolicy.Delete) {
    return stopHere(NAMESPACE_GONE_POLL_MS);
  }
  await deps.instances.removeFinalizer(name, FINALIZER);
  ctx.finalized = true;
  deps.events.record(instance, 'Normal', Reason.Deleting, `cleanup done (deletionPolicy ${policy}); finalizer removed`);
  ctx.log.info({ policy }, 'finalizer removed');
  return stopHere();
}
