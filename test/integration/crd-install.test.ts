// waitUntilUsable against the real API server: a just-created CRD, namespaced
// like Flux's, is waited for until it takes writes; the probe is a dry run
// that leaves nothing behind; a CRD that does not exist is a clear error.
import * as k8s from '@kubernetes/client-node';
import { waitUntilUsable } from '../../src/k8s/crds.ts';
import { testKubeConfig, uniqueName } from '../support/kube.ts';

describe('waitUntilUsable', () => {
  const kc = testKubeConfig();
  const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
  const objects = kc.makeApiClient(k8s.CustomObjectsApi);
  const group = `${uniqueName('probe')}.caelus-test.io`;
  const name = `widgets.${group}`;

  afterAll(async () => {
    await ext.deleteCustomResourceDefinition({ name }).catch(() => undefined);
  });

  it('returns once a new namespaced CRD takes writes, leaving no object behind', async () => {
    await ext.createCustomResourceDefinition({
      body: {
        metadata: { name },
        spec: {
          group,
          scope: 'Namespaced',
          names: { plural: 'widgets', singular: 'widget', kind: 'Widget' },
          versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', required: ['spec'], properties: { spec: { type: 'object', required: ['size'], properties: { size: { type: 'integer' } } } } } } }],
        },
      },
    });
    await waitUntilUsable(kc, name, 30_000);
    const created = await objects.createNamespacedCustomObject({ group, version: 'v1', plural: 'widgets', namespace: 'default', body: { apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name: 'w' }, spec: { size: 1 } } });
    expect(created).toMatchObject({ metadata: { name: 'w' } });
    const list = (await objects.listNamespacedCustomObject({ group, version: 'v1', plural: 'widgets', namespace: 'default' })) as { items: k8s.KubernetesObject[] };
    expect(list.items.map((o) => o.metadata?.name)).toEqual(['w']);
  });

  it('names the CRD when it does not exist', async () => {
    await expect(waitUntilUsable(kc, `missing.${group}`, 1_000)).rejects.toThrow(new RegExp(`missing\\.${group.replace(/\./g, '\\.')}`));
  });
});
