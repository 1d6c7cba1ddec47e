// Which failures are an outage of a dependency (retry soon, never Failed)
// and which are the instance's own problem (issue 14 point 8).
import { DataError, DatabaseUnavailableError, ValidationError, SecretDecryptionError } from '../../../src/db/errors.ts';
import { Reason } from '../../../src/domain/instance.ts';
import { KubeApiError } from '../../../src/k8s/errors.ts';
import { ReconcileError, isTransientError } from '../../../src/operator/errors.ts';

const kube = (status: number, reason?: string) => new KubeApiError({ operation: 'apply', kind: 'ResourceQuota' }, status, reason, 'x');

describe('isTransientError', () => {
  it.each<[string, unknown]>([
    ['database unreachable', new DatabaseUnavailableError('database unavailable: connect ECONNREFUSED')],
    ['database refusing connections (55000)', new DataError('DATABASE', 'database error 55000: database "x" is not currently accepting connections', { code: '55000' })],
    ['statement timeout', new DataError('STATEMENT_TIMEOUT', 'statement cancelled')],
    ['API server unreachable', kube(0)],
    ['API server 503', kube(503, 'ServiceUnavailable')],
    ['API server throttling', kube(429, 'TooManyRequests')],
    ['a write conflict', kube(409, 'Conflict')],
    ['a raw socket error', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })],
    ['a ReconcileError marked transient', new ReconcileError(Reason.Progressing, 'waiting', { transient: true })],
  ])('%s is transient', (_what, err) => {
    expect(isTransientError(err)).toBe(true);
  });

  it.each<[string, unknown]>([
    ['invalid input', new ValidationError('values', 'bad')],
    ['a secret that cannot be decrypted', new SecretDecryptionError('bad key')],
    ['a forbidden write', kube(403, 'Forbidden')],
    ['an invalid object', kube(422, 'Invalid')],
    ['AlreadyExists', kube(409, 'AlreadyExists')],
    ['a plain error', new Error('boom')],
    ['a ReconcileError with a reason', new ReconcileError(Reason.TierNotAllowed, 'no')],
  ])('%s is not', (_what, err) => {
    expect(isTransientError(err)).toBe(false);
  });
});
