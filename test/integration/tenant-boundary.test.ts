// The tenant boundary tried the way a hostile chart would, on the real control
// plane (RBAC authorizer) with real helm: the kinds policy runs on what helm
// really applies (post-renderer of the upgrade itself), crds/ and Helm's own
// release records are off limits, and helm acts as the namespace's
// caelus-tenant ServiceAccount, so the API server refuses the rest even with
// the policy switched off. Charts: test/fixtures/charts/hostile-*.
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { ConditionType, Phase, type CaelusInstance } from '../../src/domain/instance.ts';
import { tenantUser } from '../../src/domain/tenant.ts';
import { HelmClient, HelmErrorReason, HelmReleaseSecrets } from '../../src/helm/index.ts';
import { RawObjectClient } from '../../src/k8s/raw-objects.ts';
import { TenantIdentities } from '../../src/k8s/tenant.ts';
import { workloadPort } from '../../src/operator/k8s-adapters.ts';
import { eventually, helmBin, testKubeConfig, uniqueName } from '../support/kube.ts';
import { condition, createInstance, getInstance, instanceBody, patchInstance, startTestOperator, type TestOperator } from '../support/operator.ts';

const shard = uniqueName('tenant');
let op: TestOperator;
const kc = () => testKubeConfig();
const core = () => kc().makeApiClient(k8s.CoreV1Api);
const rbac = () => kc().makeApiClient(k8s.RbacAuthorizationV1Api);
const fixture = (chart: string) => fileURLToPath(new URL(`../fixtures/charts/${chart}`, import.meta.url));

const waitFor = (name: string, test: (i: CaelusInstance) => boolean, timeoutMs = 90_000) =>
  eventually(async () => {
    const i = await getInstance(name);
    return i && i.status?.observedGeneration === i.metadata.generation && test(i) ? i : undefined;
  }, timeoutMs);
const ready = (i: CaelusInstance) => condition(i, ConditionType.Ready)?.status === 'True';
const forbidden = (i: CaelusInstance) => condition(i, ConditionType.Ready)?.reason === 'ForbiddenResource';

async function warningEvents(name: string): Promise<k8s.CoreV1Event[]> {
  return eventually(async () => {
    const list = await core().listNamespacedEvent({ namespace: 'default', fieldSelector: `involvedObject.name=${name}` });
    const found = list.items.filter((e) => e.reason === 'ForbiddenResource' && e.type === 'Warning');
    return found.length > 0 ? found : undefined;
  });
}

/** Every ConfigMap and Secret in the namespace as JSON, to search for a value that must not be there. */
async function namespaceData(namespace: string): Promise<string> {
  const [cms, secrets] = await Promise.all([core().listNamespacedConfigMap({ namespace }), core().listNamespacedSecret({ namespace })]);
  const decoded = secrets.items.map((s) => Object.values(s.data ?? {}).map((v) => Buffer.from(v, 'base64').toString('utf8')));
  return JSON.stringify([cms.items, secrets.items, decoded]);
}

beforeAll(async () => {
  op = await startTestOperator(shard);
});
afterAll(async () => {
  await op?.stop();
});

describe('kinds policy on the manifest helm really applies', () => {
  it('refuses the upgrade that renders a ClusterRole only under .Release.IsUpgrade, applying nothing of it', async () => {
    const name = uniqueName('upg');
    await createInstance(instanceBody(name, shard, { userId: 'mallory', productTemplateVersion: 'hostile-upgrade@1.0.0', values: { revision: '1' } }));
    const installed = await waitFor(name, ready);
    expect(installed.status?.release?.revision).toBe(1);

    await patchInstance(name, { spec: { values: { revision: '2' } } });
    const refused = await waitFor(name, forbidden);
    expect(refused.status?.phase).toBe(Phase.Failed);
    expect(condition(refused, ConditionType.Ready)?.message).toContain(`ClusterRole/${name}-everything`);
    expect((await warningEvents(name))[0]?.message).toContain(`ClusterRole/${name}-everything`);
    await expect(rbac().readClusterRole({ name: `${name}-everything` })).rejects.toMatchObject({ code: 404 });
    // Nothing of the upgrade reached the cluster: still revision 1 and its ConfigMap.
    expect((await core().readNamespacedConfigMap({ name: `${name}-innocent`, namespace: name })).data).toEqual({ revision: '1' });
    const records = await core().listNamespacedSecret({ namespace: name, labelSelector: `owner=helm,name=${name}` });
    expect(records.items.map((s) => s.metadata?.name)).toEqual([`sh.helm.release.v1.${name}.v1`]);
  });

  it('never lets a lookup copy another namespace\'s Secret into the tenant namespace', async () => {
    const victim = uniqueName('victim');
    const value = `victim-password-${uniqueName('v')}`;
    await core().createNamespace({ body: { metadata: { name: victim } } });
    await core().createNamespacedSecret({ namespace: victim, body: { metadata: { name: 'db' }, stringData: { password: value } } });
    try {
      const name = uniqueName('loot');
      await createInstance(
        instanceBody(name, shard, { userId: 'mallory', productTemplateVersion: 'hostile-lookup@1.0.0', values: { sourceNamespace: victim, sourceName: 'db' } }),
      );
      const refused = await waitFor(name, forbidden);
      // The API server refused the tenant's read (a forbidden lookup fails the render).
      expect(condition(refused, ConditionType.Ready)?.message).toMatch(/secrets "db" is forbidden: User "system:serviceaccount:[^"]+:caelus-tenant"/);
      expect(refused.status?.release).toBeUndefined();
      await warningEvents(name);
      await expect(core().readNamespacedConfigMap({ name: `${name}-loot`, namespace: name })).rejects.toMatchObject({ code: 404 });
      expect(await namespaceData(name)).not.toContain(value);
    } finally {
      await core().deleteNamespace({ name: victim }).catch(() => undefined);
    }
  });

  it('refuses a chart with a CRD in crds/ and installs neither the CRD nor anything else', async () => {
    const name = uniqueName('crds');
    await createInstance(instanceBody(name, shard, { userId: 'mallory', productTemplateVersion: 'hostile-crds@1.0.0' }));
    const refused = await waitFor(name, forbidden);
    expect(condition(refused, ConditionType.Ready)?.message).toContain('CustomResourceDefinition/crds/widgets.yaml');
    expect(refused.status?.release).toBeUndefined();
    const ext = kc().makeApiClient(k8s.ApiextensionsV1Api);
    await expect(ext.readCustomResourceDefinition({ name: 'widgets.hostile.example.com' })).rejects.toMatchObject({ code: 404 });
    await expect(core().readNamespacedConfigMap({ name: `${name}-innocent`, namespace: name })).rejects.toMatchObject({ code: 404 });
  });

  it('refuses a chart that renders a forged Helm release record', async () => {
    const name = uniqueName('forge');
    await createInstance(instanceBody(name, shard, { userId: 'mallory', productTemplateVersion: 'hostile-forged@1.0.0' }));
    const refused = await waitFor(name, forbidden);
    expect(condition(refused, ConditionType.Ready)?.message).toContain(`Secret/sh.helm.release.v1.${name}.v99`);
    expect(refused.status?.release).toBeUndefined();
    await warningEvents(name);
    const records = await core().listNamespacedSecret({ namespace: name, labelSelector: 'owner=helm' });
    expect(records.items).toEqual([]);
    await expect(core().readNamespacedConfigMap({ name: `${name}-innocent`, namespace: name })).rejects.toMatchObject({ code: 404 });
  });
});

describe('impersonation is a second wall (kinds policy switched off)', () => {
  const namespace = uniqueName('wall');
  // What the operator's helm is, minus the policy: acting as the tenant.
  const helm = new HelmClient({ binary: helmBin(), kubeconfigPath: process.env['CAELUS_TEST_KUBECONFIG']!, actAsTenant: true });

  beforeAll(async () => {
    await core().createNamespace({ body: { metadata: { name: namespace } } });
    await new TenantIdentities(kc()).ensure(namespace, {});
  });
  afterAll(async () => {
    await core().deleteNamespace({ name: namespace }).catch(() => undefined);
  });

  it.each([
    ['a ClusterRoleBinding to cluster-admin', { clusterBinding: true }],
    ['a Deployment in kube-system', { foreignDeployment: true }],
  ])('the API server refuses %s', async (_what, values) => {
    const release = uniqueName('w');
    const err = await helm
      .upgradeInstall({ release, namespace, chart: { kind: 'local', path: fixture('hostile-wall') }, values, timeoutSeconds: 30 })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ reason: HelmErrorReason.Forbidden });
    expect(String((err as Error).message)).toContain(`system:serviceaccount:${namespace}:caelus-tenant`);
    await expect(rbac().readClusterRoleBinding({ name: `${release}-wall` })).rejects.toMatchObject({ code: 404 });
    const apps = kc().makeApiClient(k8s.AppsV1Api);
    await expect(apps.readNamespacedDeployment({ name: `${release}-wall`, namespace: 'kube-system' })).rejects.toMatchObject({ code: 404 });
  });

  it('installs an ordinary chart as the tenant, release record included', async () => {
    const release = uniqueName('ok');
    const r = await helm.upgradeInstall({ release, namespace, chart: { kind: 'local', path: fixture('hostile-wall') }, values: {}, timeoutSeconds: 30 });
    expect(r.status).toBe('deployed');
    expect((await helm.status(release, namespace))?.revision).toBe(1);
  });

  it('drift reads, release-state reads and hibernation scaling are authorized as the tenant, not as the operator', async () => {
    // A namespace with no tenant binding: the operator's own (admin) identity could read it, the tenant cannot.
    const bare = uniqueName('bare');
    await core().createNamespace({ body: { metadata: { name: bare } } });
    await core().createNamespacedSecret({ namespace: bare, body: { metadata: { name: 'x' }, stringData: { k: 'v' } } });
    try {
      const raw = new RawObjectClient(kc());
      const ref = { apiVersion: 'v1', kind: 'Secret', name: 'x', namespace: bare };
      expect(await raw.get(ref)).toBeDefined();
      await expect(raw.get(ref, { asUser: tenantUser(bare) })).rejects.toMatchObject({ statusCode: 403 });
      expect(await raw.get({ ...ref, namespace }, { asUser: tenantUser(namespace) })).toBeUndefined(); // its own namespace: a plain 404
      await expect(new HelmReleaseSecrets(kc(), { actAs: tenantUser }).latest('x', bare)).rejects.toThrow(/forbidden/i);
      await expect(workloadPort(kc()).list(bare, 'caelus.io/instance=x')).rejects.toThrow(/forbidden/i);
      expect(await workloadPort(kc()).list(namespace, 'caelus.io/instance=x')).toEqual([]);
    } finally {
      await core().deleteNamespace({ name: bare }).catch(() => undefined);
    }
  });
});
