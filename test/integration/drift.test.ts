// Drift detection and correction against the real control plane: edits,
// scales and deletes of managed objects are put back within seconds; defaults
// and other managers' fields never count; warn/disabled/ignore behave; Secret
// values never leak into logs, Events or status.
import * as k8s from '@kubernetes/client-node';
import { ConditionType } from '../../src/domain/instance.ts';
import { eventually, testKubeConfig, uniqueName } from '../support/kube.ts';
import { condition, counterTotal, createInstance, getInstance, instanceBody, startTestOperator, type TestOperator } from '../support/operator.ts';
import type { CaelusInstanceSpec } from '../../src/domain/instance.ts';

const shard = uniqueName('drift');
const logLines: string[] = [];
let op: TestOperator;
const kc = () => testKubeConfig();
const core = () => kc().makeApiClient(k8s.CoreV1Api);
const apps = () => kc().makeApiClient(k8s.AppsV1Api);
const corrections = () => counterTotal(op.metrics, 'caelus_drift_corrections_total');

async function readyInstance(spec: Partial<CaelusInstanceSpec> & { productTemplateVersion: string }): Promise<string> {
  const name = uniqueName('d');
  await createInstance(instanceBody(name, shard, { userId: 'u', ...spec }));
  await eventually(async () => {
    const i = await getInstance(name);
    return condition(i, ConditionType.Ready)?.status === 'True' && condition(i, ConditionType.Drifted) ? true : undefined;
  }, 90_000);
  return name;
}

function patchOpts(_fieldManager: string) {
  return k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
}

beforeAll(async () => {
  op = await startTestOperator(shard, { CAELUS_DRIFT_FULL_CHECK_SCHEDULE: '0 0 1 1 *' }, { logLines });
});
afterAll(async () => {
  await op?.stop();
  if (process.env['CAELUS_TEST_LOGS']) (await import('node:fs')).writeFileSync('/tmp/caelus-drift-test.log', logLines.join(''));
});

const latencies: number[] = [];
const timeUntil = async (fn: () => Promise<boolean>, timeoutMs = 30_000): Promise<number> => {
  const start = Date.now();
  await eventually(async () => ((await fn()) ? true : undefined), timeoutMs, 50);
  const ms = Date.now() - start;
  latencies.push(ms);
  return ms;
};

describe('drift', () => {
  it('restores a scaled Deployment, an edited ConfigMap and a deleted Service within seconds', async () => {
    // Three instances, three rounds each: 27 corrections, under the loop guard's 10 per instance per minute.
    const webs = await Promise.all([0, 1, 2].map(() => readyInstance({ productTemplateVersion: 'webapp@1.0.0', values: { message: 'original' } })));
    for (let trial = 0; trial < 3; trial++) {
      for (const web of webs) {
        await apps().patchNamespacedDeployment({ name: web, namespace: web, body: { spec: { replicas: 3 + trial } }, fieldManager: 'kubectl-scale' }, patchOpts('kubectl'));
        await timeUntil(async () => (await apps().readNamespacedDeployment({ name: web, namespace: web })).spec?.replicas === 1);

        await core().patchNamespacedConfigMap({ name: `${web}-config`, namespace: web, body: { data: { message: `edited-${trial}` } }, fieldManager: 'kubectl-edit' }, patchOpts('kubectl'));
        await timeUntil(async () => (await core().readNamespacedConfigMap({ name: `${web}-config`, namespace: web })).data?.['message'] === 'original');

        const before = (await core().readNamespacedService({ name: web, namespace: web })).metadata?.uid;
        await core().deleteNamespacedService({ name: web, namespace: web });
        await timeUntil(async () => {
          const svc = await core().readNamespacedService({ name: web, namespace: web }).catch(() => undefined);
          return !!svc && svc.metadata?.uid !== before;
        });
      }
    }
    const i = await getInstance(webs[0]!);
    // The last report stays in status; the re-check after the correction found nothing.
    expect(condition(i, ConditionType.Drifted)?.status).toBe('False');
    expect(i?.status?.drift).toMatchObject({ mode: 'enabled', correctedAt: expect.any(String) });
    expect((i?.status?.drift as { resources?: unknown[] }).resources?.length).toBeGreaterThan(0);
    const events = await core().listNamespacedEvent({ namespace: 'default', fieldSelector: `involvedObject.name=${webs[0]}` });
    expect(events.items.map((e) => e.reason)).toContain('DriftCorrected');
    // Pure drift correction never makes a Helm revision.
    expect(i?.status?.release?.revision).toBe(1);
    const sorted = [...latencies].sort((a, b) => a - b);
    process.stderr.write(
      `[figure] drift edit→corrected over ${sorted.length} trials: p50 ${sorted[Math.floor(sorted.length / 2)]} ms, max ${sorted[sorted.length - 1]} ms\n`,
    );
  });

  it('stops correcting and reports DriftLoop when something keeps fighting it', async () => {
    const fought = await readyInstance({ productTemplateVersion: 'webapp@1.0.0' });
    for (let n = 0; n < 12; n++) {
      await apps().patchNamespacedDeployment({ name: fought, namespace: fought, body: { spec: { replicas: 5 } }, fieldManager: 'rogue-controller' }, patchOpts('x'));
      await new Promise((r) => setTimeout(r, 300));
    }
    const looped = await eventually(async () => {
      const i = await getInstance(fought);
      return condition(i, ConditionType.Drifted)?.reason === 'DriftLoop' ? i : undefined;
    });
    expect(condition(looped, ConditionType.Drifted)?.status).toBe('True');
    await new Promise((r) => setTimeout(r, 1_000));
    expect((await apps().readNamespacedDeployment({ name: fought, namespace: fought })).spec?.replicas).toBe(5);
  });

  it('finds no drift on an untouched release over repeated full checks (defaults never count)', async () => {
    const quiet = await readyInstance({ productTemplateVersion: 'webapp@1.0.0' });
    const before = await corrections();
    const requests = (op.runtime.operator as unknown as { requestFullDriftCheck(): void });
    for (let i = 0; i < 3; i++) {
      requests.requestFullDriftCheck();
      await new Promise((r) => setTimeout(r, 1_500));
    }
    expect(await corrections()).toBe(before);
    expect(condition(await getInstance(quiet), ConditionType.Drifted)).toMatchObject({ status: 'False', reason: 'NoDrift' });
  });

  it('leaves a field alone that another manager owns and the manifest does not set (HPA-style replicas)', async () => {
    const hpa = await readyInstance({ productTemplateVersion: 'probe@1.0.0', values: { workload: true } });
    const before = await corrections();
    await apps().patchNamespacedDeployment({ name: `${hpa}-worker`, namespace: hpa, body: { spec: { replicas: 4 } }, fieldManager: 'hpa-controller' }, patchOpts('hpa'));
    (op.runtime.operator as unknown as { requestFullDriftCheck(): void }).requestFullDriftCheck();
    await new Promise((r) => setTimeout(r, 3_000));
    expect((await apps().readNamespacedDeployment({ name: `${hpa}-worker`, namespace: hpa })).spec?.replicas).toBe(4);
    expect(await corrections()).toBe(before);
  });

  it('warn mode reports without changing; disabled does nothing', async () => {
    const warn = await readyInstance({ productTemplateVersion: 'webapp@1.0.0', values: { message: 'w' }, driftDetection: { mode: 'warn' } });
    await core().patchNamespacedConfigMap({ name: `${warn}-config`, namespace: warn, body: { data: { message: 'tampered' } } }, patchOpts('x'));
    const reported = await eventually(async () => {
      const i = await getInstance(warn);
      return condition(i, ConditionType.Drifted)?.reason === 'DriftDetected' ? i : undefined;
    });
    expect(condition(reported, ConditionType.Drifted)?.message).toContain('/data/message');
    expect((await core().readNamespacedConfigMap({ name: `${warn}-config`, namespace: warn })).data?.['message']).toBe('tampered');

    const off = await readyInstance({ productTemplateVersion: 'webapp@1.0.0', values: { message: 'o' }, driftDetection: { mode: 'disabled' } });
    expect(condition(await getInstance(off), ConditionType.Drifted)?.reason).toBe('DriftDetectionDisabled');
    await core().patchNamespacedConfigMap({ name: `${off}-config`, namespace: off, body: { data: { message: 'tampered' } } }, patchOpts('x'));
    await new Promise((r) => setTimeout(r, 3_000));
    expect((await core().readNamespacedConfigMap({ name: `${off}-config`, namespace: off })).data?.['message']).toBe('tampered');
  });

  it('honours ignore rules', async () => {
    const ign = await readyInstance({
      productTemplateVersion: 'webapp@1.0.0',
      values: { message: 'keep-me' },
      driftDetection: { ignore: [{ paths: ['/data/message'], target: { kind: 'ConfigMap' } }] },
    });
    const before = await corrections();
    await core().patchNamespacedConfigMap({ name: `${ign}-config`, namespace: ign, body: { data: { message: 'changed' } } }, patchOpts('x'));
    await new Promise((r) => setTimeout(r, 3_000));
    expect((await core().readNamespacedConfigMap({ name: `${ign}-config`, namespace: ign })).data?.['message']).toBe('changed');
    expect(await corrections()).toBe(before);
  });

  it('corrects a Secret (at the periodic full check) without its value appearing in logs, Events or status', async () => {
    const value = `s3cr3t-${uniqueName('v')}`;
    const sec = await readyInstance({ productTemplateVersion: 'probe@1.0.0', values: { secret: value } });
    const name = `${sec}-credentials`;
    const tampered = `tampered-${uniqueName('t')}`;
    await core().patchNamespacedSecret({ name, namespace: sec, body: { stringData: { password: tampered } } }, patchOpts('x'));
    // Secrets are not watched (the operator may not read them): the periodic full check finds the drift.
    op.runtime.operator.requestFullDriftCheck();
    await eventually(async () => {
      const s = await core().readNamespacedSecret({ name, namespace: sec });
      return Buffer.from(s.data?.['password'] ?? '', 'base64').toString() === value ? true : undefined;
    }, 30_000);
    const status = JSON.stringify((await getInstance(sec))?.status);
    const events = JSON.stringify((await core().listNamespacedEvent({ namespace: 'default', fieldSelector: `involvedObject.name=${sec}` })).items);
    const logs = logLines.join('');
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    for (const secret of [value, tampered, b64(value), b64(tampered)]) {
      expect(status).not.toContain(secret);
      expect(events).not.toContain(secret);
      expect(logs).not.toContain(secret);
    }
    expect(events).toContain('/data/password');
  });
});
