import { LAST_APPLIED_ANNOTATION, labelsOnly, slimForCache } from '../../../src/k8s/cache-shape.ts';

const deployment = () => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: {
    name: 'web',
    namespace: 'tenant-a',
    uid: 'u-1',
    resourceVersion: '42',
    generation: 3,
    labels: { 'caelus.io/instance': 'a' },
    annotations: { [LAST_APPLIED_ANNOTATION]: '{"big":"copy"}', 'caelus.io/spec-version': '7' },
    managedFields: [{ manager: 'helm', operation: 'Apply', fieldsV1: { 'f:spec': {} } }],
  },
  spec: { replicas: 2 },
  status: { readyReplicas: 2 },
});

describe('what informer caches keep', () => {
  it('drops managedFields and the last-applied annotation, keeps everything a reader uses', () => {
    const obj = slimForCache(deployment());
    expect(obj.metadata.managedFields).toBeUndefined();
    expect(obj.metadata.annotations).toEqual({ 'caelus.io/spec-version': '7' });
    expect(obj.metadata).toMatchObject({ name: 'web', namespace: 'tenant-a', uid: 'u-1', resourceVersion: '42', generation: 3, labels: { 'caelus.io/instance': 'a' } });
    expect(obj.spec).toEqual({ replicas: 2 });
    expect(obj.status).toEqual({ readyReplicas: 2 });
  });

  it('leaves no empty annotations behind and accepts objects without metadata', () => {
    const obj = deployment();
    obj.metadata.annotations = { [LAST_APPLIED_ANNOTATION]: '{}' } as typeof obj.metadata.annotations;
    expect('annotations' in slimForCache(obj).metadata).toBe(false);
    expect(slimForCache({ apiVersion: 'v1', kind: 'Status' })).toEqual({ apiVersion: 'v1', kind: 'Status' });
  });

  it('a metadata-only watcher keeps identity, resourceVersion and labels under the watched kind', () => {
    const partial = { apiVersion: 'meta.k8s.io/v1', kind: 'PartialObjectMetadata', metadata: deployment().metadata };
    expect(labelsOnly(partial, { apiVersion: 'apps/v1', kind: 'Deployment' })).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'tenant-a', uid: 'u-1', resourceVersion: '42', labels: { 'caelus.io/instance': 'a' } },
    });
    expect(labelsOnly({ metadata: { name: 'cluster-wide' } }, { apiVersion: 'v1', kind: 'Namespace' })).toEqual({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'cluster-wide' },
    });
  });
});
