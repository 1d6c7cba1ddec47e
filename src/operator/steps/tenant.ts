// The tenant identity in the instance namespace (DESIGN §4 step 8): the
// ServiceAccount every helm call, drift correction and hibernation write acts
// as, bound to the pre-made ClusterRole of allowed kinds; and beside it the
// read-only reader the API acts as. Applied once per namespace per process,
// and again whenever the last reconcile did not end Ready (a deleted tenant
// RoleBinding shows up as a Forbidden failure and heals on the retry).
import { CONTINUE, type PlacedContext, type Step } from '../context.ts';
import { getCondition } from '../../domain/conditions.ts';
import { ConditionType, INSTANCE_LABEL, MANAGED_BY, MANAGED_BY_LABEL } from '../../domain/instance.ts';

export interface TenantIdentityPort {
  /** Applies ServiceAccounts + RoleBindings `caelus-tenant` and `caelus-tenant-reader` in the namespace. */
  ensure(namespace: string, labels: Record<string, string>): Promise<void>;
}

export function tenantStep(tenants: TenantIdentityPort): Step<PlacedContext> {
  // namespace → uid of the instance it was applied for.
  const ensured = new Map<string, string>();
  return {
    name: 'tenant',
    async run(ctx) {
      const { namespace } = ctx;
      const uid = ctx.instance.metadata.uid ?? ctx.instance.metadata.name;
      const ready = getCondition(ctx.instance.status?.conditions, ConditionType.Ready)?.status === 'True';
      if (ready && ensured.get(namespace) === uid) return CONTINUE;
      await tenants.ensure(namespace, { [INSTANCE_LABEL]: ctx.instance.metadata.name, [MANAGED_BY_LABEL]: MANAGED_BY });
      ensured.set(namespace, uid);
      return CONTINUE;
    },
  };
}
