import { ALLOWED_NAMESPACED_KINDS, ALLOWED_NAMESPACED_RESOURCES } from '../../../src/domain/kinds-policy.ts';
import { tenantClusterRoles, tenantIdentityObjects, tenantReaderRoleRules, tenantReaderUser, tenantReservedObjects, tenantRoleRules, tenantUser } from '../../../src/domain/tenant.ts';

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

describe('the tenant reader role (what the API acts as)', () => {
  const granted = (rules: ReturnType<typeof tenantRoleRules>) =>
    rules.flatMap((r) => r.resources.flatMap((res) => r.verbs.map((v) => `${r.apiGroups[0] || 'core'}/${res}:${v}`))).sort();

  it('gets every kind the tenant role covers, lists only Secrets (release records), and writes or watches nothing', () => {
    const rules = tenantReaderRoleRules();
    const tenantKinds = tenantRoleRules().flatMap((r) => r.resources.map((res) => `${r.apiGroups[0] || 'core'}/${res}:get`));
    expect(granted(rules)).toEqual([...tenantKinds, 'core/secrets:list'].sort());
  });

  it('never grants more than the tenant role: every verb it grants, the tenant role grants on the same resource', () => {
    const extra = [
      { apiGroups: ['monitoring.coreos.com'], resources: ['servicemonitors'], verbs: ['get', 'create'] },
      { apiGroups: ['example.com'], resources: ['writeonlies'], verbs: ['create'] },
    ];
    const tenant = new Set(granted(tenantRoleRules(extra)));
    const reader = granted(tenantReaderRoleRules(extra));
    for (const g of reader) expect(tenant).toContain(g);
    expect(reader).toContain('monitoring.coreos.com/servicemonitors:get');
    expect(reader.filter((g) => g.startsWith('example.com/'))).toEqual([]);
  });

  it('keeps an extra rule\'s resourceNames, so a narrowed extra rule stays narrow', () => {
    const narrowed = { apiGroups: ['example.com'], resources: ['widgets'], verbs: ['get'], resourceNames: ['one'] };
    expect(tenantReaderRoleRules([narrowed]).at(-1)).toEqual({ ...narrowed, verbs: ['get'] });
  });

  it('is a second ServiceAccount and RoleBinding in each namespace, bound to its own ClusterRole and reserved from charts', () => {
    const objs = tenantIdentityObjects('team-a', {}) as Array<Record<string, unknown>>;
    expect(objs).toHaveLength(4);
    expect(objs[2]).toMatchObject({ kind: 'ServiceAccount', metadata: { name: 'caelus-tenant-reader', namespace: 'team-a' }, automountServiceAccountToken: false });
    expect(objs[3]).toMatchObject({
      kind: 'RoleBinding',
      metadata: { name: 'caelus-tenant-reader', namespace: 'team-a' },
      roleRef: { kind: 'ClusterRole', name: 'caelus-tenant-reader' },
      subjects: [{ kind: 'ServiceAccount', name: 'caelus-tenant-reader', namespace: 'team-a' }],
    });
    expect(tenantReaderUser('team-a')).toBe('system:serviceaccount:team-a:caelus-tenant-reader');
    expect(tenantReservedObjects()).toEqual(expect.arrayContaining([{ kind: 'ServiceAccount', name: 'caelus-tenant-reader' }, { kind: 'RoleBinding', name: 'caelus-tenant-reader' }]));
    expect(tenantClusterRoles().map((r) => (r['metadata'] as { name: string }).name)).toEqual(['caelus-tenant', 'caelus-tenant-reader']);
  });
});
