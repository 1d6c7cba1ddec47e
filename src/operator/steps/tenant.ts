// The tenant identity in the instance namespace (DESIGN §4 step 8): the
// ServiceAccount every helm call, drift correction and hibernation write acts
// as, bound to the pre-made ClusterRole of allowed kinds; and beside it the
// read-only reader the API acts as. Applied once per namespace per process,
// again whenever the last reconcile did not end Ready (a deleted tenant
// RoleBinding shows up as a Forbidden failure and heals on the retry), and
// when a watch saw one of them edited or deleted or the periodic full check
// asks (operator/restore.ts).
import { CONTINUE, type PlacedContext, type Step } from '../context.ts';
import { getCondition } from '../../domain/conditions.ts';
import { ConditionType, EventOnlyReason, MANAGED_BY, MANAGED_BY_LABEL } from '../../domain/instance.ts';
import { ownerLabels, type ShardList } from '../../domain/shard.ts';
import type { EventSink, RestorePort } from '../ports.ts';

export interface TenantIdentityPort {
  /** Applies ServiceAccounts + RoleBindings `caelus-tenant` and `caelus-tenant-reader` in the namespace. */
  ensure(namespace: string, labels: Record<string, string>): Promise<void>;
}

export interface TenantStepDeps {
  tenants: TenantIdentityPort;
  /** All configured shards when sharded (the identity then carries the CR's shard label, for that shard's drift watches). */
  shards?: ShardList | undefined;
  /** Marks to re-apply though already applied here; without them only the rules above apply. */
  restore?: RestorePort | undefined;
  events?: EventSink | undefined;
}

export function tenantStep({ tenants, shards, restore, events }: TenantStepDeps): Step<PlacedContext> {
  // namespace → uid of the instance it was applied for, and the labels it was applied with (a relabelled CR re-applies).
  const ensured = new Map<string, string>();
  return {
    name: 'tenant',
    async run(ctx) {
      const { namespace } = ctx;
      const labels = { ...ownerLabels(ctx.instance, shards), [MANAGED_BY_LABEL]: MANAGED_BY };
      const key = JSON.stringify([ctx.instance.metadata.uid ?? ctx.instance.metadata.name, labels]);
      const ready = getCondition(ctx.instance.status?.conditions, ConditionType.Ready)?.status === 'True';
      const name = ctx.instance.metadata.name;
      // Any mark re-applies all four objects: a subset would save little.
      const restoring = restore?.take(name, 'tenant');
      if (ready && ensured.get(namespace) === key && !restoring) return CONTINUE;
      try {
        await tenants.ensure(namespace, labels);
      } catch (err) {
        if (restoring) restore?.giveBack(name, 'tenant', restoring);
        throw err;
      }
      ensured.set(namespace, key);
      if (restoring?.whats.length) {
        ctx.log.info({ namespace, restored: restoring.whats }, 'tenant identity restored');
        events?.record(ctx.instance, 'Normal', EventOnlyReason.GuardrailsRestored, `re-applied the tenant identity in namespace ${namespace} after ${restoring.whats.join(', ')}`);
      }
      return CONTINUE;
    },
  };
}
