import * as k8s from '@kubernetes/client-node';
import { pino } from 'pino';
import { EventRecorder } from '../../src/k8s/events.ts';
import { testKubeConfig, uniqueName } from '../support/kube.ts';

type Reason = 'Installed' | 'InstallFailed' | 'Drifted';

function capturingLogger(): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { logger, lines };
}

describe('EventRecorder against the control plane', () => {
  const kc = testKubeConfig();
  const core = kc.makeApiClient(k8s.CoreV1Api);

  async function eventsFor(namespace: string, name: string): Promise<k8s.CoreV1Event[]> {
    const list = await core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${name}` });
    return list.items;
  }

  it('writes Events for a cluster-scoped object into default and aggregates repeats', async () => {
    const { logger, lines } = capturingLogger();
    const recorder = new EventRecorder<Reason>(kc, { logger, instance: 'test-pod' });
    const name = uniqueName('inst');
    const instance = {
      apiVersion: 'caelus.io/v1',
      kind: 'CaelusInstance',
      metadata: { name, uid: '00000000-0000-0000-0000-000000000001' },
    };
    recorder.warning(instance, 'InstallFailed', 'helm: timed out');
    recorder.warning(instance, 'InstallFailed', 'helm: timed out');
    recorder.warning(instance, 'InstallFailed', 'helm: timed out');
    recorder.normal(instance, 'Installed', 'release rev 1');
    await recorder.flush();
    recorder.warning(instance, 'InstallFailed', 'helm: timed out');
    await recorder.flush();

    const events = await eventsFor('default', name);
    expect(events).toHaveLength(2);
    const failed = events.find((e) => e.reason === 'InstallFailed')!;
    expect(failed).toMatchObject({
      type: 'Warning',
      message: 'helm: timed out',
      count: 4,
      reportingComponent: 'caelus-operator',
      reportingInstance: 'test-pod',
      source: { component: 'caelus-operator' },
      involvedObject: { apiVersion: 'caelus.io/v1', kind: 'CaelusInstance', name, uid: instance.metadata.uid },
    });
    expect(new Date(failed.lastTimestamp!).getTime()).toBeGreaterThanOrEqual(new Date(failed.firstTimestamp!).getTime());
    expect(events.find((e) => e.reason === 'Installed')).toMatchObject({ type: 'Normal', count: 1 });
    expect(lines.filter((l) => l['level'] === 40 || l['level'] === 50)).toEqual([]);
  });

  it('puts Events of namespaced objects in their namespace and starts a new Event when the old one is gone', async () => {
    const { logger } = capturingLogger();
    const ns = uniqueName('ev');
    await core.createNamespace({ body: { metadata: { name: ns } } });
    try {
      const recorder = new EventRecorder<Reason>(kc, { logger });
      const deploy = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: ns } };
      recorder.warning(deploy, 'Drifted', 'spec.replicas changed');
      await recorder.flush();
      const [first] = await eventsFor(ns, 'web');
      expect(first).toMatchObject({ count: 1, metadata: { namespace: ns } });
      await core.deleteNamespacedEvent({ name: first!.metadata!.name!, namespace: ns });
      recorder.warning(deploy, 'Drifted', 'spec.replicas changed');
      await recorder.flush();
      const after = await eventsFor(ns, 'web');
      expect(after).toHaveLength(1);
      expect(after[0]!.metadata!.name).not.toBe(first!.metadata!.name);
      expect(after[0]!.count).toBe(1);
    } finally {
      await core.deleteNamespace({ name: ns });
    }
  });

  it('never throws into the caller; failures are logged with the event content', async () => {
    const { logger, lines } = capturingLogger();
    const recorder = new EventRecorder<Reason>(kc, { logger });
    const ghost = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: uniqueName('no-such-ns') } };
    expect(() => recorder.warning(ghost, 'Drifted', 'cannot be written')).not.toThrow();
    expect(() => recorder.normal({ kind: 'ConfigMap', metadata: {} }, 'Drifted', 'no name')).not.toThrow();
    await recorder.flush();
    const warn = lines.find((l) => l['msg'] === 'could not record event');
    expect(warn).toMatchObject({ reason: 'Drifted', eventMessage: 'cannot be written', level: 40 });
    expect(String((warn!['err'] as { message: string }).message)).toMatch(/404/);
    expect(lines.some((l) => l['msg'] === 'event not recorded: involved object has no name')).toBe(true);
  });
});
