// Caelus's own chart (deploy/caelus): lint and render it with every option on,
// install it on the shared control plane, then ask the API server what its
// ServiceAccount may do. No kubelet here: objects only. Lint/render with
// defaults and the schema of every chart (this one included): charts-helm.test.ts.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { execa } from 'execa';
import { parse, parseAllDocuments } from 'yaml';
import { helmBin, testKubeConfig, uniqueName } from '../support/kube.ts';
import { tenantReaderRoleRules, tenantReaderUser, tenantRoleRules, tenantUser } from '../../src/domain/tenant.ts';
import { TenantIdentities } from '../../src/k8s/tenant.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const chart = join(root, 'deploy/caelus');
const kubeconfig = () => process.env['CAELUS_TEST_KUBECONFIG']!;

function objects(manifest: string): k8s.KubernetesObject[] {
  return parseAllDocuments(manifest)
    .map((d) => d.toJSON() as k8s.KubernetesObject | null)
    .filter((o): o is k8s.KubernetesObject => !!o);
}

describe('deploy/caelus chart', () => {
  it('lints and renders with every option on', async () => {
    await execa(helmBin(), ['lint', chart]);
    await execa(helmBin(), [
      'lint', chart, '--set', 'api.enabled=true', '--set', 'metrics.serviceMonitor.enabled=true',
      '--set', 'rbac.tenantRole.create=true', '--set', 'database.existingSecret=db',
    ]);
    const { stdout } = await execa(helmBin(), [
      'template', 'rel', chart, '--namespace', 'caelus-system', '--include-crds',
      '--set', 'api.enabled=true', '--set', 'metrics.serviceMonitor.enabled=true',
      '--set', 'database.existingSecret=db', '--set', 'encryption.existingSecret=enc',
      '--set-string', 'catalog.inline=templates: []',
    ]);
    const objs = objects(stdout);
    const kinds = objs.map((o) => o.kind).sort();
    expect(kinds).toEqual([
      'ClusterRole', 'ClusterRole', 'ClusterRole', 'ClusterRole', 'ClusterRoleBinding', 'ClusterRoleBinding', 'ConfigMap', 'CustomResourceDefinition', 'CustomResourceDefinition', 'Deployment', 'Deployment',
      'Role', 'Role', 'RoleBinding', 'RoleBinding', 'Service', 'Service', 'ServiceAccount', 'ServiceAccount', 'ServiceMonitor', 'ServiceMonitor',
    ]);
    // The CRDs come from crds/ through the chart's symlinks.
    const crds = objs.filter((o) => o.kind === 'CustomResourceDefinition').sort((a, b) => a.metadata!.name!.localeCompare(b.metadata!.name!));
    expect(crds).toEqual(['caelusinstance.yaml', 'caelusrollout.yaml'].map((f) => parse(readFileSync(join(root, 'crds', f), 'utf8'))));
    expect(objs.find((o) => o.kind === 'ClusterRole')?.metadata?.name).toContain('rel');
    // The chart's copy of the tenant role is exactly the kinds policy's allow-list (src/domain/tenant.ts).
    const tenantRole = objs.find((o) => o.kind === 'ClusterRole' && o.metadata?.name === 'caelus-tenant') as k8s.V1ClusterRole;
    expect(tenantRole.rules).toEqual(tenantRoleRules());
    // And its copy of the reader role (what the API acts as) is exactly src/domain/tenant.ts's.
    const readerRole = objs.find((o) => o.kind === 'ClusterRole' && o.metadata?.name === 'caelus-tenant-reader') as k8s.V1ClusterRole;
    expect(readerRole.rules).toEqual(tenantReaderRoleRules());
    const extraRules = [
      { apiGroups: ['monitoring.coreos.com'], resources: ['servicemonitors'], verbs: ['get', 'create'] },
      { apiGroups: ['example.com'], resources: ['widgets'], verbs: ['get'], resourceNames: ['one'] },
      { apiGroups: ['example.com'], resources: ['writeonlies'], verbs: ['create'] },
    ];
    const { stdout: extra } = await execa(helmBin(), ['template', 'rel', chart, '--set-json', `rbac.extraTenantRules=${JSON.stringify(extraRules)}`]);
    const extraRole = objects(extra).find((o) => o.kind === 'ClusterRole' && o.metadata?.name === 'caelus-tenant') as k8s.V1ClusterRole;
    expect(extraRole.rules).toEqual(tenantRoleRules(extraRules));
    const extraReader = objects(extra).find((o) => o.kind === 'ClusterRole' && o.metadata?.name === 'caelus-tenant-reader') as k8s.V1ClusterRole;
    expect(extraReader.rules).toEqual(tenantReaderRoleRules(extraRules));

    const op = objs.find((o) => o.kind === 'Deployment' && o.metadata?.name?.endsWith('-operator')) as k8s.V1Deployment;
    expect(op.spec?.replicas).toBe(2);
    const pod = op.spec!.template.spec!;
    const c = pod.containers[0]!;
    expect(c.args).toEqual(['operator']);
    const env = Object.fromEntries((c.env ?? []).map((e) => [e.name, e]));
    expect(env['CAELUS_LEADER_ELECTION']?.value).toBe('true');
    expect(env['CAELUS_LEASE_NAMESPACE']?.value).toBe('caelus-system');
    expect(env['CAELUS_CATALOG']?.value).toBe('/etc/caelus/catalog.yaml');
    expect(env['DATABASE_URL']?.valueFrom?.secretKeyRef).toEqual({ name: 'db', key: 'DATABASE_URL' });
    expect(env['CAELUS_ENCRYPTION_KEYS']?.valueFrom?.secretKeyRef).toEqual({ name: 'enc', key: 'CAELUS_ENCRYPTION_KEYS' });
    expect(env['HELM_CACHE_HOME']?.value).toMatch(/^\/tmp\//);
    expect(c.livenessProbe?.httpGet?.path).toBe('/healthz');
    expect(c.readinessProbe?.httpGet?.path).toBe('/readyz');
    expect(c.ports?.[0]?.containerPort).toBe(8080);
    expect(pod.securityContext?.runAsNonRoot).toBe(true);
    expect(pod.securityContext?.seccompProfile?.type).toBe('RuntimeDefault');
    expect(c.securityContext?.readOnlyRootFilesystem).toBe(true);
    expect(c.securityContext?.allowPrivilegeEscalation).toBe(false);
    expect(c.securityContext?.capabilities?.drop).toEqual(['ALL']);
    expect(c.volumeMounts?.map((m) => m.mountPath)).toContain('/tmp');
    expect(c.resources?.limits).toBeDefined();
    // Longer than the operator's shutdown (30 s drain + 5 s abort grace + helm's ≤ 10 s kill grace): helm is never SIGKILLed.
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(30 + 5 + 10);

    // The API: its own ServiceAccount, the database from the Secret, probes, a Service in front.
    const api = objs.find((o) => o.kind === 'Deployment' && o.metadata?.name?.endsWith('-api')) as k8s.V1Deployment;
    const apiPod = api.spec!.template.spec!;
    const ac = apiPod.containers[0]!;
    expect(ac.args).toEqual(['api']);
    expect(apiPod.serviceAccountName).toBe('rel-caelus-api');
    const apiEnv = Object.fromEntries((ac.env ?? []).map((e) => [e.name, e]));
    expect(apiEnv['DATABASE_URL']?.valueFrom?.secretKeyRef).toEqual({ name: 'db', key: 'DATABASE_URL' });
    expect(apiEnv['CAELUS_API_PORT']?.value).toBe('8080');
    // The API seals instance secrets and chart credentials: it needs the key ring, from the Secret.
    expect(apiEnv['CAELUS_ENCRYPTION_KEYS']?.valueFrom?.secretKeyRef).toEqual({ name: 'enc', key: expect.any(String) });
    expect(ac.readinessProbe?.httpGet?.path).toBe('/readyz');
    expect(ac.securityContext?.readOnlyRootFilesystem).toBe(true);
    const svc = objs.find((o) => o.kind === 'Service' && o.metadata?.name === 'rel-caelus-api') as k8s.V1Service;
    expect(svc.spec?.selector).toEqual(api.spec?.selector?.matchLabels);
    expect(svc.spec?.ports?.[0]?.targetPort).toBe('http');
    const apiRole = objs.find((o) => o.kind === 'ClusterRole' && o.metadata?.name?.endsWith('-api')) as k8s.V1ClusterRole;
    expect(apiRole.rules).toEqual([
      { apiGroups: ['caelus.io'], resources: ['caelusinstances'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: [''], resources: ['events', 'resourcequotas'], verbs: ['list'] },
      { apiGroups: [''], resources: ['serviceaccounts'], verbs: ['impersonate'], resourceNames: ['caelus-tenant-reader'] },
    ]);
    // GET /shards reads the operators' Leases: list only, in the release namespace only.
    const leaseRole = objs.find((o) => o.kind === 'Role' && o.metadata?.name === 'rel-caelus-api-leases') as k8s.V1Role;
    expect(leaseRole.rules).toEqual([{ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['list'] }]);
    expect(apiEnv['CAELUS_LEASE_NAME']?.value).toBe('caelus-operator');
    expect(apiEnv['CAELUS_SHARDS']).toBeUndefined();
    expect(env['CAELUS_SHARD']).toBeUndefined();

    // operator.shards: one operator Deployment per shard, each told its shard and the list; the API the list.
    const { stdout: sharded } = await execa(helmBin(), ['template', 'rel', chart, '--set', 'operator.shards={east,west}', '--set', 'api.enabled=true', '--set', 'database.existingSecret=db']);
    const shardObjs = objects(sharded);
    const shardDeps = shardObjs.filter((o): o is k8s.V1Deployment => o.kind === 'Deployment' && /-operator-/.test(o.metadata?.name ?? ''));
    expect(shardDeps.map((d) => d.metadata?.name)).toEqual(['rel-caelus-operator-east', 'rel-caelus-operator-west']);
    for (const [i, shard] of ['east', 'west'].entries()) {
      const d = shardDeps[i]!;
      const e = Object.fromEntries((d.spec!.template.spec!.containers[0]!.env ?? []).map((x) => [x.name, x.value]));
      expect(e).toMatchObject({ CAELUS_SHARDS: 'east,west', CAELUS_SHARD: shard, CAELUS_LEASE_NAME: 'caelus-operator' });
      expect(d.spec?.selector?.matchLabels?.['caelus.io/shard']).toBe(shard);
      expect(d.spec?.template.metadata?.labels?.['caelus.io/shard']).toBe(shard);
    }
    const shardedApi = shardObjs.find((o) => o.kind === 'Deployment' && o.metadata?.name === 'rel-caelus-api') as k8s.V1Deployment;
    expect(shardedApi.spec!.template.spec!.containers[0]!.env?.find((x) => x.name === 'CAELUS_SHARDS')?.value).toBe('east,west');
    await expect(execa(helmBin(), ['template', 'rel', chart, '--set', 'operator.shards={East}'])).rejects.toThrow(/shards/);
    // Without PostgreSQL the API has nowhere to keep its data: refused at render time, naming the value.
    await expect(execa(helmBin(), ['template', 'rel', chart, '--set', 'api.enabled=true'])).rejects.toThrow(/database\.existingSecret/);
    // A grace period the shutdown does not fit in is refused by the schema.
    await expect(execa(helmBin(), ['template', 'rel', chart, '--set', 'operator.terminationGracePeriodSeconds=30'])).rejects.toThrow(/terminationGracePeriodSeconds/);

    // Defaults: no API Deployment, no ServiceMonitor.
    const { stdout: defaults } = await execa(helmBin(), ['template', 'rel', chart]);
    expect(objects(defaults).map((o) => o.kind)).not.toContain('ServiceMonitor');
    expect(objects(defaults).filter((o) => o.kind === 'Deployment')).toHaveLength(1);
  });

  describe('installed on the control plane', () => {
    const ns = uniqueName('caelus-sys');
    const release = uniqueName('caelus');
    const sa = `${release}`; // fullname: the release name already contains "caelus"
    const user = `system:serviceaccount:${ns}:${sa}`;
    const tenantNs = uniqueName('tenant');
    const helm = (...args: string[]) => execa(helmBin(), [...args, '--namespace', ns, '--kubeconfig', kubeconfig()]);
    let authz: k8s.AuthorizationV1Api;

    beforeAll(async () => {
      authz = testKubeConfig().makeApiClient(k8s.AuthorizationV1Api);
      // The CRD is installed by globalSetup; --skip-crds keeps parallel files from racing on it.
      // The tenant ClusterRole (fixed name) is installed by globalSetup as well: not a second owner.
      await helm('upgrade', '--install', release, chart, '--create-namespace', '--skip-crds', '--set', 'api.enabled=true', '--set', 'database.existingSecret=caelus-db', '--set', 'rbac.tenantRole.create=false');
      // An instance namespace with the identities the operator's tenant step applies.
      await testKubeConfig().makeApiClient(k8s.CoreV1Api).createNamespace({ body: { metadata: { name: tenantNs } } });
      await new TenantIdentities(testKubeConfig()).ensure(tenantNs, {});
    });

    afterAll(async () => {
      await helm('uninstall', release).catch(() => undefined);
      const core = testKubeConfig().makeApiClient(k8s.CoreV1Api);
      await core.deleteNamespace({ name: ns }).catch(() => undefined);
      await core.deleteNamespace({ name: tenantNs }).catch(() => undefined);
    });

    /** Whether the ServiceAccount `as` (of namespace `saNamespace`, with the groups the API server gives it) may do `attrs`. */
    async function can(attrs: k8s.V1ResourceAttributes, as = user, saNamespace = ns): Promise<boolean> {
      const review = await authz.createSubjectAccessReview({
        body: {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SubjectAccessReview',
          spec: { user: as, groups: ['system:serviceaccounts', `system:serviceaccounts:${saNamespace}`, 'system:authenticated'], resourceAttributes: attrs },
        },
      });
      return review.status?.allowed === true;
    }

    it('creates the ServiceAccount, operator Deployment and RBAC objects', async () => {
      const kc = testKubeConfig();
      const core = kc.makeApiClient(k8s.CoreV1Api);
      const apps = kc.makeApiClient(k8s.AppsV1Api);
      const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
      expect((await core.readNamespacedServiceAccount({ name: sa, namespace: ns })).metadata?.uid).toBeTruthy();
      const dep = await apps.readNamespacedDeployment({ name: `${release}-operator`, namespace: ns });
      expect(dep.spec?.replicas).toBe(2);
      expect(dep.spec?.template.spec?.serviceAccountName).toBe(sa);
      const clusterName = `${release}-${ns}-caelus`.slice(0, 63).replace(/-+$/, '');
      expect((await rbac.readClusterRole({ name: clusterName })).rules?.length).toBeGreaterThan(0);
      expect((await rbac.readClusterRoleBinding({ name: clusterName })).subjects?.[0]?.name).toBe(sa);
    });

    const results = async (list: [string, k8s.V1ResourceAttributes][], as = user, saNamespace = ns) =>
      Object.fromEntries(await Promise.all(list.map(async ([what, a]) => [what, await can(a, as, saNamespace)] as const)));

    it('grants the operator what it does itself, and nothing helm does for a tenant', async () => {
      const other = uniqueName('tenant');
      const allowed: [string, k8s.V1ResourceAttributes][] = [
        ['update caelusinstances/status', { group: 'caelus.io', resource: 'caelusinstances', subresource: 'status', verb: 'update' }],
        ['watch caelusinstances', { group: 'caelus.io', resource: 'caelusinstances', verb: 'watch' }],
        ['patch caelusinstances', { group: 'caelus.io', resource: 'caelusinstances', verb: 'patch' }],
        ['create caelusinstances (DB→CR sync)', { group: 'caelus.io', resource: 'caelusinstances', verb: 'create' }],
        ['delete caelusinstances (sync, TTL)', { group: 'caelus.io', resource: 'caelusinstances', verb: 'delete' }],
        ['update caelusinstances/finalizers', { group: 'caelus.io', resource: 'caelusinstances', subresource: 'finalizers', verb: 'update' }],
        ['patch caelusrollouts (rollout mirror)', { group: 'caelus.io', resource: 'caelusrollouts', verb: 'patch' }],
        ['create namespaces', { resource: 'namespaces', verb: 'create' }],
        ['delete namespaces', { resource: 'namespaces', verb: 'delete' }],
        ['create events', { resource: 'events', verb: 'create', namespace: 'default' }],
        ['create leases in its namespace', { group: 'coordination.k8s.io', resource: 'leases', verb: 'create', namespace: ns }],
        ['update leases in its namespace', { group: 'coordination.k8s.io', resource: 'leases', verb: 'update', namespace: ns }],
        ['create the tenant serviceaccount', { resource: 'serviceaccounts', verb: 'create', namespace: other }],
        ['patch the tenant rolebinding', { group: 'rbac.authorization.k8s.io', resource: 'rolebindings', verb: 'patch', namespace: other }],
        ['bind the caelus-tenant clusterrole', { group: 'rbac.authorization.k8s.io', resource: 'clusterroles', verb: 'bind', name: 'caelus-tenant' }],
        ['bind the caelus-tenant-reader clusterrole', { group: 'rbac.authorization.k8s.io', resource: 'clusterroles', verb: 'bind', name: 'caelus-tenant-reader' }],
        ['impersonate caelus-tenant', { resource: 'serviceaccounts', verb: 'impersonate', namespace: other, name: 'caelus-tenant' }],
        ['create a resourcequota (guardrail)', { resource: 'resourcequotas', verb: 'create', namespace: other }],
        ['patch a networkpolicy (guardrail)', { group: 'networking.k8s.io', resource: 'networkpolicies', verb: 'patch', namespace: other }],
        ['create <name>-secrets (guardrail)', { resource: 'secrets', verb: 'create', namespace: other }],
        ['watch deployments (drift)', { group: 'apps', resource: 'deployments', verb: 'watch' }],
        ['watch rolebindings (tenant identity restored)', { group: 'rbac.authorization.k8s.io', resource: 'rolebindings', verb: 'watch' }],
        ['list limitranges (guardrail restored)', { resource: 'limitranges', verb: 'list' }],
      ];
      const denied: [string, k8s.V1ResourceAttributes][] = [
        ['create a deployment in kube-system', { group: 'apps', resource: 'deployments', verb: 'create', namespace: 'kube-system' }],
        ['create a deployment in a tenant namespace (helm acts as the tenant)', { group: 'apps', resource: 'deployments', verb: 'create', namespace: other }],
        ['patch a deployment (drift and hibernation act as the tenant)', { group: 'apps', resource: 'deployments', verb: 'patch', namespace: other }],
        ['create jobs', { group: 'batch', resource: 'jobs', verb: 'create', namespace: other }],
        ['create pods', { resource: 'pods', verb: 'create', namespace: other }],
        ['get secrets', { resource: 'secrets', verb: 'get', namespace: other }],
        ['list secrets', { resource: 'secrets', verb: 'list' }],
        ['watch secrets', { resource: 'secrets', verb: 'watch', namespace: 'kube-system' }],
        ['get configmaps (drift reads as the tenant)', { resource: 'configmaps', verb: 'get', namespace: 'kube-system' }],
        ['create clusterroles', { group: 'rbac.authorization.k8s.io', resource: 'clusterroles', verb: 'create' }],
        ['create clusterrolebindings', { group: 'rbac.authorization.k8s.io', resource: 'clusterrolebindings', verb: 'create' }],
        ['escalate', { group: 'rbac.authorization.k8s.io', resource: 'clusterroles', verb: 'escalate' }],
        ['bind cluster-admin', { group: 'rbac.authorization.k8s.io', resource: 'clusterroles', verb: 'bind', name: 'cluster-admin' }],
        ['create roles', { group: 'rbac.authorization.k8s.io', resource: 'roles', verb: 'create', namespace: other }],
        ['create validatingwebhookconfigurations', { group: 'admissionregistration.k8s.io', resource: 'validatingwebhookconfigurations', verb: 'create' }],
        ['create customresourcedefinitions', { group: 'apiextensions.k8s.io', resource: 'customresourcedefinitions', verb: 'create' }],
        ['delete nodes', { resource: 'nodes', verb: 'delete' }],
        ['impersonate users', { resource: 'users', verb: 'impersonate' }],
        ['impersonate groups', { resource: 'groups', verb: 'impersonate', name: 'system:masters' }],
        ['impersonate another serviceaccount', { resource: 'serviceaccounts', verb: 'impersonate', namespace: 'kube-system', name: 'default' }],
        ['impersonate caelus-tenant-reader (the API\'s identity)', { resource: 'serviceaccounts', verb: 'impersonate', namespace: other, name: 'caelus-tenant-reader' }],
        ['bind another clusterrole', { group: 'rbac.authorization.k8s.io', resource: 'clusterroles', verb: 'bind', name: 'admin' }],
        ['create leases in a tenant namespace', { group: 'coordination.k8s.io', resource: 'leases', verb: 'create', namespace: other }],
      ];
      expect(await results(allowed)).toEqual(Object.fromEntries(allowed.map(([w]) => [w, true])));
      expect(await results(denied)).toEqual(Object.fromEntries(denied.map(([w]) => [w, false])));
    });

    it('binds caelus-tenant to the allowed kinds in its own namespace only', async () => {
      const as = (list: [string, k8s.V1ResourceAttributes][]) => results(list, tenantUser(tenantNs), tenantNs);
      const allowed: [string, k8s.V1ResourceAttributes][] = [
        ['create a deployment in its namespace', { group: 'apps', resource: 'deployments', verb: 'create', namespace: tenantNs }],
        ['create release secrets in its namespace', { resource: 'secrets', verb: 'create', namespace: tenantNs }],
        ['list secrets in its namespace', { resource: 'secrets', verb: 'list', namespace: tenantNs }],
      ];
      const denied: [string, k8s.V1ResourceAttributes][] = [
        ['create a deployment in kube-system', { group: 'apps', resource: 'deployments', verb: 'create', namespace: 'kube-system' }],
        ['get a secret in another namespace (lookup)', { resource: 'secrets', verb: 'get', namespace: ns }],
        ['create clusterroles', { group: 'rbac.authorization.k8s.io', resource: 'clusterroles', verb: 'create' }],
        ['create clusterrolebindings', { group: 'rbac.authorization.k8s.io', resource: 'clusterrolebindings', verb: 'create' }],
        ['create customresourcedefinitions', { group: 'apiextensions.k8s.io', resource: 'customresourcedefinitions', verb: 'create' }],
        ['delete its resourcequota', { resource: 'resourcequotas', verb: 'delete', namespace: tenantNs }],
        ['create namespaces', { resource: 'namespaces', verb: 'create' }],
        ['create endpoints (not an allowed kind)', { resource: 'endpoints', verb: 'create', namespace: tenantNs }],
      ];
      expect(await as(allowed)).toEqual(Object.fromEntries(allowed.map(([w]) => [w, true])));
      expect(await as(denied)).toEqual(Object.fromEntries(denied.map(([w]) => [w, false])));
    });

    it('binds caelus-tenant-reader to get and list-Secrets in its own namespace, and to nothing that writes', async () => {
      const as = (list: [string, k8s.V1ResourceAttributes][]) => results(list, tenantReaderUser(tenantNs), tenantNs);
      const allowed: [string, k8s.V1ResourceAttributes][] = [
        ['list release secrets in its namespace', { resource: 'secrets', verb: 'list', namespace: tenantNs }],
        ['get a secret of the release', { resource: 'secrets', verb: 'get', namespace: tenantNs }],
        ['get a deployment of the release', { group: 'apps', resource: 'deployments', verb: 'get', namespace: tenantNs }],
        ['get a rolebinding of the release', { group: 'rbac.authorization.k8s.io', resource: 'rolebindings', verb: 'get', namespace: tenantNs }],
      ];
      const denied: [string, k8s.V1ResourceAttributes][] = [
        ...['create', 'update', 'patch', 'delete', 'deletecollection'].map((verb): [string, k8s.V1ResourceAttributes] => [`${verb} secrets`, { resource: 'secrets', verb, namespace: tenantNs }]),
        ...['create', 'patch', 'delete'].map((verb): [string, k8s.V1ResourceAttributes] => [`${verb} deployments`, { group: 'apps', resource: 'deployments', verb, namespace: tenantNs }]),
        ['patch deployments/scale', { group: 'apps', resource: 'deployments', subresource: 'scale', verb: 'patch', namespace: tenantNs }],
        ['create rolebindings', { group: 'rbac.authorization.k8s.io', resource: 'rolebindings', verb: 'create', namespace: tenantNs }],
        ['watch secrets', { resource: 'secrets', verb: 'watch', namespace: tenantNs }],
        ['list configmaps (get only)', { resource: 'configmaps', verb: 'list', namespace: tenantNs }],
        ['list secrets in another namespace', { resource: 'secrets', verb: 'list', namespace: ns }],
        ['get a secret in another namespace', { resource: 'secrets', verb: 'get', namespace: 'kube-system' }],
        ['create pods/exec', { resource: 'pods', subresource: 'exec', verb: 'create', namespace: tenantNs }],
        ['impersonate caelus-tenant', { resource: 'serviceaccounts', verb: 'impersonate', name: 'caelus-tenant', namespace: tenantNs }],
      ];
      expect(await as(allowed)).toEqual(Object.fromEntries(allowed.map(([w]) => [w, true])));
      expect(await as(denied)).toEqual(Object.fromEntries(denied.map(([w]) => [w, false])));
    });

    it('lets the API ServiceAccount read CaelusInstances, Events and quotas, act as caelus-tenant-reader, list its namespace\'s Leases, and nothing more', async () => {
      const apiUser = `system:serviceaccount:${ns}:${release}-api`;
      const other = uniqueName('tenant');
      const allowed: [string, k8s.V1ResourceAttributes][] = [
        ['get caelusinstances (live status)', { group: 'caelus.io', resource: 'caelusinstances', verb: 'get' }],
        ['list caelusinstances', { group: 'caelus.io', resource: 'caelusinstances', verb: 'list' }],
        ['watch caelusinstances', { group: 'caelus.io', resource: 'caelusinstances', verb: 'watch' }],
        ['list events in a tenant namespace (console)', { resource: 'events', verb: 'list', namespace: other }],
        ['list resourcequotas in a tenant namespace (console)', { resource: 'resourcequotas', verb: 'list', namespace: other }],
        ['impersonate caelus-tenant-reader (release records and objects, read-only)', { resource: 'serviceaccounts', verb: 'impersonate', name: 'caelus-tenant-reader', namespace: other }],
        ['list leases in its namespace (GET /shards)', { group: 'coordination.k8s.io', resource: 'leases', verb: 'list', namespace: ns }],
      ];
      const denied: [string, k8s.V1ResourceAttributes][] = [
        ['create caelusinstances (writes go through the DB and the sync)', { group: 'caelus.io', resource: 'caelusinstances', verb: 'create' }],
        ['patch caelusinstances', { group: 'caelus.io', resource: 'caelusinstances', verb: 'patch' }],
        ['delete caelusinstances', { group: 'caelus.io', resource: 'caelusinstances', verb: 'delete' }],
        ['update caelusinstances/status', { group: 'caelus.io', resource: 'caelusinstances', subresource: 'status', verb: 'update' }],
        ['get secrets in a tenant namespace', { resource: 'secrets', verb: 'get', namespace: other }],
        ['list secrets in its own namespace', { resource: 'secrets', verb: 'list', namespace: ns }],
        ['create namespaces', { resource: 'namespaces', verb: 'create' }],
        ['create deployments in a tenant namespace', { group: 'apps', resource: 'deployments', verb: 'create', namespace: other }],
        ['update leases (not an operator replica)', { group: 'coordination.k8s.io', resource: 'leases', verb: 'update', namespace: ns }],
        ['list leases in a tenant namespace', { group: 'coordination.k8s.io', resource: 'leases', verb: 'list', namespace: other }],
        ['create events', { resource: 'events', verb: 'create', namespace: other }],
        ['impersonate another ServiceAccount', { resource: 'serviceaccounts', verb: 'impersonate', name: 'default', namespace: other }],
        ['impersonate caelus-tenant (it writes)', { resource: 'serviceaccounts', verb: 'impersonate', name: 'caelus-tenant', namespace: other }],
        ['impersonate users', { resource: 'users', verb: 'impersonate' }],
        ['impersonate groups', { resource: 'groups', verb: 'impersonate', name: 'system:masters' }],
        ['list configmaps itself', { resource: 'configmaps', verb: 'list', namespace: other }],
      ];
      expect(await results(allowed, apiUser)).toEqual(Object.fromEntries(allowed.map(([w]) => [w, true])));
      expect(await results(denied, apiUser)).toEqual(Object.fromEntries(denied.map(([w]) => [w, false])));
      const apps = testKubeConfig().makeApiClient(k8s.AppsV1Api);
      expect((await apps.readNamespacedDeployment({ name: `${release}-api`, namespace: ns })).spec?.template.spec?.serviceAccountName).toBe(`${release}-api`);
    });
  });
});
