import { ApiException } from '@kubernetes/client-node';
import { KubeApiError, isAlreadyExists, isConflict, isNotFound, toKubeApiError } from '../../../src/k8s/errors.ts';

const status = (code: number, reason: string, message: string): string =>
  JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message });

describe('toKubeApiError', () => {
  const target = { operation: 'apply', apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'ns', name: 'web' };

  it('keeps status code, reason and the API server message from an ApiException body', () => {
    const ex = new ApiException(409, 'Unsuccessful HTTP Request', status(409, 'Conflict', 'the object has been modified'), {});
    const err = toKubeApiError(ex, target);
    expect(err).toBeInstanceOf(KubeApiError);
    expect(err).toMatchObject({ statusCode: 409, reason: 'Conflict', apiMessage: 'the object has been modified' });
    expect(err.message).toBe('apply apps/v1 Deployment ns/web failed: HTTP 409 Conflict: the object has been modified');
    expect(err.cause).toBe(ex);
    expect(isConflict(err)).toBe(true);
    expect(isConflict(ex)).toBe(true);
    expect(isAlreadyExists(err)).toBe(false);
  });

  it('tells AlreadyExists from Conflict and recognises 404 in both forms', () => {
    const exists = new ApiException(409, 'x', status(409, 'AlreadyExists', 'exists'), {});
    expect(isAlreadyExists(exists)).toBe(true);
    expect(isConflict(exists)).toBe(false);
    const gone = new ApiException(404, 'x', status(404, 'NotFound', 'not found'), {});
    expect(isNotFound(gone)).toBe(true);
    expect(isNotFound(toKubeApiError(gone, target))).toBe(true);
  });

  it('keeps a non-JSON body as the message and maps network errors to status 0', () => {
    const html = toKubeApiError(new ApiException(502, 'x', '<html>bad gateway</html>', {}), target);
    expect(html).toMatchObject({ statusCode: 502, apiMessage: '<html>bad gateway</html>' });
    const refused = toKubeApiError(new TypeError('fetch failed'), { operation: 'get' });
    expect(refused).toMatchObject({ statusCode: 0, apiMessage: 'fetch failed' });
    expect(refused.message).toBe('get failed: no response: fetch failed');
    expect(toKubeApiError(refused, target)).toBe(refused);
  });
});

