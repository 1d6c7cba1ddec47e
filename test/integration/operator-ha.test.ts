// High availability against the real control plane: leader election between
// replicas, and recovery of a release left pending by an operator that was
// SIGKILLed in the middle of `helm upgrade`.
import { CoordinationV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { execa } from 'execa';
import { ConditionType } from '../../src/domain/instance.ts';
import { eventually, helmBin, testKubeConfig, uniqueName } from '../support/kube.ts';
import { condition, createInstance, getInstance, instanceBody, patchInstance, startTestOperator } from '../support/operator.ts';
import { spawnOperator, type OperatorProcess } from '../support/operator-process.ts';

const helmStatus = async (release: string) => {
  const r = await execa(helmBin(), ['status', release, '-n', release, '-o', 'json', '--kubeconfig', process.env['CAELUS_TEST_KUBECONFIG']!], { reject: false });
  return r.exitCode === 0 ? (JSON.parse(r.stdout) as { version: number; info: { status: string } }) : undefined;
};
const ready = (name: string, timeoutMs = 90_000, extra: (i: NonNullable<Awaited<ReturnType<typeof getInstance>>>) => boolean = () => true) =>
  eventually(async () => {
    const i = await getInstance(name);
    return i && condition(i, ConditionType.Ready)?.status === 'True' && i.status?.observedGeneration === i.metadata.generation && extra(i) ? i : undefined;
  }, timeoutMs);
const logOf = async (p: OperatorProcess) => (await import('node:fs/promises')).readFile(p.log, 'utf8').catch(() => '');
const reconciledBy = async (p: OperatorProcess, instance: string) =>
  (await logOf(p)).split('\n').some((l) => l.includes(`"instance":"${instance}"`) && l.includes('reconcile finished'));

const procs: OperatorProcess[] = [];
afterAll(async () => {
  for (const p of procs) p.kill('SIGKILL');
  await Promise.all(procs.map((p) => p.exited));
});

describe('operator high availability', () => {
  it('only the leader reconciles; when it stops, the other replica takes over', async () => {
    const shard = uniqueName('ha');
    const a = spawnOperator(shard, `${shard}-a`);
    procs.push(a);
    const first = uniqueName('lead');
    await createInstance(instanceBody(first, shard, { userId: 'u', productTemplateVersion: 'probe@1.0.0' }));
    await ready(first);
    const b = spawnOperator(shard, `${shard}-b`);
    procs.push(b);
    // b is up (its informer synced) but must not reconcile while a leads.
    await eventually(async () => ((await logOf(b)).includes('operator started') ? true : undefined));
    await patchInstance(first, { spec: { values: { message: 'still a' } } });
    await ready(first, 60_000, (i) => i.status?.release?.revision === 2);
    expect(await reconciledBy(b, first)).toBe(false);

    const stoppedAt = Date.now();
    a.kill('SIGTERM');
    await a.exited;
    const second = uniqueName('lead');
    await createInstance(instanceBody(second, shard, { userId: 'u', productTemplateVersion: 'probe@1.0.0' }));
    await ready(second);
    expect(await reconciledBy(b, second)).toBe(true);
    process.stderr.write(`[figure] takeover after graceful stop + install: ${Date.now() - stoppedAt} ms\n`);
    b.kill('SIGTERM');
    await b.exited;
  });

  it('recovers a release left pending-upgrade by an operator killed mid-upgrade', async () => {
    const shard = uniqueName('kill');
    const name = uniqueName('stuck');
    const installer = spawnOperator(shard, `${shard}-1`);
    procs.push(installer);
    await createInstance(instanceBody(name, shard, { userId: 'u', productTemplateVersion: 'webapp@1.0.0', values: { message: 'one' } }));
    await ready(name);
    installer.kill('SIGTERM');
    await installer.exited;

    // A production-configured replica: --rollback-on-failure/--atomic makes
    // helm wait for the Deployment, which never gets ready without kubelets,
    // so the upgrade sits in pending-upgrade until we kill it.
    const victim = spawnOperator(shard, `${shard}-2`, { CAELUS_HELM_ROLLBACK_ON_FAILURE: 'true', CAELUS_HELM_TIMEOUT_SECONDS: '300' });
    procs.push(victim);
    await patchInstance(name, { spec: { values: { message: 'two' } } });
    await eventually(async () => ((await helmStatus(name))?.info.status === 'pending-upgrade' ? true : undefined), 60_000);
    victim.kill('SIGKILL');
    await victim.exited;
    await new Promise((r) => setTimeout(r, 1_000));
    expect((await helmStatus(name))?.info.status).toBe('pending-upgrade');

    const killedAt = Date.now();
    const rescuer = spawnOperator(shard, `${shard}-3`);
    procs.push(rescuer);
    const recovered = await ready(name, 120_000, (i) => i.status?.release?.status === 'deployed' && (i.status.release.revision ?? 0) > 2);
    process.stderr.write(`[figure] pending-upgrade recovered ${Date.now() - killedAt} ms after the kill (lease 3 s)\n`);
    expect((await helmStatus(name))?.info.status).toBe('deployed');
    expect(recovered.status?.phase).toBe('Running');
    expect(await logOf(rescuer)).toContain('rolled back to revision 1');
    rescuer.kill('SIGTERM');
    await rescuer.exited;
  });
});

describe('losing the lease', () => {
  it('cancels an in-flight helm install at once instead of racing the next leader', async () => {
    const shard = uniqueName('steal');
    const leaseName = `caelus-${shard}`;
    const op = await startTestOperator(shard, {
      CAELUS_LEADER_ELECTION: 'true',
      CAELUS_LEASE_NAMESPACE: 'caelus-test-leases',
      CAELUS_LEASE_NAME: leaseName,
      CAELUS_LEASE_DURATION_SECONDS: '3',
      CAELUS_IDENTITY: `${shard}-leader`,
      // Rollback-on-failure makes helm wait for a Deployment that never gets ready: the install hangs.
      CAELUS_HELM_ROLLBACK_ON_FAILURE: 'true',
      CAELUS_HELM_TIMEOUT_SECONDS: '300',
    });
    try {
      const name = uniqueName('steal');
      await createInstance(instanceBody(name, shard, { userId: 'u', productTemplateVersion: 'webapp@1.0.0' }));
      await eventually(async () => ((await helmStatus(name))?.info.status === 'pending-install' ? true : undefined), 60_000);

      const leases = testKubeConfig().makeApiClient(CoordinationV1Api);
      const stolenAt = Date.now();
      await leases.patchNamespacedLease(
        {
          name: leaseName,
          namespace: 'caelus-test-leases',
          body: { spec: { holderIdentity: 'thief', renewTime: new Date().toISOString().replace('Z', '000Z'), leaseDurationSeconds: 60 } },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      // SIGTERM makes helm end its operation (failed, or rolled back and gone): nothing is left pending for the next leader.
      await eventually(async () => (!(await helmStatus(name))?.info.status.startsWith('pending-') ? true : undefined), 15_000, 100);
      const cancelMs = Date.now() - stolenAt;
      process.stderr.write(`[figure] helm install canceled ${cancelMs} ms after the lease was taken (now ${(await helmStatus(name))?.info.status ?? 'no release'})\n`);
      expect(op.runtime.operator.leading).toBe(false);
      expect(cancelMs).toBeLessThan(10_000);
    } finally {
      await op.stop();
    }
  });
});
