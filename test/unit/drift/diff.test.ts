import { driftedPointers, ignoreMatcher, normalizeManifestObject } from '../../../src/drift/diff.ts';
import { CorrectionLoopGuard } from '../../../src/drift/loop-guard.ts';
import { parseManifest } from '../../../src/drift/release-manifest.ts';
import { decodeHelmRelease } from '../../../src/helm/release-storage.ts';
import { gzipSync } from 'node:zlib';

const none = () => false;

describe('driftedPointers', () => {
  const manifest = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'w', labels: { a: '1' } }, spec: { replicas: 1, template: { spec: { containers: [{ name: 'c', image: 'x' }] } } } };
  const withDefaults = (replicas: number, image = 'x') => ({
    ...manifest,
    metadata: { name: 'w', labels: { a: '1', other: 'kept' }, resourceVersion: '5', managedFields: [] },
    spec: { replicas, strategy: { type: 'RollingUpdate' }, template: { spec: { containers: [{ name: 'c', image, imagePullPolicy: 'IfNotPresent' }] } } },
    status: { readyReplicas: 0 },
  });

  it('sees nothing when only defaults and other fields differ from the manifest', () => {
    expect(driftedPointers(manifest, withDefaults(1), { ...withDefaults(1), status: { readyReplicas: 3 } }, none)).toEqual([]);
  });

  it('reports the leaf pointers of changed fields the manifest sets', () => {
    expect(driftedPointers(manifest, withDefaults(1), withDefaults(4), none)).toEqual(['/spec/replicas']);
    expect(driftedPointers(manifest, withDefaults(1), withDefaults(1, 'evil'), none)).toEqual(['/spec/template/spec/containers/0/image']);
  });

  it('applies ignore rules by pointer prefix, kind and name', () => {
    const rules = [{ paths: ['/spec/replicas'], target: { kind: 'Deployment' } }, { paths: ['/data'], target: { kind: 'ConfigMap', name: 'other' } }];
    const matcher = ignoreMatcher(rules, { kind: 'Deployment', name: 'w' });
    expect(driftedPointers(manifest, withDefaults(1), withDefaults(4), matcher)).toEqual([]);
    expect(ignoreMatcher(rules, { kind: 'ConfigMap', name: 'cm' })('/data/x')).toBe(false);
    expect(ignoreMatcher(rules, { kind: 'ConfigMap', name: 'other' })('/data/x')).toBe(true);
  });

  it('compares Secrets in stored form (stringData folded into data)', () => {
    const s = normalizeManifestObject({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, stringData: { p: 'pw' } });
    expect(s).toEqual({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { p: Buffer.from('pw').toString('base64') } });
  });
});

describe('release manifest', () => {
  it('decodes Helm storage (base64 of gzip of JSON) and parses documents with the release namespace', () => {
    const stored = gzipSync(Buffer.from(JSON.stringify({ manifest: '---\nkind: ConfigMap\napiVersion: v1\nmetadata:\n  name: a\n' }))).toString('base64');
    const text = decodeHelmRelease(stored).manifest!;
    expect(parseManifest(text, 'ns')).toEqual([{ kind: 'ConfigMap', apiVersion: 'v1', metadata: { name: 'a', namespace: 'ns' } }]);
  });
});

describe('CorrectionLoopGuard', () => {
  it('trips after more than max corrections in the window and recovers after the cool-down', () => {
    let now = 0;
    const guard = new CorrectionLoopGuard({ max: 2, windowMs: 1000, cooldownMs: 5000, now: () => now });
    expect(guard.record('a')).toBe(false);
    expect(guard.record('a')).toBe(false);
    expect(guard.record('a')).toBe(true);
    expect(guard.tripped('a')).toBe(true);
    expect(guard.tripped('b')).toBe(false);
    now = 6000;
    expect(guard.tripped('a')).toBe(false);
  });
});
