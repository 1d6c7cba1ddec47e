import { checkManifest, describeViolations } from '../../../src/domain/kinds-policy.ts';
import { TENANT_READER_SERVICE_ACCOUNT, TENANT_SERVICE_ACCOUNT } from '../../../src/domain/tenant.ts';
import { kindsPolicyFor } from '../../../src/operator/kinds-policy.ts';

const obj = (apiVersion: string, kind: string, name: string, extra: Record<string, unknown> = {}) => ({
  apiVersion,
  kind,
  metadata: { name, ...((extra['namespace'] as string | undefined) ? { namespace: extra['namespace'] } : {}) },
  ...Object.fromEntries(Object.entries(extra).filter(([k]) => k !== 'namespace')),
});
const policy = { namespace: 'tenant-a' };

describe('checkManifest', () => {
  it('accepts the ordinary namespaced objects of an app chart', () => {
    const manifest = [
      obj('v1', 'ConfigMap', 'c'),
      obj('apps/v1', 'Deployment', 'd', { namespace: 'tenant-a' }),
      obj('v1', 'Service', 's'),
      obj('v1', 'PersistentVolumeClaim', 'p'),
      obj('networking.k8s.io/v1', 'Ingress', 'i'),
      obj('rbac.authorization.k8s.io/v1', 'RoleBinding', 'rb', { roleRef: { kind: 'Role', name: 'r' } }),
    ];
    expect(checkManifest(manifest, policy)).toEqual([]);
  });

  it.each([
    ['rbac.authorization.k8s.io/v1', 'ClusterRoleBinding'],
    ['rbac.authorization.k8s.io/v1', 'ClusterRole'],
    ['apiextensions.k8s.io/v1', 'CustomResourceDefinition'],
    ['admissionregistration.k8s.io/v1', 'ValidatingWebhookConfiguration'],
    ['admissionregistration.k8s.io/v1', 'MutatingWebhookConfiguration'],
    ['v1', 'Namespace'],
    ['v1', 'PersistentVolume'],
    ['storage.k8s.io/v1', 'StorageClass'],
    ['scheduling.k8s.io/v1', 'PriorityClass'],
    ['apiregistration.k8s.io/v1', 'APIService'],
  ])('refuses cluster-scoped %s %s, naming it', (apiVersion, kind) => {
    const v = checkManifest([obj(apiVersion, kind, 'x')], policy);
    expect(v).toEqual([expect.objectContaining({ reason: 'ClusterScoped', kind, name: 'x', message: expect.stringContaining(`${kind}/x`) })]);
  });

  it('refuses unknown kinds unless configured (by Kind or group/Kind)', () => {
    const sm = obj('monitoring.coreos.com/v1', 'ServiceMonitor', 'm');
    expect(checkManifest([sm], policy)).toEqual([expect.objectContaining({ reason: 'UnknownKind' })]);
    expect(checkManifest([sm], { ...policy, allowedKinds: ['ServiceMonitor'] })).toEqual([]);
    expect(checkManifest([sm], { ...policy, allowedKinds: ['monitoring.coreos.com/ServiceMonitor'] })).toEqual([]);
    expect(checkManifest([obj('v1', 'Endpoints', 'e')], policy)).toEqual([expect.objectContaining({ reason: 'UnknownKind' })]);
    // A look-alike in another group is not the built-in kind.
    expect(checkManifest([obj('evil.example.com/v1', 'ConfigMap', 'c')], policy)).toEqual([expect.objectContaining({ reason: 'UnknownKind' })]);
  });

  it('lets an admin allow a cluster-scoped kind explicitly', () => {
    expect(checkManifest([obj('scheduling.k8s.io/v1', 'PriorityClass', 'p')], { ...policy, allowedKinds: ['scheduling.k8s.io/PriorityClass'] })).toEqual([]);
  });

  it('refuses objects in another namespace', () => {
    const v = checkManifest([obj('v1', 'ConfigMap', 'c', { namespace: 'kube-system' })], policy);
    expect(v).toEqual([expect.objectContaining({ reason: 'ForeignNamespace', message: expect.stringContaining('"kube-system"') })]);
  });

  it('refuses RoleBindings to ClusterRoles except allow-listed ones', () => {
    const rb = obj('rbac.authorization.k8s.io/v1', 'RoleBinding', 'rb', { roleRef: { kind: 'ClusterRole', name: 'cluster-admin' } });
    expect(checkManifest([rb], policy)).toEqual([expect.objectContaining({ reason: 'ClusterRoleReference', message: expect.stringContaining('cluster-admin') })]);
    const view = obj('rbac.authorization.k8s.io/v1', 'RoleBinding', 'rb', { roleRef: { kind: 'ClusterRole', name: 'view' } });
    expect(checkManifest([view], { ...policy, allowedClusterRoles: ['view', 'edit'] })).toEqual([]);
  });

  it('looks inside List objects and flags reserved names and malformed objects', () => {
    const list = { apiVersion: 'v1', kind: 'List', items: [obj('rbac.authorization.k8s.io/v1', 'ClusterRole', 'inner')] };
    expect(checkManifest([list], policy)).toEqual([expect.objectContaining({ kind: 'ClusterRole', name: 'inner' })]);
    expect(checkManifest([obj('v1', 'Secret', 'web-secrets')], { ...policy, reserved: [{ kind: 'Secret', name: 'web-secrets' }] })).toEqual([
      expect.objectContaining({ reason: 'Reserved' }),
    ]);
    expect(checkManifest([{ kind: 'ConfigMap' }], policy)).toEqual([expect.objectContaining({ reason: 'Malformed' })]);
    expect(checkManifest([null, 'text'], policy)).toEqual([]);
  });

  it('summarizes violations in one message', () => {
    const v = checkManifest([1, 2, 3, 4, 5, 6, 7].map((i) => obj('v1', 'Namespace', `n${i}`)), policy);
    expect(describeViolations(v)).toMatch(/^the release renders objects a tenant may not install: Namespace\/n1: .*; and 2 more$/);
  });
});

describe('Helm storage is reserved', () => {
  it.each([
    ['a Secret named like a release record', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'sh.helm.release.v1.web.v99' } }],
    ['a Secret labelled owner=helm', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'innocent', labels: { owner: 'helm' } } }],
    ['a ConfigMap release record (configmap driver)', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'sh.helm.release.v1.web.v2' } }],
  ])('refuses %s', (_what, o) => {
    expect(checkManifest([o], policy)).toEqual([expect.objectContaining({ reason: 'HelmStorage', kind: o.kind, name: o.metadata.name })]);
  });

  it('allows ordinary Secrets and other owner labels', () => {
    expect(checkManifest([{ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db', labels: { owner: 'team-a' } } }], policy)).toEqual([]);
  });
});

describe('RoleBinding subjects', () => {
  // The policy the operator really applies (post-renderer, stored manifests): reserved names included.
  const real = kindsPolicyFor({}, { metadata: { name: 'web' } }, 'tenant-a');
  const binding = (subjects: unknown) => obj('rbac.authorization.k8s.io/v1', 'RoleBinding', 'rb', { roleRef: { kind: 'Role', name: 'r' }, subjects });

  it.each([
    ['a ServiceAccount without namespace', [{ kind: 'ServiceAccount', name: 'app' }]],
    ['a ServiceAccount of the instance namespace', [{ kind: 'ServiceAccount', name: 'app', namespace: 'tenant-a' }]],
    ['two of them', [{ kind: 'ServiceAccount', name: 'app' }, { kind: 'ServiceAccount', name: 'worker', namespace: 'tenant-a' }]],
    ['no subjects at all', undefined],
    ['an empty list', []],
  ])('allows %s', (_what, subjects) => {
    expect(checkManifest([binding(subjects)], real)).toEqual([]);
  });

  it.each([
    ['Group system:anonymous', { kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: 'system:anonymous' }, 'Group "system:anonymous"'],
    ['Group system:unauthenticated', { kind: 'Group', name: 'system:unauthenticated' }, 'Group "system:unauthenticated"'],
    ['Group system:authenticated', { kind: 'Group', name: 'system:authenticated' }, 'Group "system:authenticated"'],
    ['Group system:serviceaccounts', { kind: 'Group', name: 'system:serviceaccounts' }, 'Group "system:serviceaccounts"'],
    ['User system:anonymous', { kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'system:anonymous' }, 'User "system:anonymous"'],
    ['a User naming a ServiceAccount', { kind: 'User', name: 'system:serviceaccount:tenant-a:app' }, 'User "system:serviceaccount:tenant-a:app"'],
    ['a ServiceAccount of another namespace', { kind: 'ServiceAccount', name: 'app', namespace: 'tenant-b' }, '"tenant-b"'],
    ['the tenant account helm acts as', { kind: 'ServiceAccount', name: TENANT_SERVICE_ACCOUNT }, `"${TENANT_SERVICE_ACCOUNT}"`],
    ['the reader account the API acts as', { kind: 'ServiceAccount', name: TENANT_READER_SERVICE_ACCOUNT, namespace: 'tenant-a' }, `"${TENANT_READER_SERVICE_ACCOUNT}"`],
  ])('refuses %s, naming it', (_what, subject, named) => {
    const v = checkManifest([binding([{ kind: 'ServiceAccount', name: 'app' }, subject])], real);
    expect(v).toEqual([expect.objectContaining({ reason: 'ForeignSubject', kind: 'RoleBinding', name: 'rb', message: expect.stringContaining(named) })]);
  });

  it('reports each bad subject', () => {
    const v = checkManifest([binding([{ kind: 'Group', name: 'system:authenticated' }, { kind: 'ServiceAccount', name: 'x', namespace: 'kube-system' }])], real);
    expect(v.map((x) => x.reason)).toEqual(['ForeignSubject', 'ForeignSubject']);
  });

  it.each([
    ['subjects that are not a list', { kind: 'ServiceAccount', name: 'app' }],
    ['a subject without name', [{ kind: 'ServiceAccount' }]],
    ['a subject without kind', [{ name: 'app' }]],
    ['a subject that is not an object', ['app']],
  ])('calls %s malformed', (_what, subjects) => {
    expect(checkManifest([binding(subjects)], real)).toEqual([expect.objectContaining({ reason: 'Malformed', kind: 'RoleBinding', name: 'rb' })]);
  });

  it('checks subjects of a RoleBinding to an allowed ClusterRole too', () => {
    const rb = obj('rbac.authorization.k8s.io/v1', 'RoleBinding', 'rb', { roleRef: { kind: 'ClusterRole', name: 'view' }, subjects: [{ kind: 'Group', name: 'system:authenticated' }] });
    expect(checkManifest([rb], { ...real, allowedClusterRoles: ['view'] })).toEqual([expect.objectContaining({ reason: 'ForeignSubject' })]);
  });
});
