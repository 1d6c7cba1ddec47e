import { gzipSync } from 'node:zlib';
import { ReleaseRecordError, readReleaseManifest } from '../../../src/helm/release-storage.ts';
import { helmFailure } from '../../../src/operator/release/helm-failure.ts';

// Secret.data holds base64 of what helm stores: base64(gzip(JSON)).
const secretData = (payload: Buffer) => Buffer.from(payload.toString('base64')).toString('base64');

describe('release records read from helm Secrets', () => {
  it('returns the manifest of a record helm wrote', () => {
    const data = secretData(gzipSync(Buffer.from(JSON.stringify({ name: 'web', version: 1, manifest: 'kind: ConfigMap' }))));
    expect(readReleaseManifest('ns', 'sh.helm.release.v1.web.v1', data)).toBe('kind: ConfigMap');
  });

  it.each([
    ['no release key', undefined, 'it has no release key'],
    ['not gzip and not JSON', secretData(Buffer.from('not helm data')), 'it is not a JSON release object'],
    ['truncated gzip', secretData(gzipSync(Buffer.from('{"manifest":"x"}')).subarray(0, 12)), 'it is not gzip-compressed release data'],
    ['JSON without a manifest', secretData(gzipSync(Buffer.from('{"name":"web"}'))), 'its release object has no manifest'],
  ])('%s → ReleaseRecordError naming the Secret', (_name, data, problem) => {
    let err: unknown;
    try {
      readReleaseManifest('tenant', 'sh.helm.release.v1.web.v9', data);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ReleaseRecordError);
    expect((err as Error).message).toBe(`release record sh.helm.release.v1.web.v9 in namespace tenant cannot be read: ${problem}`);
    // What the instance shows: ReleaseTampered with the record's name, retried slowly.
    const failure = helmFailure(err, 'ReconcileError');
    expect(failure.reason).toBe('ReleaseTampered');
    expect(failure.message).toContain('sh.helm.release.v1.web.v9');
    expect(failure.requeueAfterMs).toBe(300_000);
  });
});
