// Guardrails and tenant identity healed while an instance is Ready, against
// the real control plane: what an impatient admin checks with kubectl. A
// deleted or edited guardrail NetworkPolicy, a deleted reader RoleBinding,
// come back within seconds without a helm run; the periodic full check puts
// back what no watch sees (the ResourceQuota); and nothing loops afterwards.
import * as k8s from '@kubernetes/client-node';
import { eventually, testKubeConfig, uniqueName } from '../support/kube.ts';
import { counterTotal, createInstance, instanceBody, reconcileCount, startTestOperator, waitReady, type TestOperator } from '../support/operator.ts';

const shard = uniqueName('heal');
let op: TestOperator;
const logLines: string[] = [];
const kc = () => testKubeConfig();
const core = () => kc().makeApiClient(k8s.CoreV1Api);
const net = () => kc().makeApiClient(k8s.NetworkingV1Api);
const rbac = () => kc().makeApiClient(k8s.RbacAuthorizationV1Api);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const merge = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

const exists = async (read: () => Promise<unknown>): Promise<boolean> => {
  try {
    await read();
    return true;
  } catch (err) {
    if ((err as { code?: number }).code === 404) return false;
    throw err;
  }
};
const applies = () => counterTotal(op.metrics, 'caelus_guardrails_applies_total', { result: 'ok' });
const helmRuns = () => counterTotal(op.metrics, 'caelus_helm_invocations_total');

/** The operator is idle: no guardrail apply, no helm run, no reconcile for `ms`. */
async function expectIdle(ms: number): Promise<void> {
  await sleep(1_500);
  const before = [await applies(), await helmRuns(), await reconcileCount(op.metrics)];
  await sleep(ms);
  expect([await applies(), await helmRuns(), await reconcileCount(op.metrics)]).toEqual(before);
}

async function restoredEvents(name: string): Promise<string[]> {
  const events = await core().listNamespacedEvent({ namespace: 'default', fieldSelector: `involvedObject.name=${name},reason=GuardrailsRestored` });
  return events.items.map((e) => e.message ?? '');
}

beforeAll(async () => {
  // Full checks only when the test asks.
  op = await startTestOperator(shard, { CAELUS_DRIFT_FULL_CHECK_SCHEDULE: '0 0 1 1 *' }, { logLines });
});
afterAll(async () => {
  await op?.stop();
  if (process.env['CAELUS_TEST_LOGS']) (await import('node:fs')).writeFileSync('/tmp/caelus-restore-test.log', logLines.join(''));
});

describe('guardrails and tenant identity are restored while Ready', () => {
  let name: string;
  let revision: number;

  beforeAll(async () => {
    name = uniqueName('heal');
    await createInstance(instanceBody(name, shard, { userId: 'u', productTemplateVersion: 'webapp@1.0.0' }));
    revision = (await waitReady(name)).status!.release!.revision!;
  });

  it('puts back a deleted default-deny NetworkPolicy and reader RoleBinding within seconds, without a helm run', async () => {
    await expectIdle(2_000);
    const [appliesBefore, helmBefore] = [await applies(), await helmRuns()];
    const started = Date.now();
    await net().deleteNamespacedNetworkPolicy({ name: 'caelus-default-deny', namespace: name });
    await rbac().deleteNamespacedRoleBinding({ name: 'caelus-tenant-reader', namespace: name });
    await eventually(
      async () =>
        (await exists(() => net().readNamespacedNetworkPolicy({ name: 'caelus-default-deny', namespace: name }))) &&
        (await exists(() => rbac().readNamespacedRoleBinding({ name: 'caelus-tenant-reader', namespace: name })))
          ? true
          : undefined,
      10_000,
      50,
    );
    const seconds = (Date.now() - started) / 1000;
    process.stderr.write(`[figure] deleted default-deny + reader RoleBinding restored in ${seconds.toFixed(2)} s\n`);

    const policy = await net().readNamespacedNetworkPolicy({ name: 'caelus-default-deny', namespace: name });
    expect(policy.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
    const binding = await rbac().readNamespacedRoleBinding({ name: 'caelus-tenant-reader', namespace: name });
    expect(binding.roleRef).toMatchObject({ kind: 'ClusterRole', name: 'caelus-tenant-reader' });
    expect(binding.subjects).toEqual([expect.objectContaining({ kind: 'ServiceAccount', name: 'caelus-tenant-reader', namespace: name })]);

    expect(await helmRuns()).toBe(helmBefore);
    expect((await waitReady(name)).status?.release?.revision).toBe(revision);
    expect(await applies()).toBeGreaterThan(appliesBefore);
    const messages = await eventually(async () => {
      const m = (await restoredEvents(name)).join(' | ');
      return m.includes('NetworkPolicy/caelus-default-deny deleted') && m.includes('RoleBinding/caelus-tenant-reader deleted') ? m : undefined;
    }, 10_000);
    expect(messages).toContain(`namespace ${name}`);
    // A restore re-creates (an add event): it must not trigger another.
    await expectIdle(5_000);
  }, 60_000);

  it('takes back an edit that opens a guardrail NetworkPolicy (an added rule, a narrowed selector)', async () => {
    // Both would let traffic through: an allow-all ingress rule on the default-deny, and a
    // podSelector that no longer selects every pod.
    await net().patchNamespacedNetworkPolicy(
      { name: 'caelus-default-deny', namespace: name, body: { spec: { ingress: [{}], podSelector: { matchLabels: { only: 'this' } } } }, fieldManager: 'kubectl-edit' },
      merge,
    );
    await net().patchNamespacedNetworkPolicy(
      { name: 'caelus-allow-dns', namespace: name, body: { spec: { egress: [{}] } }, fieldManager: 'kubectl-edit' },
      merge,
    );
    const started = Date.now();
    await eventually(async () => {
      const [deny, dns] = await Promise.all([
        net().readNamespacedNetworkPolicy({ name: 'caelus-default-deny', namespace: name }),
        net().readNamespacedNetworkPolicy({ name: 'caelus-allow-dns', namespace: name }),
      ]);
      const denyBack = deny.spec?.ingress === undefined && Object.keys(deny.spec?.podSelector ?? {}).length === 0;
      const dnsBack = dns.spec?.egress?.length === 1 && dns.spec.egress[0]?.ports?.length === 2;
      return denyBack && dnsBack ? true : undefined;
    }, 10_000, 50);
    process.stderr.write(`[figure] edited default-deny + allow-dns restored in ${((Date.now() - started) / 1000).toFixed(2)} s\n`);
    expect((await net().readNamespacedNetworkPolicy({ name: 'caelus-default-deny', namespace: name })).spec).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
    expect(await eventually(async () => ((await restoredEvents(name)).some((m) => m.includes('NetworkPolicy/caelus-allow-dns changed')) ? true : undefined), 10_000)).toBe(true);
    expect((await waitReady(name)).status?.release?.revision).toBe(revision);
    await expectIdle(5_000);
  }, 60_000);

  it('puts back the unwatched ResourceQuota at the periodic full check, and an idle full check re-applies once', async () => {
    await core().deleteNamespacedResourceQuota({ name: 'caelus-quota', namespace: name });
    const before = await applies();
    op.runtime.operator.requestFullDriftCheck();
    await eventually(async () => ((await exists(() => core().readNamespacedResourceQuota({ name: 'caelus-quota', namespace: name }))) ? true : undefined), 10_000, 50);
    // Once per instance of this operator (this file's only instance), then quiet again.
    await expectIdle(3_000);
    expect(await applies()).toBe(before + 1);
    expect(op.runtime.operator.remembered.restore).toBe(0);
    expect((await waitReady(name)).status?.release?.revision).toBe(revision);
  }, 60_000);
});
