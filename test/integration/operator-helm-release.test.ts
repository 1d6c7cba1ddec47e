// The operator end to end against the real control plane and helm: a
// CaelusInstance becomes a namespace + release + truthful status. Named
// *helm* so CI runs it with Helm 3 as well.
import * as k8s from '@kubernetes/client-node';
import { execa } from 'execa';
import { ConditionType, Phase } from '../../src/domain/instance.ts';
import { eventually, helmBin, testKubeConfig, uniqueName } from '../support/kube.ts';
import {
  condition,
  counterTotal,
  createInstance,
  deleteInstance,
  getInstance,
  instanceBody,
  patchInstance,
  reconcileCount,
  startTestOperator,
  type TestOperator,
} from '../support/operator.ts';

const shard = uniqueName('release');
let op: TestOperator;
const core = () => testKubeConfig().makeApiClient(k8s.CoreV1Api);
const helmStatus = async (release: string, ns: string) => {
  const { stdout } = await execa(helmBin(), ['status', release, '-n', ns, '-o', 'json', '--kubeconfig', process.env['CAELUS_TEST_KUBECONFIG']!]);
  return JSON.parse(stdout) as { version: number; info: { status: string } };
};
const helmCount = () => counterTotal(op.metrics, 'caelus_helm_invocations_total');
const reconciles = () => reconcileCount(op.metrics);
const waitReady = (name: string, extra: (i: NonNullable<Awaited<ReturnType<typeof getInstance>>>) => boolean = () => true) =>
  eventually(async () => {
    const i = await getInstance(name);
    return i && condition(i, ConditionType.Ready)?.status === 'True' && i.status?.observedGeneration === i.metadata.generation && extra(i) ? i : undefined;
  }, 90_000);

beforeAll(async () => {
  op = await startTestOperator(shard);
});
afterAll(async () => {
  await op?.stop();
});

describe('operator: instance → namespace → release → status', () => {
  const name = uniqueName('web');

  it('creates the namespace and release and reports Ready, with Events', async () => {
    await createInstance(instanceBody(name, shard, { userId: 'alice', productTemplateVersion: 'webapp@1.0.0', values: { message: 'first' }, domainName: 'alice.example.com' }));
    const ready = await waitReady(name);
    expect(ready.status?.phase).toBe(Phase.Running);
    expect(ready.status?.release?.revision).toBe(1);
    expect(ready.status?.release?.appliedDigest).toMatch(/^sha256:/);
    expect(ready.status?.url).toBe('https://alice.example.com');
    expect(condition(ready, ConditionType.Released)).toMatchObject({ status: 'True', reason: 'InstallSucceeded' });
    expect(ready.metadata.finalizers).toContain('caelus.io/finalizer');

    const ns = await core().readNamespace({ name });
    expect(ns.metadata?.labels).toMatchObject({
      'caelus.io/instance': name,
      'app.kubernetes.io/managed-by': 'caelus',
      'pod-security.kubernetes.io/enforce': 'restricted',
    });
    expect(await helmStatus(name, name)).toMatchObject({ version: 1, info: { status: 'deployed' } });
    const cm = await core().readNamespacedConfigMap({ name: `${name}-config`, namespace: name });
    expect(cm.data?.['message']).toBe('first');
    expect(cm.metadata?.labels?.['caelus.io/instance']).toBe(name);

    const events = await eventually(async () => {
      const list = await core().listNamespacedEvent({ namespace: 'default', fieldSelector: `involvedObject.name=${name}` });
      const reasons = list.items.map((e) => e.reason);
      return reasons.includes('InstallSucceeded') ? reasons : undefined;
    });
    expect(events).toEqual(expect.arrayContaining(['InstallSucceeded', 'Running']));
  });

  it('upgrades to revision 2 on a values change, and spawns no helm for an unchanged spec', async () => {
    await patchInstance(name, { spec: { values: { message: 'second' } } });
    const upgraded = await waitReady(name, (i) => i.status?.release?.revision === 2);
    expect(condition(upgraded, ConditionType.Released)?.reason).toBe('UpgradeSucceeded');
    const cm = await core().readNamespacedConfigMap({ name: `${name}-config`, namespace: name });
    expect(cm.data?.['message']).toBe('second');

    // Same spec again (a no-op for the spec) plus an annotation that forces a reconcile.
    const helmBefore = await helmCount();
    const reconcilesBefore = await reconciles();
    await patchInstance(name, { metadata: { annotations: { 'caelus.io/reconcile-requested-at': new Date().toISOString() } }, spec: { values: { message: 'second' } } });
    await eventually(async () => ((await reconciles()) > reconcilesBefore ? true : undefined));
    expect(await helmCount()).toBe(helmBefore);
    expect((await helmStatus(name, name)).version).toBe(2);
  });

  it('reports a chart that fails to render as RenderFailed, backs off, and recovers after a fix', async () => {
    const bad = uniqueName('probe');
    await createInstance(instanceBody(bad, shard, { userId: 'bob', productTemplateVersion: 'probe@1.0.0', values: { failRender: true } }));
    const failed = await eventually(async () => {
      const i = await getInstance(bad);
      return condition(i, ConditionType.Ready)?.reason === 'RenderFailed' ? i : undefined;
    }, 60_000);
    expect(failed.status?.phase).toBe(Phase.Failed);
    expect(condition(failed, ConditionType.Ready)?.message).toContain('probe chart asked to fail');

    // Backoff, not a hot loop: with a 1 s base doubling, 6 s allow at most a handful of attempts.
    // The policy step renders first (helm template), so that is where the failure shows.
    const renders = async () =>
      (await counterTotal(op.metrics, 'caelus_helm_invocations_total', { verb: 'template' })) +
      (await counterTotal(op.metrics, 'caelus_helm_invocations_total', { verb: 'upgrade' }));
    const before = await renders();
    await new Promise((r) => setTimeout(r, 6_000));
    const attempts = (await renders()) - before;
    expect(attempts).toBeGreaterThan(0);
    process.stderr.write(`[figure] render-failure retries in 6 s: ${attempts}\n`);
    expect(attempts).toBeLessThanOrEqual(4);

    await patchInstance(bad, { spec: { values: { failRender: false } } });
    const fixed = await waitReady(bad);
    expect(fixed.status?.phase).toBe(Phase.Running);
  });

  it('deletes release, namespace and CR with deletionPolicy Delete', async () => {
    await deleteInstance(name);
    await eventually(async () => ((await getInstance(name)) === undefined ? true : undefined), 120_000);
    await eventually(async () => {
      try {
        await core().readNamespace({ name });
        return undefined;
      } catch {
        return true;
      }
    }, 120_000);
  });

  it('keeps namespace and PVC with deletionPolicy Retain', async () => {
    const kept = uniqueName('keep');
    await createInstance(instanceBody(kept, shard, { userId: 'carol', productTemplateVersion: 'webapp@1.0.0', deletionPolicy: 'Retain' }));
    await waitReady(kept);
    await deleteInstance(kept);
    await eventually(async () => ((await getInstance(kept)) === undefined ? true : undefined), 60_000);
    const ns = await core().readNamespace({ name: kept });
    expect(ns.metadata?.deletionTimestamp).toBeUndefined();
    const pvc = await core().readNamespacedPersistentVolumeClaim({ name: `${kept}-data`, namespace: kept });
    expect(pvc.metadata?.name).toBe(`${kept}-data`);
    const helm = await execa(helmBin(), ['status', kept, '-n', kept, '--kubeconfig', process.env['CAELUS_TEST_KUBECONFIG']!], { reject: false });
    expect(helm.exitCode).not.toBe(0);
  });
});
