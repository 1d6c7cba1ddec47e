// The lifecycle job against the real control plane: an instance past
// spec.expiresAt is deleted (finalizer cleanup included), an idle one is
// hibernated through spec.state. Once by calling the job directly, once
// through node-cron inside a running operator.
import * as k8s from '@kubernetes/client-node';
import { ConditionType, Phase, type CaelusInstance } from '../../src/domain/instance.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { lifecyclePort } from '../../src/operator/k8s-adapters.ts';
import { annotationActivity } from '../../src/operator/lifecycle/activity.ts';
import { runLifecycleOnce } from '../../src/operator/lifecycle/jobs.ts';
import { eventually, testKubeConfig, uniqueName } from '../support/kube.ts';
import { SHARD_LABEL, condition, createInstance, getInstance, instanceBody, startTestOperator, type TestOperator } from '../support/operator.ts';

const direct = uniqueName('ttl');
const scheduled = uniqueName('cron');
let directOp: TestOperator;
let cronOp: TestOperator;
const core = () => testKubeConfig().makeApiClient(k8s.CoreV1Api);
const custom = () => testKubeConfig().makeApiClient(k8s.CustomObjectsApi);

const waitFor = (name: string, ok: (i: CaelusInstance) => boolean, timeoutMs = 90_000) =>
  eventually(async () => {
    const i = await getInstance(name);
    return i && ok(i) ? i : undefined;
  }, timeoutMs);
const ready = (i: CaelusInstance) => condition(i, ConditionType.Ready)?.status === 'True' && i.status?.observedGeneration === i.metadata.generation;
const gone = (name: string) => eventually(async () => ((await getInstance(name)) === undefined ? true : undefined), 120_000);
const namespaceGone = (name: string) =>
  eventually(async () => {
    try {
      await core().readNamespace({ name });
      return undefined;
    } catch {
      return true;
    }
  }, 120_000);
const events = (name: string, reason: string) =>
  eventually(async () => {
    const list = await core().listNamespacedEvent({ namespace: 'default', fieldSelector: `involvedObject.name=${name}` });
    const e = list.items.find((x) => x.reason === reason);
    return e ?? undefined;
  });

beforeAll(async () => {
  // The direct shard's cron never fires during the test (1 January only): the test drives the job itself.
  directOp = await startTestOperator(direct, { CAELUS_LIFECYCLE_SCHEDULE: '0 0 1 1 *' });
  cronOp = await startTestOperator(scheduled, { CAELUS_LIFECYCLE_SCHEDULE: '* * * * * *' });
});
afterAll(async () => {
  await directOp?.stop();
  await cronOp?.stop();
});

describe('lifecycle job, called directly', () => {
  it('deletes the expired, hibernates the idle, leaves the active alone', async () => {
    const expired = uniqueName('expired');
    const idle = uniqueName('idle');
    const active = uniqueName('active');
    await createInstance(instanceBody(expired, direct, { userId: 'u', productTemplateVersion: 'webapp@1.0.0', expiresAt: new Date(Date.now() + 2_000).toISOString() }));
    await createInstance(instanceBody(idle, direct, { userId: 'u', productTemplateVersion: 'stack@1.0.0', idleTimeout: '2s' }));
    const body = instanceBody(active, direct, { userId: 'u', productTemplateVersion: 'webapp@1.0.0', idleTimeout: '2s' });
    await createInstance(body);
    for (const n of [expired, idle, active]) await waitFor(n, ready);

    // Activity reported just now keeps "active" awake.
    await new Promise((r) => setTimeout(r, 2_500));
    await custom().patchClusterCustomObject(
      { group: 'caelus.io', version: 'v1', plural: 'caelusinstances', name: active, body: { metadata: { annotations: { 'caelus.io/last-activity': new Date().toISOString() } } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );

    const log = silentLogger();
    const report = await runLifecycleOnce({
      instances: lifecyclePort(testKubeConfig(), log, `${SHARD_LABEL}=${direct}`),
      activity: annotationActivity,
      events: { record: () => undefined },
      log,
    });
    expect(report).toEqual({ expired: [expired], hibernated: [idle], failed: [] });

    await gone(expired);
    await namespaceGone(expired);
    const asleep = await waitFor(idle, (i) => i.status?.phase === Phase.Hibernated && ready(i));
    expect(asleep.spec.state).toBe('Hibernated');
    expect(asleep.metadata.managedFields?.some((m) => (m as { manager?: string }).manager === 'caelus-lifecycle')).toBe(true);
    // The job did not touch it: spec.state is still unset (Running).
    expect((await getInstance(active))?.spec.state ?? 'Running').toBe('Running');
  });
});

describe('lifecycle job through node-cron in the operator', () => {
  it('deletes an instance at expiresAt and hibernates an idle one, with Events', async () => {
    const expiring = uniqueName('expiring');
    const idle = uniqueName('idle');
    const started = Date.now();
    await createInstance(instanceBody(expiring, scheduled, { userId: 'u', productTemplateVersion: 'webapp@1.0.0', expiresAt: new Date(Date.now() + 4_000).toISOString() }));
    await createInstance(instanceBody(idle, scheduled, { userId: 'u', productTemplateVersion: 'stack@1.0.0', idleTimeout: '3s' }));
    await waitFor(idle, (i) => i.status?.phase === Phase.Hibernated && ready(i));
    process.stderr.write(`[figure] idleTimeout 3s → phase Hibernated after ${Date.now() - started} ms (cron every second)\n`);
    await gone(expiring);
    process.stderr.write(`[figure] expiresAt +4s → CR gone after ${Date.now() - started} ms (includes namespace deletion)\n`);
    expect((await events(expiring, 'Expired')).message).toContain('spec.expiresAt');
    expect((await events(idle, 'IdleHibernation')).message).toContain('idleTimeout 3s');
  });
});
