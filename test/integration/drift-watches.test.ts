// Drift watches against the real API server: a create or a status write by a
// controller does not name the instance for a check; a spec, label or
// annotation change, or a delete, does.
import * as k8s from '@kubernetes/client-node';
import { DriftWatches, type WatchedChange } from '../../src/drift/watches.ts';
import { INSTANCE_LABEL } from '../../src/domain/instance.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { eventually, testKubeConfig, uniqueName } from '../support/kube.ts';
import { SHARD_LABEL } from '../support/operator.ts';

const GVP = { group: 'caelus.io', version: 'v1', plural: 'caelusinstances' };
const merge = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

describe('DriftWatches against the control plane', () => {
  const kc = testKubeConfig();
  const objects = kc.makeApiClient(k8s.CustomObjectsApi);
  const name = uniqueName('dw');
  const selector = `${SHARD_LABEL}=${name}`;
  const changes: WatchedChange[] = [];
  let watches: DriftWatches | undefined;

  afterAll(async () => {
    await watches?.stop();
    await objects.deleteClusterCustomObject({ ...GVP, name }).catch(() => undefined);
  });

  it('ignores adds and status-only writes of a kind with a generation; reports spec, label and annotation changes and deletes', async () => {
    // A custom resource keeps a generation and a status subresource, like a Deployment, and no controller here writes it.
    // Its shard label matches no operator, so only this test's watch sees it.
    await objects.createClusterCustomObject({
      ...GVP,
      body: { apiVersion: 'caelus.io/v1', kind: 'CaelusInstance', metadata: { name, labels: { [INSTANCE_LABEL]: name, [SHARD_LABEL]: name } }, spec: { userId: 'u', productTemplateVersion: 'webapp@1.0.0' } },
    });
    watches = new DriftWatches(kc, [{ apiVersion: 'caelus.io/v1', kind: 'CaelusInstance', plural: 'caelusinstances' }], silentLogger(), { labelSelector: selector }, (c) => changes.push(c));
    await watches.start();
    // The initial list names no instance: only changes to existing objects can be drift.
    expect(changes).toEqual([]);

    const rv = (o: unknown) => (o as k8s.KubernetesObject).metadata?.resourceVersion;
    const status = await objects.patchClusterCustomObjectStatus({ ...GVP, name, body: { status: { phase: 'Running' } } }, merge);
    const status2 = await objects.patchClusterCustomObjectStatus({ ...GVP, name, body: { status: { phase: 'Failed' } } }, merge);
    const spec = await objects.patchClusterCustomObject({ ...GVP, name, body: { spec: { userId: 'v' } } }, merge);
    const label = await objects.patchClusterCustomObject({ ...GVP, name, body: { metadata: { labels: { extra: 'x' } } } }, merge);
    const annotation = await objects.patchClusterCustomObject({ ...GVP, name, body: { metadata: { annotations: { note: 'y' } } } }, merge);
    const status3 = await objects.patchClusterCustomObjectStatus({ ...GVP, name, body: { status: { phase: 'Running' } } }, merge);
    const last = await objects.patchClusterCustomObject({ ...GVP, name, body: { metadata: { annotations: { note: 'z' } } } }, merge);
    // Events of one object arrive in order: once the last write's is here, every earlier one has been seen or skipped.
    await eventually(async () => (changes.some((c) => c.resourceVersion === rv(last)) ? true : undefined), 10_000, 20);
    const updates = changes.filter((c) => c.type === 'update').map((c) => c.resourceVersion);
    expect(updates).toEqual([rv(spec), rv(label), rv(annotation), rv(last)]);
    for (const skipped of [status, status2, status3]) expect(updates).not.toContain(rv(skipped));

    await objects.deleteClusterCustomObject({ ...GVP, name });
    await eventually(async () => (changes.some((c) => c.type === 'delete' && c.instance === name) ? true : undefined), 10_000, 20);
    // Created again (as helm or a restore would): no check for that.
    await objects.createClusterCustomObject({
      ...GVP,
      body: { apiVersion: 'caelus.io/v1', kind: 'CaelusInstance', metadata: { name, labels: { [INSTANCE_LABEL]: name, [SHARD_LABEL]: name } }, spec: { userId: 'u', productTemplateVersion: 'webapp@1.0.0' } },
    });
    const marker = await objects.patchClusterCustomObject({ ...GVP, name, body: { metadata: { annotations: { note: 'after' } } } }, merge);
    await eventually(async () => (changes.some((c) => c.resourceVersion === rv(marker)) ? true : undefined), 10_000, 20);
    expect(changes.map((c) => c.type)).toEqual(['update', 'update', 'update', 'update', 'delete', 'update']);
  });
});
