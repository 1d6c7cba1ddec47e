// Proves the test bed's helm works against the local control plane the way the
// operator will use it: install, read the manifest back, upgrade to revision 2.
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { execa } from 'execa';
import { parseAllDocuments } from 'yaml';
import { helmBin, testKubeConfig, uniqueName } from '../support/kube.ts';

const chart = fileURLToPath(new URL('../../charts/webapp', import.meta.url));

describe('helm against the local control plane', () => {
  const ns = uniqueName('helm');
  const release = 'web';
  const helm = (...args: string[]) =>
    execa(helmBin(), [...args, '--namespace', ns, '--kubeconfig', process.env['CAELUS_TEST_KUBECONFIG']!]);

  it('installs a chart into a new namespace, exposes its manifest, and upgrades to revision 2', async () => {
    await helm('upgrade', '--install', release, chart, '--create-namespace', '--set', 'message=first');

    const { stdout: manifest } = await helm('get', 'manifest', release);
    const objects = parseAllDocuments(manifest)
      .map((d) => d.toJSON() as k8s.KubernetesObject | null)
      .filter((o): o is k8s.KubernetesObject => !!o);
    expect(objects.map((o) => o.kind).sort()).toEqual(['ConfigMap', 'Deployment', 'PersistentVolumeClaim', 'Service']);

    const client = k8s.KubernetesObjectApi.makeApiClient(testKubeConfig());
    for (const o of objects) {
      const live = await client.read({
        apiVersion: o.apiVersion!,
        kind: o.kind!,
        metadata: { name: o.metadata!.name!, namespace: ns },
      });
      expect(live.metadata?.uid).toBeTruthy();
    }

    await helm('upgrade', '--install', release, chart, '--set', 'message=second');
    const { stdout: status } = await helm('status', release, '-o', 'json');
    const parsed = JSON.parse(status) as { version: number; info: { status: string } };
    expect(parsed.version).toBe(2);
    expect(parsed.info.status).toBe('deployed');
    const core = testKubeConfig().makeApiClient(k8s.CoreV1Api);
    const cm = await core.readNamespacedConfigMap({ name: `${release}-config`, namespace: ns });
    expect(cm.data?.['message']).toBe('second');
  });
});
