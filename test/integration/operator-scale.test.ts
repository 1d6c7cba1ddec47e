// 50 instances created at once all reach Ready. The time is printed as a
// figure (bench/ measures properly); only readiness is asserted.
import { ConditionType } from '../../src/domain/instance.ts';
import { eventually, uniqueName } from '../support/kube.ts';
import { condition, counterTotal, createInstance, customObjects, instanceBody, reconcileCount, SHARD_LABEL, startTestOperator, type TestOperator } from '../support/operator.ts';

const shard = uniqueName('scale');
let op: TestOperator;
beforeAll(async () => {
  op = await startTestOperator(shard);
});
afterAll(() => op?.stop());

it('reconciles 50 instances created at once to Ready', async () => {
  const names = Array.from({ length: 50 }, (_, i) => `${shard}-${i}`);
  const started = Date.now();
  await Promise.all(names.map((n) => createInstance(instanceBody(n, shard, { userId: `u${n}`, productTemplateVersion: 'probe@1.0.0' }))));
  await eventually(async () => {
    const list = (await customObjects().listClusterCustomObject({
      group: 'caelus.io',
      version: 'v1',
      plural: 'caelusinstances',
      labelSelector: `${SHARD_LABEL}=${shard}`,
    })) as { items: Parameters<typeof condition>[0][] };
    const readyCount = list.items.filter((i) => condition(i, ConditionType.Ready)?.status === 'True').length;
    return readyCount === names.length ? true : undefined;
  }, 300_000, 500);
  const seconds = (Date.now() - started) / 1000;
  const helm = await counterTotal(op.metrics, 'caelus_helm_invocations_total');
  process.stderr.write(`[figure] 50 instances Ready in ${seconds.toFixed(1)} s (concurrency 8), ${helm} helm processes\n`);

  // Cost of the periodic full drift check over the 50 untouched releases.
  const reconciles = () => reconcileCount(op.metrics);
  await new Promise((r) => setTimeout(r, 2_000));
  const applies = () => counterTotal(op.metrics, 'caelus_guardrails_applies_total', { result: 'ok' });
  const [requestsBefore, reconcilesBefore, helmBefore, appliesBefore] = [op.runtime.operator.driftApiRequests, await reconciles(), helm, await applies()];
  const checkStart = Date.now();
  op.runtime.operator.requestFullDriftCheck();
  await eventually(async () => ((await reconciles()) >= reconcilesBefore + names.length ? true : undefined), 120_000, 100);
  const requests = op.runtime.operator.driftApiRequests - requestsBefore;
  const helmAfter = await counterTotal(op.metrics, 'caelus_helm_invocations_total');
  process.stderr.write(
    `[figure] full drift check of 50 instances: ${Date.now() - checkStart} ms, ${requests} API requests (GET + dry-run apply per object), ${helmAfter - helmBefore} helm processes, ${(await applies()) - appliesBefore} guardrail re-applies\n`,
  );
  expect(helmAfter - helmBefore).toBe(0);
  // The check re-applies every instance's guardrails once (operator/restore.ts) ...
  await eventually(async () => ((await applies()) === appliesBefore + names.length ? true : undefined), 30_000, 100);
  // ... and then the fleet is idle: no re-apply, reconcile or helm run feeds another.
  await new Promise((r) => setTimeout(r, 1_000));
  const idle = async () => [await applies(), await reconciles(), await counterTotal(op.metrics, 'caelus_helm_invocations_total')];
  const settled = await idle();
  await new Promise((r) => setTimeout(r, 5_000));
  expect(await idle()).toEqual(settled);
});
