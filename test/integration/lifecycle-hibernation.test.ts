// Hibernation against the real control plane: spec.state Hibernated scales
// every Deployment and StatefulSet of the release to zero (replicas kept in an
// annotation), Running restores them; PVCs survive both; a helm upgrade while
// asleep is scaled back to zero and the new replicas are what wakes up.
import * as k8s from '@kubernetes/client-node';
import { ConditionType, Phase, type CaelusInstance } from '../../src/domain/instance.ts';
import { eventually, testKubeConfig, uniqueName } from '../support/kube.ts';
import { condition, counterTotal, createInstance, getInstance, instanceBody, patchInstance, startTestOperator, type TestOperator } from '../support/operator.ts';

const shard = uniqueName('hib');
let op: TestOperator;
const apps = () => testKubeConfig().makeApiClient(k8s.AppsV1Api);
const core = () => testKubeConfig().makeApiClient(k8s.CoreV1Api);

const waitFor = (name: string, ok: (i: CaelusInstance) => boolean) =>
  eventually(async () => {
    const i = await getInstance(name);
    return i && i.status?.observedGeneration === i.metadata.generation && condition(i, ConditionType.Ready)?.status === 'True' && ok(i) ? i : undefined;
  }, 90_000);

async function replicas(name: string) {
  const d = await apps().readNamespacedDeployment({ name: `${name}-web`, namespace: name });
  const s = await apps().readNamespacedStatefulSet({ name: `${name}-db`, namespace: name });
  return {
    web: d.spec?.replicas,
    db: s.spec?.replicas,
    webAnnotation: d.metadata?.annotations?.['caelus.io/hibernated-replicas'],
    dbAnnotation: s.metadata?.annotations?.['caelus.io/hibernated-replicas'],
  };
}
const pvcExists = async (name: string) => (await core().readNamespacedPersistentVolumeClaim({ name: `${name}-data`, namespace: name })).metadata?.name === `${name}-data`;

beforeAll(async () => {
  op = await startTestOperator(shard);
});
afterAll(async () => {
  await op?.stop();
});

describe('hibernation', () => {
  const name = uniqueName('stack');

  it('runs the stack with its chart replicas', async () => {
    await createInstance(instanceBody(name, shard, { userId: 'u', productTemplateVersion: 'stack@1.0.0' }));
    const ready = await waitFor(name, (i) => i.status?.phase === Phase.Running);
    expect(condition(ready, ConditionType.Hibernated)).toBeUndefined();
    expect(await replicas(name)).toEqual({ web: 2, db: 3, webAnnotation: undefined, dbAnnotation: undefined });
    expect(await pvcExists(name)).toBe(true);
  });

  it('hibernates: every workload at 0, replicas remembered, phase Hibernated, PVC kept, no helm process', async () => {
    const helmBefore = await counterTotal(op.metrics, 'caelus_helm_invocations_total');
    const started = Date.now();
    await patchInstance(name, { spec: { state: 'Hibernated' } });
    const asleep = await waitFor(name, (i) => i.status?.phase === Phase.Hibernated);
    process.stderr.write(`[figure] hibernate (spec.state → phase Hibernated): ${Date.now() - started} ms\n`);
    expect(condition(asleep, ConditionType.Hibernated)).toMatchObject({ status: 'True', reason: 'Hibernated' });
    expect(asleep.status?.hibernation?.hibernatedAt).toBeDefined();
    expect(await replicas(name)).toEqual({ web: 0, db: 0, webAnnotation: '2', dbAnnotation: '3' });
    expect(await pvcExists(name)).toBe(true);
    expect(await counterTotal(op.metrics, 'caelus_helm_invocations_total')).toBe(helmBefore);
  });

  it('scales a helm upgrade made while asleep back to zero, remembering the new replicas', async () => {
    await patchInstance(name, { spec: { values: { web: { replicas: 4 } } } });
    const upgraded = await waitFor(name, (i) => i.status?.phase === Phase.Hibernated && i.status.release?.revision === 2);
    expect(condition(upgraded, ConditionType.Hibernated)?.status).toBe('True');
    expect(await replicas(name)).toEqual({ web: 0, db: 0, webAnnotation: '4', dbAnnotation: '3' });
  });

  it('wakes: original replicas back, annotation gone, Hibernated=False, PVC kept', async () => {
    const started = Date.now();
    await patchInstance(name, { spec: { state: 'Running' } });
    const awake = await waitFor(name, (i) => i.status?.phase === Phase.Running);
    process.stderr.write(`[figure] wake (spec.state → phase Running): ${Date.now() - started} ms\n`);
    expect(condition(awake, ConditionType.Hibernated)).toMatchObject({ status: 'False', reason: 'Awake' });
    expect(awake.status?.hibernation?.wokeAt).toBeDefined();
    expect(await replicas(name)).toEqual({ web: 4, db: 3, webAnnotation: undefined, dbAnnotation: undefined });
    expect(await pvcExists(name)).toBe(true);
    const events = await eventually(async () => {
      const list = await core().listNamespacedEvent({ namespace: 'default', fieldSelector: `involvedObject.name=${name}` });
      const reasons = list.items.map((e) => e.reason);
      return reasons.includes('Awake') ? reasons : undefined;
    });
    expect(events).toEqual(expect.arrayContaining(['Hibernated', 'Awake']));
  });

  it('leaves replicas to helm after waking: a later upgrade changes them without a field-manager conflict', async () => {
    await patchInstance(name, { spec: { values: { web: { replicas: 1 } } } });
    const upgraded = await waitFor(name, (i) => i.status?.phase === Phase.Running && i.status.release?.revision === 3);
    expect(condition(upgraded, ConditionType.Released)?.reason).toBe('UpgradeSucceeded');
    expect(await replicas(name)).toMatchObject({ web: 1, db: 3 });
  });

  it('installs an instance created asleep with its workloads at zero', async () => {
    const sleeper = uniqueName('sleeper');
    await createInstance(instanceBody(sleeper, shard, { userId: 'u', productTemplateVersion: 'stack@1.0.0', state: 'Hibernated' }));
    await waitFor(sleeper, (i) => i.status?.phase === Phase.Hibernated);
    expect(await replicas(sleeper)).toEqual({ web: 0, db: 0, webAnnotation: '2', dbAnnotation: '3' });
  });
});
