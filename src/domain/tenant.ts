// The identity helm (and every write to tenant objects) acts as: a
// ServiceAccount in the instance namespace, bound there to one pre-made
// ClusterRole that grants exactly the kinds the kinds policy allows. The API
// server then refuses cluster-scoped objects, other namespaces and `lookup`s
// of other namespaces' Secrets even if the policy had a bug (DESIGN §4 step 8).
// Beside it a read-only reader identity, the only one the API may act as: the
// API reads release records and release objects without being able to
// impersonate anything that writes.
import { ALLOWED_NAMESPACED_RESOURCES } from './kinds-policy.ts';

/** Name of the ServiceAccount in every instance namespace, of its RoleBinding, and of the pre-made ClusterRole. */
export const TENANT_SERVICE_ACCOUNT = 'caelus-tenant';
export const TENANT_ROLE_BINDING = 'caelus-tenant';
export const TENANT_CLUSTER_ROLE = 'caelus-tenant';

/** Name of the read-only ServiceAccount in every instance namespace, of its RoleBinding, and of its pre-made ClusterRole. */
export const TENANT_READER_SERVICE_ACCOUNT = 'caelus-tenant-reader';
export const TENANT_READER_ROLE_BINDING = 'caelus-tenant-reader';
export const TENANT_READER_CLUSTER_ROLE = 'caelus-tenant-reader';

/** The user name helm's `--kube-as-user` and the Impersonate-User header carry. */
export function tenantUser(namespace: string): string {
  return `system:serviceaccount:${namespace}:${TENANT_SERVICE_ACCOUNT}`;
}

/** The user the API acts as to read an instance's release records and objects. */
export function tenantReaderUser(namespace: string): string {
  return `system:serviceaccount:${namespace}:${TENANT_READER_SERVICE_ACCOUNT}`;
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
  // Spread like the deploy chart's toYaml: a rule's other fields (resourceNames) stay as the admin wrote them.
  return [...allowedKindRules(TENANT_VERBS), ...extraRules.map((r) => ({ ...r, apiGroups: [...r.apiGroups], resources: [...r.resources], verbs: [...r.verbs] }))];
}

/**
 * The reader ClusterRole's rules: `get` on every kind the tenant role covers
 * (the console shows each object of the deployed release), `list` on Secrets
 * only (the release records, found by label), and `get` on an admin's extra
 * kinds the tenant itself may get. No watch, no writes: what the API reads as
 * the tenant can never exceed what the tenant reads.
 */
export function tenantReaderRoleRules(extraRules: readonly PolicyRule[] = []): PolicyRule[] {
  const readable = extraRules.filter((r) => r.verbs.includes('get') || r.verbs.includes('*'));
  return [
    ...allowedKindRules(['get']),
    { apiGroups: [''], resources: ['secrets'], verbs: ['list'] },
    // Spread too: a narrowed rule (resourceNames) keeps the reader no wider than the tenant.
    ...readable.map((r) => ({ ...r, apiGroups: [...r.apiGroups], resources: [...r.resources], verbs: ['get'] })),
  ];
}

/** One rule per API group of the built-in allow-list, groups and resources sorted. */
function allowedKindRules(verbs: readonly string[]): PolicyRule[] {
  const byGroup = new Map<string, string[]>();
  for (const [gk, resource] of Object.entries(ALLOWED_NAMESPACED_RESOURCES)) {
    const group = gk.slice(0, gk.indexOf('/'));
    const apiGroup = group === 'core' ? '' : group;
    byGroup.set(apiGroup, [...(byGroup.get(apiGroup) ?? []), resource]);
  }
  return [...byGroup.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([group, resources]) => ({ apiGroups: [group], resources: resources.sort(), verbs: [...verbs] }));
}

/** The pre-made ClusterRoles, tenant and reader (installed by the deploy chart, `caelus dev` and the test setup). */
export function tenantClusterRoles(labels: Record<string, string> = {}, extraRules: readonly PolicyRule[] = []): Record<string, unknown>[] {
  const role = (name: string, rules: PolicyRule[]) => ({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name, labels }, rules });
  return [role(TENANT_CLUSTER_ROLE, tenantRoleRules(extraRules)), role(TENANT_READER_CLUSTER_ROLE, tenantReaderRoleRules(extraRules))];
}

/** Each ServiceAccount the operator applies in an instance namespace, with its RoleBinding's and ClusterRole's names. */
const IDENTITIES = [
  { account: TENANT_SERVICE_ACCOUNT, binding: TENANT_ROLE_BINDING, role: TENANT_CLUSTER_ROLE },
  { account: TENANT_READER_SERVICE_ACCOUNT, binding: TENANT_READER_ROLE_BINDING, role: TENANT_READER_CLUSTER_ROLE },
] as const;

/** The ServiceAccounts and RoleBindings (tenant and reader) the operator applies in each instance namespace. */
export function tenantIdentityObjects(namespace: string, labels: Record<string, string>): Record<string, unknown>[] {
  return IDENTITIES.flatMap(({ account, binding, role }) => [
    {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: account, namespace, labels },
      // Nothing runs as these accounts: no token is ever mounted from them.
      automountServiceAccountToken: false,
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: binding, namespace, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
      subjects: [{ kind: 'ServiceAccount', name: account, namespace }],
    },
  ]);
}

/** What a chart may not render because Caelus owns it in every instance namespace. */
export function tenantReservedObjects(): { kind: string; name: string }[] {
  return IDENTITIES.flatMap(({ account, binding }) => [
    { kind: 'ServiceAccount', name: account },
    { kind: 'RoleBinding', name: binding },
  ]);
}
