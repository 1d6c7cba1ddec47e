import { DataError } from '../db/errors.ts';
import { KubeApiError } from '../k8s/errors.ts';
import type { Reason } from '../domain/instance.ts';

/**
 * A reconcile failure with the condition reason users see. `requeueAfterMs`
 * set means "retry at this pace, not with the error backoff": used for
 * problems only a human or another system fixes (a missing template version,
 * a namespace owned by someone else), where fast retries only add load.
 * `transient` means nothing is wrong with the instance: a dependency (the
 * database, the API server) failed and will come back, so the instance is not
 * `Failed` and is retried with a short per-item backoff.
 */
export class ReconcileError extends Error {
  readonly reason: Reason;
  readonly requeueAfterMs: number | undefined;
  readonly transient: boolean;
  constructor(reason: Reason, message: string, opts: { requeueAfterMs?: number; cause?: unknown; transient?: boolean } = {}) {
    super(message, { cause: opts.cause });
    this.name = 'ReconcileError';
    this.reason = reason;
    this.requeueAfterMs = opts.requeueAfterMs;
    this.transient = opts.transient ?? false;
  }
}

// Data errors that say the database is sick, not that the data is wrong
// (DATABASE is any driver error we have no class for, e.g. 55000 "database
// is not currently accepting connections").
const TRANSIENT_DATA_CODES: ReadonlySet<string> = new Set(['DATABASE_UNAVAILABLE', 'STATEMENT_TIMEOUT', 'DATABASE']);
const TRANSIENT_NET_CODES: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT']);

/**
 * Whether an error is an outage of something the operator depends on rather
 * than a problem of the instance: retry soon, do not mark it Failed.
 * API server: no response, 5xx, 429 (throttled) and 409 (someone else wrote
 * first) all clear up by themselves.
 */
export function isTransientError(err: unknown): boolean {
  if (err instanceof ReconcileError) return err.transient;
  if (err instanceof DataError) return TRANSIENT_DATA_CODES.has(err.code);
  if (err instanceof KubeApiError) return err.statusCode === 0 || err.statusCode >= 500 || err.statusCode === 429 || err.isConflict;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && TRANSIENT_NET_CODES.has(code);
}
