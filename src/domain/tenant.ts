// The identity helm (and every write to tenant objects) acts as: a
// ServiceAccount in the instance namespace, bound there to one pre-made
// ClusterRole that grants exactly the kinds the kinds policy allows. The API
// server then refuses cluster-scoped objects, other namespaces and `lookup`s
// of other namespaces' Secrets even if the policy had a bug (DESIGN §4 step 8).
import { ALLOWED_NAMESPACED_RESOURCES } from './kinds-policy.ts';

/** Name of the ServiceAccount in every instance namespace, of its RoleBinding, and of the pre-made ClusterRole. */
export const TENANT_SERVICE_ACCOUNT = 'caelus-tenant';
export const TENANT_ROLE_BINDING = 'caelus-tenant';
export const TENANT_CLUSTER_ROLE = 'caelus-tenant';

/** The user name helm's `--kube-as-user` and the Impersonate-User header carry. */
export function tenantUser(namespace: string): string {
  return `system:serviceaccount:${namespace}:${TENANT_SERVICE_ACCOUNT}`;
}

export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

/** Everything helm does to a release's objects: create, diff, upgrade, wait, delete. */
export const TENANT_VERBS: readonly string[] = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'];

/**
 * The tenant ClusterRole's rules: one per API group of the built-in
 * allow-list (groups and resources sorted, so the deploy chart's copy can be
 * compared with it), then an admin's extra rules for extra allowed kinds.
 * Secrets are in the list anyway (charts render them) and helm needs them for
 * its release records.
 */
export function tenantRoleRules(extraRules: readonly PolicyRule[] = []): PolicyRule[] {
  const byGroup = new Map<string, string[]>();
  for (const [gk, resource] of Object.entries(ALLOWED_NAMESPACED_RESOURCES)) {
    const group = gk.slice(0, gk.indexOf('/'));
    const apiGroup = group === 'core' ? '' : group;
    byGroup.set(apiGroup, [...(byGroup.get(apiGroup) ?? []), resource]);
  }
  const rules = [...byGroup.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([group, resources]) => ({ apiGroups: [group], resources: resources.sort(), verbs: [...TENANT_VERBS] }));
  return [...rules, ...extraRules.map((r) => ({ apiGroups: [...r.apiGroups], resources: [...r.resources], verbs: [...r.verbs] }))];
}

/** The pre-made ClusterRole (installed by the deploy chart, `caelus dev` and the test setup). */
export function tenantClusterRole(labels: Record<string, string> = {}, extraRules: readonly PolicyRule[] = []): Record<string, unknown> {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: TENANT_CLUSTER_ROLE, labels },
    rules: tenantRoleRules(extraRules),
  };
}

/** The ServiceAccount and RoleBinding the operator applies in each instance namespace. */
export function tenantIdentityObjects(namespace: string, labels: Record<string, string>): Record<string, unknown>[] {
  return [
    {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: TENANT_SERVICE_ACCOUNT, namespace, labels },
      // Nothing runs as this account: no token is ever mounted from it.
      automountServiceAccountToken: false,
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: TENANT_ROLE_BINDING, namespace, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: TENANT_CLUSTER_ROLE },
      subjects: [{ kind: 'ServiceAccount', name: TENANT_SERVICE_ACCOUNT, namespace }],
    },
  ];
}

/** What a chart may not render because Caelus owns it in every instance namespace. */
export function tenantReservedObjects(): { kind: string; name: string }[] {
  return [
    { kind: 'ServiceAccount', name: TENANT_SERVICE_ACCOUNT },
    { kind: 'RoleBinding', name: TENANT_ROLE_BINDING },
  ];
}
