// Issue 14 points 6 and 7 on the real control plane with real helm:
// - a namespace kept by deletionPolicy Retain loses the instance's secrets
//   Secret, and a new CR with the old name is refused (NamespaceConflict)
//   instead of adopting the old tenant's namespace, PVCs and data; deleting
//   that CR leaves the retained namespace alone;
// - egress is denied by default: judged from the NetworkPolicy objects the
//   operator applied (no CNI runs here), a tenant pod has no path to the
//   kube-apiserver, PostgreSQL or the metadata address, only to DNS, its own
//   namespace and what its template version declares.
import * as k8s from '@kubernetes/client-node';
import { execa } from 'execa';
import { ConditionType, DeletionPolicy, INSTANCE_UID_LABEL, type CaelusInstance } from '../../src/domain/instance.ts';
import type { SecretSource } from '../../src/operator/ports.ts';
import { eventually, helmBin, testKubeConfig, uniqueName } from '../support/kube.ts';
import { egressVerdict, type Destination, type PolicyLike } from '../support/network-policy.ts';
import { condition, createInstance, deleteInstance, getInstance, instanceBody, startTestOperator, waitReady, type TestOperator } from '../support/operator.ts';

const shard = uniqueName('retain');
const core = () => testKubeConfig().makeApiClient(k8s.CoreV1Api);
const net = () => testKubeConfig().makeApiClient(k8s.NetworkingV1Api);
const OLD_TENANT_TOKEN = 'old-tenant-token-4f1c';
// The instance's secrets as the database would hand them over.
const secrets: SecretSource = { fingerprint: async () => 'fp-1', read: async () => ({ token: OLD_TENANT_TOKEN }) };
let op: TestOperator;

const gone = (name: string) => eventually(async () => ((await getInstance(name)) === undefined ? true : undefined), 90_000);
const helmStatus = (ns: string) =>
  execa(helmBin(), ['status', ns, '-n', ns, '--kubeconfig', process.env['CAELUS_TEST_KUBECONFIG']!], { reject: false });
const withId = (body: CaelusInstance): CaelusInstance => ({
  ...body,
  metadata: { ...body.metadata, annotations: { 'caelus.io/instance-id': '7d3f6a52-4a8e-4b7e-9c1e-2f0a1b2c3d4e' } },
});

beforeAll(async () => {
  op = await startTestOperator(shard, {}, { secrets });
});
afterAll(async () => {
  await op?.stop();
});

describe('deletionPolicy Retain and a reused instance name', () => {
  it('keeps the data but not the secrets, and never hands the namespace to a new CR with the same name', async () => {
    const name = uniqueName('keep');
    await createInstance(withId(instanceBody(name, shard, { userId: 'alice', productTemplateVersion: 'webapp@1.0.0', deletionPolicy: DeletionPolicy.Retain })));
    const first = await waitReady(name);
    const ns = await core().readNamespace({ name });
    expect(ns.metadata?.labels).toMatchObject({ 'caelus.io/instance': name, [INSTANCE_UID_LABEL]: first.metadata.uid });
    const secret = await core().readNamespacedSecret({ name: `${name}-secrets`, namespace: name });
    expect(Buffer.from(secret.data!['token']!, 'base64').toString()).toBe(OLD_TENANT_TOKEN);
    const pvcs = (await core().listNamespacedPersistentVolumeClaim({ namespace: name })).items.map((p) => p.metadata!.name);
    expect(pvcs.length).toBeGreaterThan(0);

    await deleteInstance(name);
    await gone(name);
    // Retained: the namespace and its volumes stay, the credentials Caelus put there do not.
    const kept = await core().readNamespace({ name });
    expect(kept.status?.phase).toBe('Active');
    await expect(core().readNamespacedSecret({ name: `${name}-secrets`, namespace: name })).rejects.toMatchObject({ code: 404 });
    expect((await core().listNamespacedPersistentVolumeClaim({ namespace: name })).items.map((p) => p.metadata!.name)).toEqual(pvcs);
    expect((await helmStatus(name)).exitCode).not.toBe(0);

    // Another tenant creates an instance with the same name: a clear conflict, nothing of the old namespace used.
    await createInstance(withId(instanceBody(name, shard, { userId: 'mallory', productTemplateVersion: 'webapp@1.0.0' })));
    const refused = await eventually(async () => {
      const i = await getInstance(name);
      return condition(i, ConditionType.Ready)?.reason === 'NamespaceConflict' ? i : undefined;
    }, 60_000);
    expect(refused.metadata.uid).not.toBe(first.metadata.uid);
    expect(condition(refused, ConditionType.Ready)?.message).toContain(`earlier instance named "${name}" (uid ${first.metadata.uid})`);
    expect((await core().readNamespace({ name })).metadata?.labels?.[INSTANCE_UID_LABEL]).toBe(first.metadata.uid);
    await expect(core().readNamespacedSecret({ name: `${name}-secrets`, namespace: name })).rejects.toMatchObject({ code: 404 });
    expect((await helmStatus(name)).exitCode).not.toBe(0);

    // Deleting the refused CR does not touch the namespace it never owned.
    await deleteInstance(name);
    await gone(name);
    expect((await core().readNamespace({ name })).status?.phase).toBe('Active');
    expect((await core().listNamespacedPersistentVolumeClaim({ namespace: name })).items.map((p) => p.metadata!.name)).toEqual(pvcs);
    await core().deleteNamespace({ name });
  });
});

describe('egress default-deny', () => {
  it('leaves a tenant pod no policy path to the API server, PostgreSQL or the metadata address', async () => {
    const name = uniqueName('egress');
    await createInstance(instanceBody(name, shard, { userId: 'u', productTemplateVersion: 'guarded@1.0.0' }));
    await waitReady(name);
    const policies = (await net().listNamespacedNetworkPolicy({ namespace: name })).items as PolicyLike[];
    expect(policies.map((p) => p.metadata!.name).sort()).toEqual([
      'caelus-allow-dns',
      'caelus-allow-ingress-controller',
      'caelus-allow-same-namespace',
      'caelus-default-deny',
      'caelus-template-egress',
      'caelus-template-rules',
    ]);
    // The real addresses of this control plane and database.
    const kubernetes = await core().readNamespacedService({ name: 'kubernetes', namespace: 'default' });
    const apiServer = new URL(testKubeConfig().getCurrentCluster()!.server);
    const db = new URL(process.env['DATABASE_URL'] ?? 'postgres://127.0.0.1:5432/x');
    const pod = { namespace: name, podLabels: { 'app.kubernetes.io/name': 'webapp' } };
    const denied: Array<[string, Destination]> = [
      ['kubernetes Service', { ip: kubernetes.spec!.clusterIP!, port: 443 }],
      ['kube-apiserver', { ip: apiServer.hostname, port: Number(apiServer.port) }],
      ['PostgreSQL', { ip: db.hostname === 'localhost' ? '127.0.0.1' : db.hostname, port: Number(db.port || 5432) }],
      ['metadata', { ip: '169.254.169.254', port: 80 }],
      ['declared range, other port', { ip: '203.0.113.10', port: 80 }],
    ];
    for (const [what, dest] of denied) expect({ what, ...egressVerdict(policies, pod, dest) }).toEqual({ what, isolated: true, allowedBy: [] });
    const allowed: Array<[string, Destination, string]> = [
      ['DNS', { pod: { namespace: 'kube-system', namespaceLabels: { 'kubernetes.io/metadata.name': 'kube-system' }, labels: { 'k8s-app': 'kube-dns' } }, port: 53, protocol: 'UDP' }, 'caelus-allow-dns'],
      ['own namespace', { pod: { namespace: name, namespaceLabels: { 'kubernetes.io/metadata.name': name }, labels: { app: 'redis' } }, port: 6379 }, 'caelus-allow-same-namespace'],
      ['declared egress', { ip: '203.0.113.10', port: 443 }, 'caelus-template-egress'],
    ];
    for (const [what, dest, by] of allowed) expect({ what, ...egressVerdict(policies, pod, dest) }).toEqual({ what, isolated: true, allowedBy: [by] });
  });
});
