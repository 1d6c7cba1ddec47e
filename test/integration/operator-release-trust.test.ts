// Issue 14 point 3, against the real control plane and real helm: Helm's
// release records are Secrets in the tenant's namespace, so anyone who can
// write a Secret there can forge one. The operator checks a stored manifest
// against the kinds policy before drift correction re-applies it and before
// Unlock rolls back to it; a record that fails (or does not decode) is
// reported as ReleaseTampered and never applied.
import { gunzipSync, gzipSync } from 'node:zlib';
import * as k8s from '@kubernetes/client-node';
import { execa } from 'execa';
import { ConditionType } from '../../src/domain/instance.ts';
import { eventually, helmBin, testKubeConfig, uniqueName } from '../support/kube.ts';
import { condition, createInstance, getInstance, instanceBody, patchInstance, startTestOperator, type TestOperator } from '../support/operator.ts';

const shard = uniqueName('trust');
let op: TestOperator | undefined;
const kc = () => testKubeConfig();
const core = () => kc().makeApiClient(k8s.CoreV1Api);
const rbac = () => kc().makeApiClient(k8s.RbacAuthorizationV1Api);

type ReleaseJson = { manifest: string; version: number; info: { status: string; description?: string } } & Record<string, unknown>;
const recordName = (release: string, revision: number) => `sh.helm.release.v1.${release}.v${revision}`;

async function readRecord(release: string, ns: string, revision: number): Promise<ReleaseJson> {
  const secret = await core().readNamespacedSecret({ name: recordName(release, revision), namespace: ns });
  const stored = Buffer.from(secret.data!['release']!, 'base64').toString('utf8');
  return JSON.parse(gunzipSync(Buffer.from(stored, 'base64')).toString('utf8')) as ReleaseJson;
}

/** Writes a release record the way helm's Secret driver does (labels, type, base64(gzip(JSON))). */
async function writeRecord(release: string, ns: string, rel: ReleaseJson, opts: { replace?: boolean; raw?: string } = {}): Promise<void> {
  const encoded = opts.raw ?? gzipSync(Buffer.from(JSON.stringify(rel))).toString('base64');
  const body: k8s.V1Secret = {
    metadata: { name: recordName(release, rel.version), namespace: ns, labels: { owner: 'helm', name: release, status: rel.info.status, version: String(rel.version) } },
    type: 'helm.sh/release.v1',
    data: { release: Buffer.from(encoded).toString('base64') },
  };
  if (opts.replace) await core().replaceNamespacedSecret({ name: body.metadata!.name!, namespace: ns, body });
  else await core().createNamespacedSecret({ namespace: ns, body });
}

const crb = (name: string, ns: string) =>
  [
    '---',
    '# Source: forged',
    'apiVersion: rbac.authorization.k8s.io/v1',
    'kind: ClusterRoleBinding',
    'metadata:',
    `  name: ${name}`,
    'roleRef:',
    '  apiGroup: rbac.authorization.k8s.io',
    '  kind: ClusterRole',
    '  name: cluster-admin',
    'subjects:',
    '- kind: ServiceAccount',
    '  name: default',
    `  namespace: ${ns}`,
    '',
  ].join('\n');

async function clusterRoleBindingExists(name: string): Promise<boolean> {
  try {
    await rbac().readClusterRoleBinding({ name });
    return true;
  } catch (err) {
    if ((err as { code?: number }).code === 404) return false;
    throw err;
  }
}

async function tampered(name: string) {
  return eventually(async () => {
    const i = await getInstance(name);
    return condition(i, ConditionType.Ready)?.reason === 'ReleaseTampered' ? i : undefined;
  }, 60_000);
}

async function warningEvent(name: string, reason: string) {
  return eventually(async () => {
    const list = await core().listNamespacedEvent({ namespace: 'default', fieldSelector: `involvedObject.name=${name}` });
    return list.items.find((e) => e.type === 'Warning' && e.reason === reason);
  });
}

async function waitReady(name: string) {
  return eventually(async () => {
    const i = await getInstance(name);
    return condition(i, ConditionType.Ready)?.status === 'True' && i?.status?.observedGeneration === i?.metadata.generation ? i : undefined;
  }, 90_000);
}

async function helmHistory(release: string, ns: string): Promise<Array<{ revision: number; status: string }>> {
  const { stdout } = await execa(helmBin(), ['history', release, '-n', ns, '-o', 'json', '--kubeconfig', process.env['CAELUS_TEST_KUBECONFIG']!]);
  return JSON.parse(stdout) as Array<{ revision: number; status: string }>;
}

beforeAll(async () => {
  op = await startTestOperator(shard);
});
afterAll(async () => {
  await op?.stop();
});

describe('release records are checked, not trusted', () => {
  it('drift correction never re-applies a stored manifest that fails the kinds policy', async () => {
    const name = uniqueName('drift');
    const binding = `${name}-pwn`;
    await createInstance(instanceBody(name, shard, { userId: 'mallory', productTemplateVersion: 'webapp@1.0.0', values: { message: 'hi' } }));
    await waitReady(name);

    // A tenant rewrites the deployed record: same revision, status and digest, plus a ClusterRoleBinding.
    // The operator restarts (failover, upgrade): nothing of the old process's cache remains.
    await op!.stop();
    op = undefined;
    const genuine = await readRecord(name, name, 1);
    await writeRecord(name, name, { ...genuine, manifest: `${genuine.manifest}\n${crb(binding, name)}` }, { replace: true });
    op = await startTestOperator(shard);

    const refused = await tampered(name);
    const message = condition(refused, ConditionType.Ready)?.message ?? '';
    expect(message).toContain(recordName(name, 1));
    expect(message).toContain(`ClusterRoleBinding/${binding}`);
    expect(message).toContain('not re-applied to correct drift');
    const event = await warningEvent(name, 'ReleaseTampered');
    expect(event.message).toContain(`ClusterRoleBinding/${binding}`);
    expect(await clusterRoleBindingExists(binding)).toBe(false);

    // Removing the forgery (here: restoring the genuine record) brings it back without a human touching the CR.
    await writeRecord(name, name, genuine, { replace: true });
    await op.stop();
    op = await startTestOperator(shard);
    await waitReady(name);
    expect(await clusterRoleBindingExists(binding)).toBe(false);
  });

  it('Unlock never rolls back to a forged "deployed" revision', async () => {
    const name = uniqueName('unlock');
    const binding = `${name}-pwn`;
    await createInstance(instanceBody(name, shard, { userId: 'mallory', productTemplateVersion: 'webapp@1.0.0', values: { message: 'hi' } }));
    await waitReady(name);

    // Forged: revision 2 "deployed" holding a ClusterRoleBinding, revision 3 stuck in pending-upgrade.
    const genuine = await readRecord(name, name, 1);
    await writeRecord(name, name, { ...genuine, version: 2, manifest: `${genuine.manifest}\n${crb(binding, name)}`, info: { ...genuine.info, status: 'deployed' } });
    await writeRecord(name, name, { ...genuine, version: 3, info: { ...genuine.info, status: 'pending-upgrade' } });
    // A values change makes the operator look at helm's storage again.
    await patchInstance(name, { spec: { values: { message: 'changed' } } });

    const refused = await tampered(name);
    const message = condition(refused, ConditionType.Ready)?.message ?? '';
    expect(message).toContain(recordName(name, 2));
    expect(message).toContain('not rolled back to');
    expect(message).toContain(`ClusterRoleBinding/${binding}`);
    expect((await warningEvent(name, 'ReleaseTampered')).message).toContain(`ClusterRoleBinding/${binding}`);
    expect(await clusterRoleBindingExists(binding)).toBe(false);
    // No rollback ran: the stuck revision is still the latest, nothing newer was written.
    expect((await helmHistory(name, name)).map((h) => [h.revision, h.status])).toEqual([
      [1, 'deployed'],
      [2, 'deployed'],
      [3, 'pending-upgrade'],
    ]);
  });

  it('a release record that does not decode is named in a ReleaseTampered condition, not an opaque failure', async () => {
    const name = uniqueName('garbled');
    await createInstance(instanceBody(name, shard, { userId: 'mallory', productTemplateVersion: 'webapp@1.0.0', values: { message: 'hi' } }));
    await waitReady(name);
    const genuine = await readRecord(name, name, 1);
    await writeRecord(name, name, { ...genuine, version: 9 }, { raw: Buffer.from('not helm data').toString('base64') });
    await patchInstance(name, { spec: { values: { message: 'changed' } } });

    const refused = await tampered(name);
    const message = condition(refused, ConditionType.Ready)?.message ?? '';
    expect(message).toContain(`release record ${recordName(name, 9)} in namespace ${name} cannot be read`);
    expect(message).toContain('not written by helm');
    expect(message).not.toContain('unexpected output');
    await warningEvent(name, 'ReleaseTampered');
  });
});
