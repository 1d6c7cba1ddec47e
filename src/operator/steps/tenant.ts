// The tenant identity in the instance namespace (DESIGN §4 step 8): the
// ServiceAccount every helm call, drift correction and hibernation write acts
// as, bound to the pre-made ClusterRole of allowed kinds; and beside it the
// read-only reader the API acts as. Applied once per namespace per process,
// and again whenever the last reconcile did not end Ready (a deleted tenant
// RoleBinding shows up as a Forbidden failure and heals on the retry).
import { CONTINUE, type PlacedContext, type Step } from '../context.ts';
import { getCondition } from '../../domain/conditions.ts';
import { ConditionType, MANAGED_BY, MANAGED_BY_LABEL } from '../../domain/instance.ts';
import { ownerLabels, type ShardList } from '../../domain/shard.ts';

export interface TenantIdentityPort {
  /** Applies ServiceAccounts + RoleBindings `caelus-tenant` and `caelus-tenant-reader` in the namespace. */
  ensure(namespace: string, labels: Record<string, string>): Promise<void>;
}

/** `shards`: all configured shards when sharded (the identity then carries the CR's shard label, for that shard's drift watches). */
export function tenantStep(tenants: TenantIdentityPort, shards?: ShardList): Step<PlacedContext> {
  // namespace → uid of the instance it was applied for, and the labels it was applied with (a relabelled CR re-applies).
  const ensured = new Map<string, string>();
  return {
    name: 'tenant',
    async run(ctx) {
      const { namespace } = ctx;
      const labels = { ...ownerLabels(ctx.instance, shards), [MANAGED_BY_LABEL]: MANAGED_BY };
      const key = JSON.stringify([ctx.instance.metadata.uid ?? ctx.instance.metadata.name, labels]);
      const ready = getCondition(ctx.instance.status?.conditions, ConditionType.Ready)?.status === 'True';
      if (ready && ensured.get(namespace) === key) return CONTINUE;
      await tenants.ensure(namespace, labels);
      ensured.set(namespace, key);
      return CONTINUE;
    },
  };
}
