// The guardrail and lifecycle counters, through the real steps and job with
// in-memory ports: what a dashboard would read off /metrics.
import { guardrailsConfig } from '../../../src/config/guardrails.ts';
import type { CaelusInstance } from '../../../src/domain/instance.ts';
import { silentLogger } from '../../../src/observability/logger.ts';
import { createMetrics, type Metrics } from '../../../src/observability/metrics.ts';
import { ReconcileError } from '../../../src/operator/errors.ts';
import type { ActivitySource } from '../../../src/operator/lifecycle/activity.ts';
import { runLifecycleOnce } from '../../../src/operator/lifecycle/jobs.ts';
import type { GuardrailObjects, LifecyclePort, Workload, WorkloadPort } from '../../../src/operator/ports.ts';
import { guardrailsStep } from '../../../src/operator/steps/guardrails.ts';
import { hibernationStep } from '../../../src/operator/steps/hibernation.ts';
import { releaseStep } from '../../../src/operator/steps/release.ts';
import { FakeHelm, FakeManifests, fakeContext } from '../../support/fakes.ts';

const log = silentLogger();
const events = { record: () => undefined };
const now = new Date('2030-01-01T12:00:00Z');

async function series(metrics: Metrics, name: string): Promise<Array<{ labels: Record<string, string | number>; value: number }>> {
  const m = (await metrics.registry.getMetricsAsJSON()).find((x) => x.name === name);
  return (m?.values ?? []).map((v) => ({ labels: v.labels as Record<string, string | number>, value: v.value }));
}

const instance = (name: string, spec: Partial<CaelusInstance['spec']> = {}, status: CaelusInstance['status'] = {}): CaelusInstance => ({
  apiVersion: 'caelus.io/v1',
  kind: 'CaelusInstance',
  metadata: { name, generation: 1, creationTimestamp: '2030-01-01T10:00:00Z' },
  spec: { userId: 'u', productTemplateVersion: 'a@1.0.0', ...spec },
  status,
});

const context = (i: CaelusInstance) => fakeContext(i, { digest: 'sha256:d' });

describe('caelus_lifecycle_actions_total from the lifecycle job', () => {
  it('counts expire and idle-hibernate by result', async () => {
    const metrics = createMetrics();
    const noActivity: ActivitySource = { lastActivity: () => new Date('2030-01-01T10:00:00Z') };
    const port: LifecyclePort = {
      list: async () => [
        instance('old', { expiresAt: '2030-01-01T11:00:00Z' }),
        instance('idle', { idleTimeout: '1h' }),
        instance('stuck', { idleTimeout: '1h' }),
        instance('busy', { idleTimeout: '5h' }),
      ],
      delete: async () => undefined,
      hibernate: async (name) => {
        if (name === 'stuck') throw new Error('conflict');
      },
    };
    await runLifecycleOnce({ instances: port, activity: noActivity, events, log, metrics, now: () => now });
    expect(await series(metrics, 'caelus_lifecycle_actions_total')).toEqual(
      expect.arrayContaining([
        { labels: { action: 'expire', result: 'ok' }, value: 1 },
        { labels: { action: 'idle-hibernate', result: 'ok' }, value: 1 },
        { labels: { action: 'idle-hibernate', result: 'error' }, value: 1 },
      ]),
    );
    expect(await series(metrics, 'caelus_lifecycle_actions_total')).toHaveLength(3);
  });
});

describe('caelus_lifecycle_actions_total from the hibernation step', () => {
  const workloads = (list: Workload[], failScale = false): WorkloadPort => ({
    list: async () => list,
    scale: async () => {
      if (failScale) throw new Error('forbidden');
    },
  });

  it('counts a hibernation and a wake-up once each, not the steady state asleep', async () => {
    const metrics = createMetrics();
    const step = hibernationStep({ workloads: workloads([{ kind: 'Deployment', name: 'web', replicas: 2 }]), events, metrics });
    const asleep = context(instance('i', { state: 'Hibernated' }));
    await step.run(asleep);
    // Next reconcile, already asleep: no new count.
    await step.run(context(instance('i', { state: 'Hibernated' }, asleep.status.snapshot())));
    const waking = hibernationStep({ workloads: workloads([{ kind: 'Deployment', name: 'web', replicas: 0, hibernatedReplicas: 2 }]), events, metrics });
    await waking.run(context(instance('i', { state: 'Running' }, asleep.status.snapshot())));
    expect(await series(metrics, 'caelus_lifecycle_actions_total')).toEqual([
      { labels: { action: 'hibernate', result: 'ok' }, value: 1 },
      { labels: { action: 'wake', result: 'ok' }, value: 1 },
    ]);
  });

  it('counts a failed scale as an error and lets the error through', async () => {
    const metrics = createMetrics();
    const step = hibernationStep({ workloads: workloads([{ kind: 'Deployment', name: 'web', replicas: 2 }], true), events, metrics });
    await expect(step.run(context(instance('i', { state: 'Hibernated' })))).rejects.toThrow('forbidden');
    expect(await series(metrics, 'caelus_lifecycle_actions_total')).toEqual([{ labels: { action: 'hibernate', result: 'error' }, value: 1 }]);
  });
});

describe('caelus_policy_refusals_total', () => {
  it('counts a release the post-renderer refused once per forbidden kind', async () => {
    const metrics = createMetrics();
    const helm = new FakeHelm();
    helm.manifest = [
      'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: a}\nroleRef: {kind: ClusterRole, name: admin}',
      'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: b}\nroleRef: {kind: ClusterRole, name: admin}',
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fine}',
    ].join('\n---\n');
    const config = guardrailsConfig({});
    const step = releaseStep({
      helm,
      manifests: new FakeManifests(helm),
      helmTimeoutSeconds: 60,
      events,
      isLeader: () => true,
      writeProgress: async () => undefined,
      policy: { allowedKinds: config.allowedKinds, allowedClusterRoles: config.allowedClusterRoles },
      metrics,
    });
    const err = await step.run(context(instance('i'))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReconcileError);
    expect((err as ReconcileError).reason).toBe('ForbiddenResource');
    expect((err as ReconcileError).message).toContain('ClusterRoleBinding/a');
    expect(helm.releases.size).toBe(0);
    expect(await series(metrics, 'caelus_policy_refusals_total')).toEqual([{ labels: { kind: 'ClusterRoleBinding' }, value: 1 }]);
  });
});

describe('caelus_guardrails_applies_total', () => {
  const objects = (fail: boolean): GuardrailObjects => ({
    apply: async () => {
      if (fail) throw new Error('quota admission denied');
    },
    delete: async () => true,
  });

  it('counts applies by result, and nothing when the inputs did not change', async () => {
    const metrics = createMetrics();
    const config = guardrailsConfig({});
    const ok = guardrailsStep({ config, objects: objects(false), events, metrics });
    const first = context(instance('i'));
    await ok.run(first);
    // Same inputs, applied already: no apply, no count.
    await ok.run(context(instance('i', {}, { ...first.status.snapshot(), namespace: 'i' })));
    await expect(guardrailsStep({ config, objects: objects(true), events, metrics }).run(context(instance('j')))).rejects.toThrow('quota admission denied');
    expect(await series(metrics, 'caelus_guardrails_applies_total')).toEqual(
      expect.arrayContaining([
        { labels: { result: 'ok' }, value: 1 },
        { labels: { result: 'error' }, value: 1 },
      ]),
    );
  });
});

describe('the new series carry no per-instance label', () => {
  const metrics = createMetrics();
  it.each<[keyof Metrics, string[]]>([
    ['lifecycleActions', ['action', 'result']],
    ['policyRefusals', ['kind']],
    ['guardrailsApplies', ['result']],
    ['syncAnnotationWrites', ['annotation']],
  ])('%s is labelled by %j only', (key, labels) => {
    expect((metrics[key] as unknown as { labelNames: string[] }).labelNames).toEqual(labels);
  });
});
