// Every template of the example catalog (charts/catalog.yaml, the one `caelus
// dev` registers) installs through Caelus against the local control plane:
// a CaelusInstance per template becomes Running with the objects its chart
// promises, in a namespace whose guardrails (Pod Security restricted, the
// tier's LimitRange and quota) admit its pods. The workspace's home survives an
// upgrade and the instance's deletion. Named *helm* so CI runs it with Helm 3
// as well. No kubelet or workload controllers here: objects, not running pods.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { execa } from 'execa';
import { parse } from 'yaml';
import { ConditionType, Phase, type CaelusInstance } from '../../src/domain/instance.ts';
import { parseCatalog } from '../../src/operator/file-catalog.ts';
import { eventually, helmBin, testKubeConfig, uniqueName } from '../support/kube.ts';
import { condition, createInstance, deleteInstance, getInstance, instanceBody, patchInstance, startTestOperator, type TestOperator } from '../support/operator.ts';

const catalogFile = fileURLToPath(new URL('../../charts/catalog.yaml', import.meta.url));
const refs = parseCatalog(catalogFile, readFileSync(catalogFile, 'utf8')).map((v) => `${v.templateName}@${v.version}`);
const shard = uniqueName('examples');
const kc = () => testKubeConfig();
const core = () => kc().makeApiClient(k8s.CoreV1Api);
const apps = () => kc().makeApiClient(k8s.AppsV1Api);
const net = () => kc().makeApiClient(k8s.NetworkingV1Api);
let op: TestOperator;

/** One instance per template, named after it so a failure says which. */
const instances = new Map(refs.map((ref) => [ref, uniqueName(ref.split('@')[0]!.slice(0, 20))]));
const domainOf = (name: string) => `${name}.example.test`;
const retained: string[] = [];

const waitReady = (name: string, extra: (i: CaelusInstance) => boolean = () => true) =>
  eventually(async () => {
    const i = await getInstance(name);
    return i && condition(i, ConditionType.Ready)?.status === 'True' && i.status?.observedGeneration === i.metadata.generation && extra(i) ? i : undefined;
  }, 120_000);

/**
 * Asks the API server to admit, without creating it, the pod a workload would
 * create: Pod Security "restricted", the tier's LimitRange maximum and quota
 * all run on a dry run.
 */
async function admitsPodOf(namespace: string, workload: k8s.V1Deployment | k8s.V1StatefulSet): Promise<k8s.V1Pod> {
  const template = structuredClone(workload.spec!.template);
  // As the StatefulSet controller does: each volumeClaimTemplate becomes a claim volume.
  const claims = (workload as k8s.V1StatefulSet).spec?.volumeClaimTemplates ?? [];
  const spec = template.spec!;
  spec.volumes = [
    ...(spec.volumes ?? []),
    ...claims.map((c) => ({ name: c.metadata!.name!, persistentVolumeClaim: { claimName: `${c.metadata!.name}-${workload.metadata!.name}-0` } })),
  ];
  return core().createNamespacedPod({
    namespace,
    dryRun: 'All',
    body: { metadata: { generateName: `${workload.metadata!.name}-`, labels: template.metadata?.labels ?? {} }, spec },
  });
}

beforeAll(async () => {
  op = await startTestOperator(shard, { CAELUS_CATALOG: catalogFile });
  for (const [ref, name] of instances) {
    await createInstance(instanceBody(name, shard, { userId: 'examples', productTemplateVersion: ref, domainName: domainOf(name) }));
  }
});

afterAll(async () => {
  // Deleted while the operator still runs, so its finalizer lets them go.
  const names = [...instances.values()];
  await Promise.all(names.map((name) => deleteInstance(name).catch(() => undefined)));
  await Promise.all(names.map((name) => eventually(async () => ((await getInstance(name)) === undefined ? true : undefined), 60_000).catch(() => undefined)));
  await op?.stop();
  for (const ns of retained) await core().deleteNamespace({ name: ns }).catch(() => undefined);
});

describe('the example catalog through Caelus', () => {
  it('covers every example chart', () => {
    expect([...instances.keys()].map((r) => r.split('@')[0]).sort()).toEqual(expect.arrayContaining(['tenant-stack', 'webapp', 'workspace']));
  });

  it.each(refs)('%s becomes Running with Ready=True and its URL', async (ref) => {
    const name = instances.get(ref)!;
    const ready = await waitReady(name);
    expect(ready.status?.phase).toBe(Phase.Running);
    expect(condition(ready, ConditionType.Released)?.status).toBe('True');
    expect(ready.status?.url).toBe(`https://${domainOf(name)}`);
    const ingress = await net().readNamespacedIngress({ name, namespace: name });
    expect(ingress.spec?.rules?.map((r) => r.host)).toEqual([domainOf(name)]);
    expect(ingress.metadata?.labels?.['caelus.io/instance']).toBe(name);
  });

  it('webapp: Deployment, Service, ConfigMap and the kept data PVC', async () => {
    const name = instances.get('webapp@1.0.0')!;
    await waitReady(name);
    const dep = await apps().readNamespacedDeployment({ name, namespace: name });
    expect(dep.metadata?.labels?.['caelus.io/instance']).toBe(name);
    expect((await core().readNamespacedService({ name, namespace: name })).spec?.ports?.[0]?.name).toBe('http');
    expect((await core().readNamespacedConfigMap({ name: `${name}-config`, namespace: name })).data?.['message']).toBe('hello from webapp 1.0.0');
    const pvc = await core().readNamespacedPersistentVolumeClaim({ name: `${name}-data`, namespace: name });
    expect(pvc.metadata?.annotations?.['helm.sh/resource-policy']).toBe('keep');
    expect((await admitsPodOf(name, dep)).spec?.containers[0]?.resources?.limits).toBeDefined();
  });

  it('tenant-stack: server Deployment wired to the Redis StatefulSet through its Service and ConfigMap', async () => {
    const name = instances.get('tenant-stack@1.0.0')!;
    await waitReady(name);
    const server = await apps().readNamespacedDeployment({ name: `${name}-server`, namespace: name });
    const redis = await apps().readNamespacedStatefulSet({ name: `${name}-redis`, namespace: name });
    expect(redis.spec?.serviceName).toBe(`${name}-redis`);
    expect(redis.spec?.volumeClaimTemplates?.map((t) => [t.metadata?.name, t.spec?.resources?.requests?.['storage']])).toEqual([['data', '1Gi']]);
    expect(redis.spec?.template.spec?.containers[0]?.volumeMounts).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'data', mountPath: '/data' })]));

    const redisSvc = await core().readNamespacedService({ name: `${name}-redis`, namespace: name });
    expect(redisSvc.spec?.clusterIP).toBe('None');
    expect(redisSvc.spec?.selector).toMatchObject({ 'app.kubernetes.io/component': 'redis' });
    const serverSvc = await core().readNamespacedService({ name: `${name}-server`, namespace: name });
    expect(serverSvc.spec?.selector).toMatchObject({ 'app.kubernetes.io/component': 'server' });

    const cm = await core().readNamespacedConfigMap({ name: `${name}-config`, namespace: name });
    expect(cm.data).toMatchObject({ REDIS_URL: `redis://${name}-redis:6379/0`, LOG_LEVEL: 'info' });
    expect((await core().readNamespacedConfigMap({ name: `${name}-redis-config`, namespace: name })).data?.['redis.conf']).toContain('appendonly yes');
    const envFrom = server.spec?.template.spec?.containers[0]?.envFrom;
    expect(envFrom).toEqual([{ configMapRef: { name: `${name}-config` } }, { secretRef: { name: `${name}-secrets`, optional: true } }]);

    // The micro tier's guardrails admit both pods.
    expect((await core().readNamespacedResourceQuota({ name: 'caelus-quota', namespace: name })).metadata?.labels?.['caelus.io/tier']).toBe('micro');
    await admitsPodOf(name, server);
    await admitsPodOf(name, redis);
    // …and would refuse the same pod running as root: the dry run really checks.
    const rooted = structuredClone(server);
    rooted.spec!.template.spec!.securityContext = { runAsUser: 0 };
    await expect(admitsPodOf(name, rooted)).rejects.toMatchObject({ code: 403 });
  });

  it('tenant-stack: a settings change upgrades the release and rolls the server', async () => {
    const name = instances.get('tenant-stack@1.0.0')!;
    const before = await apps().readNamespacedDeployment({ name: `${name}-server`, namespace: name });
    await patchInstance(name, { spec: { values: { server: { logLevel: 'debug', settings: { FEATURE_SEARCH: 'false' } } } } });
    await waitReady(name, (i) => (i.status?.release?.revision ?? 0) >= 2);
    const cm = await core().readNamespacedConfigMap({ name: `${name}-config`, namespace: name });
    expect(cm.data).toMatchObject({ LOG_LEVEL: 'debug', FEATURE_SEARCH: 'false' });
    const after = await apps().readNamespacedDeployment({ name: `${name}-server`, namespace: name });
    const checksum = (d: k8s.V1Deployment) => d.spec?.template.metadata?.annotations?.['checksum/config'];
    expect(checksum(after)).not.toBe(checksum(before));
  });

  it('tenant-stack: values outside the chart schema are reported on the instance, naming the field', async () => {
    const bad = uniqueName('tenant-bad');
    instances.set('tenant-stack (bad values)', bad);
    await createInstance(instanceBody(bad, shard, { userId: 'examples', productTemplateVersion: 'tenant-stack@1.0.0', values: { server: { replicaCount: -1 } } }));
    const failed = await eventually(async () => {
      const i = await getInstance(bad);
      const ready = condition(i, ConditionType.Ready);
      return ready?.status === 'False' && ready.message?.includes('replicaCount') ? i : undefined;
    }, 60_000);
    expect(failed.status?.phase).toBe(Phase.Failed);
    expect(await apps().readNamespacedDeployment({ name: `${bad}-server`, namespace: bad }).catch((e: { code?: number }) => e.code)).toBe(404);
  });

  describe('workspace', () => {
    const name = instances.get('workspace@1.0.0')!;

    it('has its models/patterns ConfigMap, Deployment, Service and kept home PVC', async () => {
      await waitReady(name);
      const cm = await core().readNamespacedConfigMap({ name: `${name}-workspace`, namespace: name });
      expect(parse(cm.data!['models.yaml']!)).toEqual({ default: 'llama3.1:8b', available: ['llama3.1:8b', 'qwen2.5-coder:7b'] });
      expect((parse(cm.data!['patterns.yaml']!) as Array<{ name: string }>).map((p) => p.name)).toEqual(['summarize', 'code-review']);
      const dep = await apps().readNamespacedDeployment({ name, namespace: name });
      expect(dep.spec?.strategy?.type).toBe('Recreate');
      expect(dep.spec?.template.spec?.volumes).toEqual(expect.arrayContaining([{ name: 'home', persistentVolumeClaim: { claimName: `${name}-home` } }]));
      expect((await core().readNamespacedService({ name, namespace: name })).spec?.ports?.[0]?.name).toBe('http');
      const pvc = await core().readNamespacedPersistentVolumeClaim({ name: `${name}-home`, namespace: name });
      expect(pvc.metadata?.annotations?.['helm.sh/resource-policy']).toBe('keep');
      expect((await core().readNamespacedResourceQuota({ name: 'caelus-quota', namespace: name })).metadata?.labels?.['caelus.io/tier']).toBe('small');
      await admitsPodOf(name, dep);
    });

    it('keeps the same home PVC across an upgrade', async () => {
      const before = await core().readNamespacedPersistentVolumeClaim({ name: `${name}-home`, namespace: name });
      await patchInstance(name, { spec: { values: { models: { default: 'qwen2.5-coder:7b' }, patterns: [{ name: 'explain', prompt: 'Explain this code.' }] } } });
      await waitReady(name, (i) => (i.status?.release?.revision ?? 0) >= 2);
      const cm = await core().readNamespacedConfigMap({ name: `${name}-workspace`, namespace: name });
      expect(parse(cm.data!['models.yaml']!)).toMatchObject({ default: 'qwen2.5-coder:7b' });
      const after = await core().readNamespacedPersistentVolumeClaim({ name: `${name}-home`, namespace: name });
      expect(after.metadata?.uid).toBe(before.metadata?.uid);
    });

    it('keeps the home PVC when the instance is deleted with deletionPolicy Retain', async () => {
      const pvc = await core().readNamespacedPersistentVolumeClaim({ name: `${name}-home`, namespace: name });
      await patchInstance(name, { spec: { deletionPolicy: 'Retain' } });
      await waitReady(name);
      retained.push(name);
      await deleteInstance(name);
      await eventually(async () => ((await getInstance(name)) === undefined ? true : undefined), 60_000);
      // The release is gone (its Deployment with it); the home is not.
      await eventually(async () => {
        const gone = await apps().readNamespacedDeployment({ name, namespace: name }).then(() => false, (e: { code?: number }) => e.code === 404);
        return gone ? true : undefined;
      }, 60_000);
      const helm = await execa(helmBin(), ['status', name, '-n', name, '--kubeconfig', process.env['CAELUS_TEST_KUBECONFIG']!], { reject: false });
      expect(helm.exitCode).not.toBe(0);
      const kept = await core().readNamespacedPersistentVolumeClaim({ name: `${name}-home`, namespace: name });
      expect(kept.metadata?.uid).toBe(pvc.metadata?.uid);
      expect(kept.metadata?.deletionTimestamp).toBeUndefined();
    });
  });
});
