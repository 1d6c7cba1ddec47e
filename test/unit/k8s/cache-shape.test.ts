import { LAST_APPLIED_ANNOTATION, metadataSummary, onlyStatusChanged, slimForCache, type MetadataSummary } from '../../../src/k8s/cache-shape.ts';

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

  it('a metadata-only watcher keeps identity, resourceVersion, generation, labels and a digest of the rest under the watched kind', () => {
    const partial = { apiVersion: 'meta.k8s.io/v1', kind: 'PartialObjectMetadata', metadata: deployment().metadata };
    const summary = metadataSummary(partial, { apiVersion: 'apps/v1', kind: 'Deployment' });
    expect(summary).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'tenant-a', uid: 'u-1', resourceVersion: '42', generation: 3, labels: { 'caelus.io/instance': 'a' } },
      metadataDigest: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
    });
    // The annotations themselves are not kept: a tenant can make them large.
    expect(JSON.stringify(summary)).not.toContain('spec-version');
    expect(metadataSummary({ metadata: { name: 'cluster-wide' } }, { apiVersion: 'v1', kind: 'Namespace' })).toEqual({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'cluster-wide' },
    });
  });
});

describe('onlyStatusChanged: which watched updates cannot have changed what a release applied', () => {
  const summary = (meta: Record<string, unknown>): MetadataSummary =>
    metadataSummary({ metadata: { name: 'web', namespace: 'tenant-a', resourceVersion: '1', generation: 3, labels: { 'caelus.io/instance': 'a' }, ...meta } }, { apiVersion: 'apps/v1', kind: 'Deployment' });
  const before = summary({ annotations: { 'deployment.kubernetes.io/revision': '1' } });

  it.each([
    ['a status write (same generation and metadata)', true, { resourceVersion: '2', annotations: { 'deployment.kubernetes.io/revision': '1' } }],
    ['a spec change (generation bumped)', false, { resourceVersion: '2', generation: 4, annotations: { 'deployment.kubernetes.io/revision': '1' } }],
    ['an annotation edited', false, { resourceVersion: '2', annotations: { 'deployment.kubernetes.io/revision': '2' } }],
    ['an annotation removed', false, { resourceVersion: '2' }],
    ['a label added', false, { resourceVersion: '2', labels: { 'caelus.io/instance': 'a', extra: 'x' }, annotations: { 'deployment.kubernetes.io/revision': '1' } }],
    ['a label changed', false, { resourceVersion: '2', labels: { 'caelus.io/instance': 'b' }, annotations: { 'deployment.kubernetes.io/revision': '1' } }],
    ['a finalizer added', false, { resourceVersion: '2', finalizers: ['x'], annotations: { 'deployment.kubernetes.io/revision': '1' } }],
    ['an owner reference added', false, { resourceVersion: '2', ownerReferences: [{ kind: 'X', name: 'x', uid: 'u', apiVersion: 'v1' }], annotations: { 'deployment.kubernetes.io/revision': '1' } }],
    ['deletion started', false, { resourceVersion: '2', deletionTimestamp: '2026-12-07T00:00:00Z', annotations: { 'deployment.kubernetes.io/revision': '1' } }],
  ])('%s → only status: %s', (_, expected, meta) => {
    expect(onlyStatusChanged(before, summary(meta))).toBe(expected);
  });

  it('a kind without generation (ConfigMap, Service, RoleBinding) counts every write, and so does an update with no cached copy', () => {
    const noGeneration = (rv: string) => metadataSummary({ metadata: { name: 'cm', resourceVersion: rv, labels: { a: 'b' } } }, { apiVersion: 'v1', kind: 'ConfigMap' });
    expect(onlyStatusChanged(noGeneration('1'), noGeneration('2'))).toBe(false);
    expect(onlyStatusChanged(undefined, summary({ resourceVersion: '2' }))).toBe(false);
  });
});
