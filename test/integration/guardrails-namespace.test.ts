// Tenant guardrails against the real control plane: tiers become
// ResourceQuota + LimitRange, the namespace gets the template's Pod Security
// level, NetworkPolicies isolate it, and a chart that would leave its
// namespace is refused before anything is applied.
import * as k8s from '@kubernetes/client-node';
import { execa } from 'execa';
import { ConditionType, Phase } from '../../src/domain/instance.ts';
import { DEFAULT_TIERS } from '../../src/domain/tiers.ts';
import { eventually, helmBin, testKubeConfig, uniqueName } from '../support/kube.ts';
import { condition, counterTotal, createInstance, getInstance, instanceBody, patchInstance, startTestOperator, waitReady, type TestOperator } from '../support/operator.ts';

const shard = uniqueName('guard');
let op: TestOperator;
const kc = () => testKubeConfig();
const core = () => kc().makeApiClient(k8s.CoreV1Api);
const net = () => kc().makeApiClient(k8s.NetworkingV1Api);
const rbac = () => kc().makeApiClient(k8s.RbacAuthorizationV1Api);

beforeAll(async () => {
  op = await startTestOperator(shard, { CAELUS_INGRESS_NAMESPACE: 'traefik-system' });
});
afterAll(async () => {
  await op?.stop();
});

describe('guardrails: tiers, Pod Security, network isolation', () => {
  it.each([
    // webapp names no tier: the default (small).
    ['webapp@1.0.0', undefined, 'small', { cpu: '2', memory: '4Gi' }, { cpu: '500m', memory: '512Mi' }],
    ['guarded@1.0.0', undefined, 'micro', { cpu: '500m', memory: '1Gi' }, { cpu: '250m', memory: '256Mi' }],
    ['guarded@1.0.0', 'large', 'large', { cpu: '8', memory: '16Gi' }, { cpu: '1', memory: '1Gi' }],
  ])('%s with spec.tier %s gets the %s ResourceQuota and LimitRange', async (template, tier, expected, quota, defaultLimit) => {
    const name = uniqueName('tier');
    await createInstance(instanceBody(name, shard, { userId: 'u', productTemplateVersion: template, ...(tier ? { tier } : {}) }));
    const ready = await waitReady(name);
    expect(ready.status?.guardrails?.tier).toBe(expected);
    const rq = await core().readNamespacedResourceQuota({ name: 'caelus-quota', namespace: name });
    const objects = DEFAULT_TIERS.find((t) => t.name === expected)!.objects;
    expect(rq.spec?.hard).toEqual({
      'requests.cpu': quota.cpu,
      'requests.memory': quota.memory,
      'limits.cpu': quota.cpu,
      'limits.memory': quota.memory,
      'requests.storage': objects.storage,
      persistentvolumeclaims: String(objects.persistentVolumeClaims),
      services: String(objects.services),
      'services.loadbalancers': '0',
      'services.nodeports': '0',
    });
    expect(rq.metadata?.labels).toMatchObject({ 'caelus.io/instance': name, 'caelus.io/tier': expected });
    const lr = await core().readNamespacedLimitRange({ name: 'caelus-limits', namespace: name });
    expect(lr.spec?.limits[0]).toMatchObject({ type: 'Container', _default: defaultLimit, max: quota });
  });

  it('refuses a spec.tier the template version does not allow with TierNotAllowed', async () => {
    const name = uniqueName('tier');
    await createInstance(instanceBody(name, shard, { userId: 'u', productTemplateVersion: 'guarded@1.0.0', tier: 'small' }));
    const failed = await eventually(async () => {
      const i = await getInstance(name);
      return condition(i, ConditionType.Ready)?.reason === 'TierNotAllowed' ? i : undefined;
    }, 60_000);
    expect(condition(failed, ConditionType.Ready)).toMatchObject({ status: 'False', message: expect.stringContaining('spec.tier "small" is not allowed') });
    expect(failed.status?.phase).toBe(Phase.Failed);
    // Nothing installed: no release.
    const helm = await execa(helmBin(), ['status', name, '-n', name, '--kubeconfig', process.env['CAELUS_TEST_KUBECONFIG']!], { reject: false });
    expect(helm.exitCode).not.toBe(0);
    // Fixing the CR installs it.
    await patchInstance(name, { spec: { tier: 'large' } });
    expect((await waitReady(name)).status?.guardrails?.tier).toBe('large');
  });

  it('labels the namespace with the template Pod Security level and isolates it with NetworkPolicies', async () => {
    const restricted = uniqueName('psa');
    const baseline = uniqueName('psa');
    await createInstance(instanceBody(restricted, shard, { userId: 'u', productTemplateVersion: 'webapp@1.0.0' }));
    await createInstance(instanceBody(baseline, shard, { userId: 'u', productTemplateVersion: 'guarded@1.0.0' }));
    await waitReady(restricted);
    await waitReady(baseline);
    expect((await core().readNamespace({ name: restricted })).metadata?.labels).toMatchObject({ 'pod-security.kubernetes.io/enforce': 'restricted' });
    expect((await core().readNamespace({ name: baseline })).metadata?.labels).toMatchObject({
      'pod-security.kubernetes.io/enforce': 'baseline',
      'pod-security.kubernetes.io/warn': 'restricted',
    });

    const policies = async (ns: string) =>
      Object.fromEntries((await net().listNamespacedNetworkPolicy({ namespace: ns })).items.map((p) => [p.metadata!.name!, p.spec]));
    const plain = await policies(restricted);
    expect(Object.keys(plain).sort()).toEqual(['caelus-allow-dns', 'caelus-allow-ingress-controller', 'caelus-allow-same-namespace', 'caelus-default-deny']);
    expect(plain['caelus-default-deny']).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
    expect(plain['caelus-allow-same-namespace']?.ingress).toEqual([{ _from: [{ podSelector: {} }] }]);
    expect(plain['caelus-allow-same-namespace']?.egress).toEqual([{ to: [{ podSelector: {} }] }]);
    expect(plain['caelus-allow-ingress-controller']?.ingress).toEqual([
      { _from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'traefik-system' } } }] },
    ]);
    const withRules = await policies(baseline);
    expect(withRules['caelus-template-rules']?.ingress).toEqual([
      { _from: [{ namespaceSelector: { matchLabels: { team: 'monitoring' } } }], ports: [{ port: 9090, protocol: 'TCP' }] },
    ]);
  });

  it('spawns no helm process and writes no guardrail object for an unchanged spec', async () => {
    const name = uniqueName('steady');
    await createInstance(instanceBody(name, shard, { userId: 'u', productTemplateVersion: 'webapp@1.0.0' }));
    await waitReady(name);
    const rv = (await core().readNamespacedResourceQuota({ name: 'caelus-quota', namespace: name })).metadata?.resourceVersion;
    const helmBefore = await counterTotal(op.metrics, 'caelus_helm_invocations_total');
    const reconciles = async () =>
      ((await op.metrics.registry.getMetricsAsJSON()).find((m) => m.name === 'caelus_reconcile_duration_seconds')?.values ?? [])
        .filter((v) => (v as { metricName?: string }).metricName === 'caelus_reconcile_duration_seconds_count')
        .reduce((s, v) => s + v.value, 0);
    const before = await reconciles();
    await patchInstance(name, { metadata: { annotations: { 'caelus.io/reconcile-requested-at': new Date().toISOString() } } });
    await eventually(async () => ((await reconciles()) > before ? true : undefined));
    expect(await counterTotal(op.metrics, 'caelus_helm_invocations_total')).toBe(helmBefore);
    expect((await core().readNamespacedResourceQuota({ name: 'caelus-quota', namespace: name })).metadata?.resourceVersion).toBe(rv);
  });
});

describe('guardrails: kinds allow-list', () => {
  it('refuses a chart rendering a ClusterRoleBinding with ForbiddenResource and applies nothing of it', async () => {
    const name = uniqueName('escape');
    await createInstance(instanceBody(name, shard, { userId: 'mallory', productTemplateVersion: 'escape@1.0.0' }));
    const refused = await eventually(async () => {
      const i = await getInstance(name);
      return condition(i, ConditionType.Ready)?.reason === 'ForbiddenResource' ? i : undefined;
    }, 60_000);
    expect(refused.status?.phase).toBe(Phase.Failed);
    expect(condition(refused, ConditionType.Ready)?.message).toContain(`ClusterRoleBinding/${name}-escape`);
    expect(refused.status?.release).toBeUndefined();
    const helm = await execa(helmBin(), ['status', name, '-n', name, '--kubeconfig', process.env['CAELUS_TEST_KUBECONFIG']!], { reject: false });
    expect(helm.exitCode).not.toBe(0);
    await expect(rbac().readClusterRoleBinding({ name: `${name}-escape` })).rejects.toMatchObject({ code: 404 });
    await expect(core().readNamespacedConfigMap({ name: `${name}-innocent`, namespace: name })).rejects.toMatchObject({ code: 404 });
    const events = await eventually(async () => {
      const list = await core().listNamespacedEvent({ namespace: 'default', fieldSelector: `involvedObject.name=${name}` });
      return list.items.some((e) => e.reason === 'ForbiddenResource') ? list.items : undefined;
    });
    expect(events.find((e) => e.reason === 'ForbiddenResource')?.type).toBe('Warning');

    // Values that render only namespaced objects are installed.
    await patchInstance(name, { spec: { values: { grant: false } } });
    const fixed = await waitReady(name);
    expect(fixed.status?.phase).toBe(Phase.Running);
    expect((await core().readNamespacedConfigMap({ name: `${name}-innocent`, namespace: name })).data).toEqual({ hello: 'world' });
  });
});
