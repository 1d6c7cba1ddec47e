// The drift check right after helm applied a revision (DriftChecker's
// justApplied): objects whose only writer is helm's server-side apply are
// taken as clean without a dry run; anything another manager touched is still
// dry-run and found. Runs with the helm of this run: Helm 4 applies
// server-side (the shortcut), Helm 3 writes with Update (never the shortcut).
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { DriftChecker } from '../../src/drift/checker.ts';
import { ReleaseManifests, parseManifest } from '../../src/drift/release-manifest.ts';
import { RawObjectClient } from '../../src/k8s/raw-objects.ts';
import { testHelmClient, testKubeConfig, uniqueName } from '../support/kube.ts';

const expectedMajor = process.env['CAELUS_HELM_MAJOR'] === '3' ? 3 : 4;
const webapp = fileURLToPath(new URL('../../charts/webapp', import.meta.url));

describe(`drift check right after helm applied (Helm ${expectedMajor})`, () => {
  const kc = testKubeConfig();
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const helm = testHelmClient();
  const namespaces: string[] = [];
  const opts = { ignore: [], ignoreReplicas: false, full: false, justApplied: true };

  afterAll(async () => {
    for (const name of namespaces) await core.deleteNamespace({ name }).catch(() => undefined);
  });

  async function installed(): Promise<{ ns: string; objects: ReturnType<typeof parseManifest>; manifest: string }> {
    const ns = uniqueName('drift-applied');
    await core.createNamespace({ body: { metadata: { name: ns } } });
    namespaces.push(ns);
    const release = await helm.upgradeInstall({ release: 'web', namespace: ns, chart: { kind: 'local', path: webapp }, values: { message: 'original' }, timeoutSeconds: 60 });
    return { ns, objects: parseManifest(release.manifest, ns), manifest: release.manifest };
  }

  it('takes objects only helm has written as clean without a dry run (Helm 4), dry-runs each with Helm 3', async () => {
    const { objects } = await installed();
    const result = await new DriftChecker(new RawObjectClient(kc)).check(objects, opts);
    expect(result.drifted).toEqual([]);
    expect(result.dryRuns).toBe(expectedMajor === 4 ? 0 : objects.length);
  });

  it('still finds a change another manager made, and a periodic full check never takes the shortcut', async () => {
    const { ns, objects } = await installed();
    await core.patchNamespacedConfigMap(
      { name: 'web-config', namespace: ns, body: { data: { message: 'edited' } }, fieldManager: 'kubectl-edit' },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    const checker = new DriftChecker(new RawObjectClient(kc));
    const result = await checker.check(objects, opts);
    expect(result.drifted).toEqual([expect.objectContaining({ kind: 'ConfigMap', name: 'web-config', missing: false })]);

    const full = await checker.check(objects, { ...opts, full: true });
    expect(full.dryRuns).toBe(objects.length);
  });

  it("keeps the manifest helm printed, which is the one helm stored, and reads it back without a request", async () => {
    const { ns, manifest } = await installed();
    const stored = await new ReleaseManifests(kc, helm).get('web', ns, 1);
    const nowhere = new k8s.KubeConfig();
    nowhere.loadFromOptions({
      clusters: [{ name: 'c', server: 'https://127.0.0.1:1', skipTLSVerify: true }],
      users: [{ name: 'u', token: 'x' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    const refuse = { getManifest: async () => Promise.reject(new Error('helm must not be asked')) };
    const remembered = new ReleaseManifests(nowhere, refuse);
    remembered.remember('web', ns, 1, manifest);
    expect(await remembered.get('web', ns, 1)).toEqual(stored);
    // Another revision is not remembered: reading it needs the server (here: none).
    await expect(remembered.get('web', ns, 2)).rejects.toThrow();
  });
});
