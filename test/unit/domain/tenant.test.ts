import { ALLOWED_NAMESPACED_KINDS, ALLOWED_NAMESPACED_RESOURCES } from '../../../src/domain/kinds-policy.ts';
import { tenantIdentityObjects, tenantRoleRules, tenantUser } from '../../../src/domain/tenant.ts';

describe('the tenant role', () => {
  it('grants exactly the built-in allowed kinds, each in its API group', () => {
    const granted = tenantRoleRules().flatMap((r) => r.resources.map((res) => `${r.apiGroups[0] || 'core'}/${res}`));
    const expected = [...ALLOWED_NAMESPACED_KINDS].map((gk) => `${gk.slice(0, gk.indexOf('/'))}/${ALLOWED_NAMESPACED_RESOURCES[gk]}`);
    expect(granted.sort()).toEqual(expected.sort());
    for (const r of tenantRoleRules()) expect(r.verbs).not.toContain('*');
  });

  it('grants nothing cluster-scoped and nothing Caelus keeps for itself', () => {
    const resources = tenantRoleRules().flatMap((r) => r.resources);
    for (const r of ['namespaces', 'clusterroles', 'clusterrolebindings', 'resourcequotas', 'limitranges', 'customresourcedefinitions', '*']) {
      expect(resources).not.toContain(r);
    }
  });

  it('appends an admin\'s extra rules', () => {
    const extra = { apiGroups: ['monitoring.coreos.com'], resources: ['servicemonitors'], verbs: ['get', 'create'] };
    expect(tenantRoleRules([extra]).at(-1)).toEqual(extra);
  });

  it('binds the ServiceAccount of the namespace to the pre-made ClusterRole, in that namespace only', () => {
    const [sa, rb] = tenantIdentityObjects('team-a', { 'caelus.io/instance': 'web' }) as Array<Record<string, unknown>>;
    expect(sa).toMatchObject({ kind: 'ServiceAccount', metadata: { name: 'caelus-tenant', namespace: 'team-a' }, automountServiceAccountToken: false });
    expect(rb).toMatchObject({
      kind: 'RoleBinding',
      metadata: { namespace: 'team-a' },
      roleRef: { kind: 'ClusterRole', name: 'caelus-tenant' },
      subjects: [{ kind: 'ServiceAccount', name: 'caelus-tenant', namespace: 'team-a' }],
    });
    expect(tenantUser('team-a')).toBe('system:serviceaccount:team-a:caelus-tenant');
  });
});
