// The release loop, finalizer, namespace and drift steps on the shared
// in-memory fakes (test/support/fakes.ts): what the user would see in the
// status, Events and helm's history, without a control plane.
import { guardrailsConfig } from '../../../src/config/guardrails.ts';
import { ConditionType, DeletionPolicy, INSTANCE_LABEL, INSTANCE_UID_LABEL, type CaelusInstance, type Condition } from '../../../src/domain/instance.ts';
import { StatusDraft, type ReconcileContext } from '../../../src/operator/context.ts';
import { ReconcileError } from '../../../src/operator/errors.ts';
import { Reconciler } from '../../../src/operator/reconciler.ts';
import { describeDigest } from '../../../src/operator/release/state.ts';
import { buildPipeline } from '../../../src/operator/pipeline.ts';
import { SHARD_LABEL, type ShardList } from '../../../src/domain/shard.ts';
import { driftStep } from '../../../src/operator/steps/drift.ts';
import { finalizerStep } from '../../../src/operator/steps/finalizer.ts';
import { namespaceStep } from '../../../src/operator/steps/namespace.ts';
import { releaseStep } from '../../../src/operator/steps/release.ts';
import { silentLogger } from '../../../src/observability/logger.ts';
import {
  FakeDrift,
  FakeEvents,
  FakeHelm,
  FakeInstances,
  FakeLoopGuard,
  FakeManifests,
  FakeNamespaces,
  FakeTenants,
  NOW,
  fakeContext,
  fakeInstance,
  fakeTemplate,
} from '../../support/fakes.ts';

const DIGEST = 'sha256:desired';

describe('pipeline', () => {
  it('runs the steps in DESIGN §4 order, guardrail steps only when configured', () => {
    const helm = new FakeHelm();
    const deps = {
      catalog: { resolve: async () => fakeTemplate },
      helm,
      namespaces: new FakeNamespaces(),
      tenants: new FakeTenants(),
      instances: new FakeInstances(),
      events: new FakeEvents(),
      validateValues: () => [],
      helmTimeoutSeconds: 60,
      isLeader: () => true,
      writeProgress: async () => undefined,
      drift: { manifests: new FakeManifests(helm), checker: new FakeDrift(), guard: new FakeLoopGuard(), takeFullCheck: () => false },
    };
    expect(buildPipeline(deps).names).toEqual(['finalizer', 'suspend', 'resolve', 'declared-secrets', 'namespace', 'tenant', 'values', 'release', 'drift']);
    // With the chart cache, the chart is resolved to verified local bytes right after the version.
    const charts = { pinned: async () => '/cache/x.tgz', local: async (path: string) => ({ digest: `sha256:${'0'.repeat(64)}`, path }) };
    expect(buildPipeline({ ...deps, charts }).names.slice(0, 5)).toEqual(['finalizer', 'suspend', 'resolve', 'chart', 'declared-secrets']);
    const guardrails = {
      config: guardrailsConfig({}),
      objects: { apply: async () => undefined, delete: async () => true },
      workloads: { list: async () => [], scale: async () => undefined },
    };
    expect(buildPipeline({ ...deps, guardrails }).names).toEqual([
      'finalizer',
      'suspend',
      'resolve',
      'declared-secrets',
      'namespace',
      'tenant',
      'guardrails',
      'values',
      'release',
      'hibernation',
      'drift',
    ]);
  });
});
const FORGED = [
  'apiVersion: rbac.authorization.k8s.io/v1',
  'kind: ClusterRoleBinding',
  'metadata: {name: pwn}',
  'roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}',
  'subjects: [{kind: ServiceAccount, name: default, namespace: web}]',
].join('\n');

function cond(conditions: readonly Condition[] | undefined, type: string) {
  return conditions?.find((c) => c.type === type);
}

async function failure(p: Promise<unknown>): Promise<ReconcileError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ReconcileError);
  return err as ReconcileError;
}

function releaseSetup(leader = true) {
  const helm = new FakeHelm();
  const events = new FakeEvents();
  const progress: string[] = [];
  const step = releaseStep({
    helm,
    helmTimeoutSeconds: 60,
    events,
    manifests: new FakeManifests(helm),
    policy: {},
    isLeader: () => leader,
    writeProgress: async (ctx) => {
      progress.push(ctx.status.current.phase ?? '');
    },
  });
  return { helm, events, progress, step };
}

describe('release step: observe → choose → act, no action twice', () => {
  it('installs an absent release and records revision, digest and InstallSucceeded', async () => {
    const { helm, events, progress, step } = releaseSetup();
    const ctx = fakeContext(fakeInstance('web'));
    expect(await step.run(ctx)).toEqual({ stop: false });
    expect(helm.calls).toEqual(['upgrade web']);
    expect(progress).toEqual(['Installing']);
    expect(ctx.status.current.release).toMatchObject({ name: 'web', revision: 1, status: 'deployed', appliedDigest: DIGEST });
    expect(cond(ctx.status.current.conditions, ConditionType.Released)).toMatchObject({ status: 'True', reason: 'InstallSucceeded' });
    expect(events.reasons()).toEqual(['InstallSucceeded']);
  });

  it('runs no helm at all when the status proves the desired digest is deployed', async () => {
    const { helm, step } = releaseSetup();
    const ctx = fakeContext(fakeInstance('web', {}, { namespace: 'web', release: { revision: 4, status: 'deployed', appliedDigest: DIGEST } }));
    await step.run(ctx);
    expect(helm.calls).toEqual([]);
  });

  it('upgrades a release deployed from other inputs', async () => {
    const { helm, events, step } = releaseSetup();
    helm.put('web', 'web', { revision: 1, status: 'deployed', description: describeDigest('sha256:old'), manifest: helm.manifest });
    const ctx = fakeContext(fakeInstance('web'));
    await step.run(ctx);
    expect(helm.calls).toEqual(['upgrade web']);
    expect(ctx.status.current.release?.revision).toBe(2);
    expect(events.reasons()).toEqual(['UpgradeSucceeded']);
  });

  it('unlocks a stuck release (leader), then upgrades it', async () => {
    const { helm, events, step } = releaseSetup();
    helm.put('web', 'web', { revision: 1, status: 'deployed', description: describeDigest('sha256:old'), manifest: helm.manifest });
    helm.put('web', 'web', { revision: 2, status: 'pending-upgrade', description: describeDigest(DIGEST), manifest: helm.manifest });
    const ctx = fakeContext(fakeInstance('web'));
    await step.run(ctx);
    expect(helm.calls).toEqual(['rollback web 1', 'upgrade web']);
    expect(events.reasons()).toEqual(['ReleaseUnlocked', 'UpgradeSucceeded']);
    expect(ctx.status.current.release).toMatchObject({ revision: 4, status: 'deployed', appliedDigest: DIGEST });
  });

  it('leaves a stuck release alone while another replica leads, and comes back', async () => {
    const { helm, step } = releaseSetup(false);
    helm.put('web', 'web', { revision: 1, status: 'pending-install', description: '', manifest: helm.manifest });
    expect(await step.run(fakeContext(fakeInstance('web')))).toEqual({ stop: true, requeueAfterMs: 5_000 });
    expect(helm.calls).toEqual([]);
  });

  it('refuses to roll back to a stored revision whose manifest fails the kinds policy (ReleaseTampered)', async () => {
    const { helm, events, step } = releaseSetup();
    helm.put('web', 'web', { revision: 1, status: 'superseded', description: '', manifest: helm.manifest });
    helm.put('web', 'web', { revision: 2, status: 'deployed', description: '', manifest: FORGED });
    helm.put('web', 'web', { revision: 3, status: 'pending-upgrade', description: '', manifest: helm.manifest });
    const err = await failure(step.run(fakeContext(fakeInstance('web'))));
    expect(err.reason).toBe('ReleaseTampered');
    expect(err.message).toContain('sh.helm.release.v1.web.v2');
    expect(err.message).toContain('ClusterRoleBinding/pwn');
    expect(err.requeueAfterMs).toBe(300_000);
    expect(helm.calls).toEqual([]);
    expect(events.events).toEqual([]);
  });

  it('never runs the same action twice in one reconcile', async () => {
    const { helm, step } = releaseSetup();
    helm.nextUpgradeStatus = 'failed';
    helm.put('web', 'web', { revision: 1, status: 'failed', description: '', manifest: helm.manifest });
    const err = await failure(step.run(fakeContext(fakeInstance('web'))));
    expect(err.message).toMatch(/still Failed after Upgrade; not running Upgrade twice/);
    expect(helm.calls).toEqual(['upgrade web']);
  });
});

describe('namespace step', () => {
  const ctx = (i: CaelusInstance) => ({ instance: i, status: new StatusDraft(i.status), log: silentLogger(), signal: new AbortController().signal, now: () => NOW, template: fakeTemplate });

  it('creates the namespace with the ownership label and puts it in the context', async () => {
    const namespaces = new FakeNamespaces();
    const placed = await namespaceStep(namespaces).run(ctx(fakeInstance('web')));
    expect(placed.namespace).toBe('web');
    expect(placed.status.current.namespace).toBe('web');
    expect(namespaces.namespaces.get('web')?.labels[INSTANCE_LABEL]).toBe('web');
  });

  it('records the instance uid on the namespace and refuses a same-named namespace left by an earlier instance', async () => {
    const namespaces = new FakeNamespaces();
    await namespaceStep(namespaces).run(ctx(fakeInstance('web')));
    expect(namespaces.namespaces.get('web')?.labels[INSTANCE_UID_LABEL]).toBe('uid-web');
    const reborn = fakeInstance('web');
    reborn.metadata.uid = 'uid-web-2';
    const err = await failure(namespaceStep(namespaces).run(ctx(reborn)));
    expect(err.reason).toBe('NamespaceConflict');
    expect(err.message).toContain('earlier instance named "web" (uid uid-web)');
    expect(namespaces.namespaces.get('web')?.labels[INSTANCE_UID_LABEL]).toBe('uid-web');
  });

  it('refuses a namespace that belongs to another instance (NamespaceConflict), and never relabels it', async () => {
    const namespaces = new FakeNamespaces();
    await namespaces.create('shared', { [INSTANCE_LABEL]: 'other' });
    const err = await failure(namespaceStep(namespaces).run(ctx(fakeInstance('web', { namespace: 'shared' }))));
    expect(err.reason).toBe('NamespaceConflict');
    expect(err.message).toContain('instance "other"');
    expect(namespaces.namespaces.get('shared')?.labels[INSTANCE_LABEL]).toBe('other');
  });
});

describe('finalizer step', () => {
  function setup(policy: DeletionPolicy, nsOwner = 'web', nsUid = `uid-${nsOwner}`) {
    const helm = new FakeHelm();
    helm.put('web', 'web', { revision: 1, status: 'deployed', description: '', manifest: helm.manifest });
    const namespaces = new FakeNamespaces();
    namespaces.namespaces.set('web', { name: 'web', labels: { [INSTANCE_LABEL]: nsOwner, [INSTANCE_UID_LABEL]: nsUid }, terminating: false });
    const deleting: CaelusInstance = { ...fakeInstance('web', { deletionPolicy: policy }), metadata: { ...fakeInstance('web').metadata, deletionTimestamp: '2030-01-01T11:59:00Z' } };
    const instances = new FakeInstances(deleting);
    const events = new FakeEvents();
    const deletedObjects: string[] = [];
    const objects = { delete: async (ref: { kind: string; namespace: string; name: string }) => (deletedObjects.push(`${ref.kind}/${ref.namespace}/${ref.name}`), true) };
    const step = finalizerStep({ helm, namespaces, instances, events, writeProgress: async () => undefined, objects });
    const context = (): ReconcileContext => ({ instance: deleting, status: new StatusDraft(deleting.status), log: silentLogger(), signal: new AbortController().signal, now: () => NOW });
    return { helm, namespaces, instances, events, step, context, deletedObjects };
  }

  it('adds the finalizer before anything is created', async () => {
    const instances = new FakeInstances({ ...fakeInstance('web'), metadata: { ...fakeInstance('web').metadata, finalizers: [] } });
    const i = instances.objects.get('web')!;
    const step = finalizerStep({ helm: new FakeHelm(), namespaces: new FakeNamespaces(), instances, events: new FakeEvents(), writeProgress: async () => undefined });
    expect(await step.run({ instance: i, status: new StatusDraft(undefined), log: silentLogger(), signal: new AbortController().signal, now: () => NOW })).toEqual({ stop: false });
    expect(instances.objects.get('web')?.metadata.finalizers).toEqual(['caelus.io/finalizer']);
  });

  it('Delete: uninstalls, deletes the namespace, waits until it is gone, then removes the finalizer', async () => {
    const { helm, namespaces, instances, step, context } = setup(DeletionPolicy.Delete);
    const first = context();
    expect(await step.run(first)).toEqual({ stop: true, requeueAfterMs: 2_000 });
    expect(helm.calls).toEqual(['uninstall web']);
    expect(namespaces.namespaces.get('web')?.terminating).toBe(true);
    expect(first.status.current.phase).toBe('Deleting');
    expect(instances.objects.get('web')?.metadata.finalizers).toEqual(['caelus.io/finalizer']);
    // Still terminating: wait, no second uninstall.
    expect(await step.run(context())).toEqual({ stop: true, requeueAfterMs: 2_000 });
    namespaces.finishDeletion('web');
    const last = context();
    expect(await step.run(last)).toEqual({ stop: true });
    expect(last.finalized).toBe(true);
    expect(helm.calls).toEqual(['uninstall web']);
    expect(instances.objects.get('web')?.metadata.finalizers).toEqual([]);
  });

  it('Retain: uninstalls and keeps the namespace, but deletes the secrets Secret', async () => {
    const { helm, namespaces, instances, step, context, deletedObjects } = setup(DeletionPolicy.Retain);
    expect(await step.run(context())).toEqual({ stop: true });
    expect(helm.calls).toEqual(['uninstall web']);
    expect(namespaces.namespaces.get('web')?.terminating).toBe(false);
    expect(deletedObjects).toEqual(['Secret/web/web-secrets']);
    expect(instances.objects.get('web')?.metadata.finalizers).toEqual([]);
  });

  it('never touches a namespace retained by an earlier instance of the same name (other uid)', async () => {
    const { helm, namespaces, instances, step, context, deletedObjects } = setup(DeletionPolicy.Delete, 'web', 'uid-of-an-earlier-web');
    expect(await step.run(context())).toEqual({ stop: true });
    expect(helm.calls).toEqual([]);
    expect(deletedObjects).toEqual([]);
    expect(namespaces.namespaces.get('web')?.terminating).toBe(false);
    expect(instances.objects.get('web')?.metadata.finalizers).toEqual([]);
  });

  it('never uninstalls from or deletes a namespace another instance owns', async () => {
    const { helm, namespaces, instances, step, context } = setup(DeletionPolicy.Delete, 'other');
    expect(await step.run(context())).toEqual({ stop: true });
    expect(helm.calls).toEqual([]);
    expect(namespaces.namespaces.get('web')?.terminating).toBe(false);
    expect(instances.objects.get('web')?.metadata.finalizers).toEqual([]);
  });
});

describe('drift step: modes, loop guard, and the stored manifest checked first', () => {
  const drifted = [{ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'web', name: 'web', missing: false, pointers: ['/data/a'] }];

  function setup(manifest?: string) {
    const helm = new FakeHelm();
    helm.put('web', 'web', { revision: 1, status: 'deployed', description: describeDigest(DIGEST), manifest: manifest ?? helm.manifest });
    const checker = new FakeDrift();
    checker.drifted = drifted;
    const guard = new FakeLoopGuard();
    const events = new FakeEvents();
    const step = driftStep({ manifests: new FakeManifests(helm), checker, guard, events, policy: {}, takeFullCheck: () => false });
    const context = (mode?: 'enabled' | 'warn' | 'disabled') =>
      fakeContext(fakeInstance('web', mode ? { driftDetection: { mode } } : {}, { namespace: 'web', release: { revision: 1, status: 'deployed', appliedDigest: DIGEST } }));
    return { checker, guard, events, step, context };
  }

  it('enabled: re-applies the drifted objects and says so', async () => {
    const { checker, events, step, context } = setup();
    const ctx = context();
    await step.run(ctx);
    expect(checker.corrected).toEqual([drifted]);
    expect(cond(ctx.status.current.conditions, ConditionType.Drifted)).toMatchObject({ status: 'False', reason: 'DriftCorrected', message: 'corrected: ConfigMap/web: /data/a' });
    expect(ctx.status.current.drift).toMatchObject({ mode: 'enabled', correctedAt: NOW.toISOString() });
    expect(events.reasons()).toEqual(['DriftCorrected']);
  });

  it('warn: reports, changes nothing', async () => {
    const { checker, events, step, context } = setup();
    const ctx = context('warn');
    await step.run(ctx);
    expect(checker.corrected).toEqual([]);
    expect(cond(ctx.status.current.conditions, ConditionType.Drifted)).toMatchObject({ status: 'True', reason: 'DriftDetected' });
    expect(events.events.map((e) => [e.type, e.reason])).toEqual([['Warning', 'DriftDetected']]);
  });

  it('disabled: no check at all', async () => {
    const { checker, step, context } = setup();
    const ctx = context('disabled');
    await step.run(ctx);
    expect(checker.checks).toBe(0);
    expect(cond(ctx.status.current.conditions, ConditionType.Drifted)).toMatchObject({ status: 'False', reason: 'DriftDetectionDisabled' });
  });

  it('no drift: NoDrift with the object count', async () => {
    const { checker, step, context } = setup();
    checker.drifted = [];
    const ctx = context();
    await step.run(ctx);
    expect(cond(ctx.status.current.conditions, ConditionType.Drifted)).toMatchObject({ status: 'False', reason: 'NoDrift', message: '1 objects match the release manifest' });
  });

  it('the correction that trips the loop guard reports DriftLoop; after that drift is only reported', async () => {
    const { checker, guard, events, step, context } = setup();
    guard.max = 1;
    const ctx = context();
    await step.run(ctx);
    expect(cond(ctx.status.current.conditions, ConditionType.Drifted)).toMatchObject({ status: 'True', reason: 'DriftLoop' });
    checker.drifted = drifted;
    const next = context();
    await step.run(next);
    expect(checker.corrected).toHaveLength(1);
    expect(events.reasons()).toEqual(['DriftCorrected', 'DriftLoop', 'DriftLoop']);
  });

  it('a stored manifest that fails the kinds policy is never checked or re-applied (ReleaseTampered)', async () => {
    const { checker, events, step, context } = setup(FORGED);
    const err = await failure(step.run(context()));
    expect(err.reason).toBe('ReleaseTampered');
    expect(err.message).toContain('not re-applied to correct drift');
    expect(err.message).toContain('ClusterRoleBinding/pwn');
    expect(checker.checks).toBe(0);
    expect(checker.corrected).toEqual([]);
    expect(events.events).toEqual([]);
  });
});

describe('reconciler on the fakes: status and Events a user reads', () => {
  function world(shard?: { label: string; shards: ShardList }) {
    const helm = new FakeHelm();
    const web = fakeInstance('web');
    if (shard) web.metadata.labels = { [SHARD_LABEL]: shard.label };
    const instances = new FakeInstances(web);
    const events = new FakeEvents();
    const checker = new FakeDrift();
    const reconciler: Reconciler = new Reconciler(
      buildPipeline({
        catalog: { resolve: async () => fakeTemplate },
        helm,
        namespaces: new FakeNamespaces(),
        tenants: new FakeTenants(),
        instances,
        events,
        validateValues: () => [],
        helmTimeoutSeconds: 60,
        isLeader: () => true,
        writeProgress: (ctx) => reconciler.writeProgress(ctx),
        drift: { manifests: new FakeManifests(helm), checker, guard: new FakeLoopGuard(), takeFullCheck: () => false },
        ...(shard ? { shards: shard.shards } : {}),
      }),
      { getInstance: (name) => instances.objects.get(name), instances, events, log: silentLogger(), now: () => NOW },
    );
    return { helm, instances, events, checker, reconciler, get: () => instances.objects.get('web') };
  }

  it('a new instance ends Running with Ready=True; a second reconcile spawns no helm', async () => {
    const w = world();
    await w.reconciler.reconcile('web', new AbortController().signal);
    expect(w.get()?.status).toMatchObject({ phase: 'Running', namespace: 'web', release: { revision: 1, status: 'deployed' } });
    expect(cond(w.get()?.status?.conditions, ConditionType.Ready)).toMatchObject({ status: 'True', reason: 'InSync' });
    expect(w.events.reasons()).toEqual(['Installing', 'InstallSucceeded', 'Running']);
    await w.reconciler.reconcile('web', new AbortController().signal);
    expect(w.helm.calls).toEqual(['upgrade web']);
  });

  it('sharded: a CR of a configured shard is reconciled; one naming an unknown shard is reported and left alone', async () => {
    const ok = world({ label: 'b', shards: ['a', 'b'] });
    await ok.reconciler.reconcile('web', new AbortController().signal);
    expect(cond(ok.get()?.status?.conditions, ConditionType.Ready)).toMatchObject({ status: 'True', reason: 'InSync' });

    const stray = world({ label: 'gone', shards: ['a', 'b'] });
    const result = await stray.reconciler.reconcile('web', new AbortController().signal);
    expect(result).toEqual({ requeueAfterMs: 300_000 });
    expect(cond(stray.get()?.status?.conditions, ConditionType.Ready)).toMatchObject({ status: 'False', reason: 'UnknownShard' });
    expect(stray.events.events.find((e) => e.type === 'Warning')?.message).toContain('caelus.io/shard=gone names no configured shard (a, b)');
    expect(stray.helm.calls).toEqual([]);
  });

  it('a forged current record: Ready=False ReleaseTampered, a Warning Event naming it, nothing re-applied', async () => {
    const w = world();
    await w.reconciler.reconcile('web', new AbortController().signal);
    w.helm.releases.get('web/web')![0]!.manifest = `${w.helm.manifest}---\n${FORGED}\n`;
    w.checker.drifted = [{ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', name: 'pwn', missing: true, pointers: [] }];
    const result = await w.reconciler.reconcile('web', new AbortController().signal);
    expect(result).toEqual({ requeueAfterMs: 300_000 });
    expect(w.get()?.status?.phase).toBe('Failed');
    expect(cond(w.get()?.status?.conditions, ConditionType.Ready)).toMatchObject({ status: 'False', reason: 'ReleaseTampered' });
    const warning = w.events.events.find((e) => e.type === 'Warning');
    expect(warning).toMatchObject({ reason: 'ReleaseTampered' });
    expect(warning?.message).toContain('ClusterRoleBinding/pwn');
    expect(w.checker.corrected).toEqual([]);
  });
});
