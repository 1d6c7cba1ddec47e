import type { Reason } from '../domain/instance.ts';

/**
 * A reconcile failure with the condition reason users see. `requeueAfterMs`
 * set means "retry at this pace, not with the error backoff": used for
 * problems only a human or another system fixes (a missing template version,
 * a namespace owned by someone else), where fast retries only add load.
 */
export class ReconcileError extends Error {
  readonly reason: Reason;
  readonly requeueAfterMs: number | undefined;
  constructor(reason: Reason, message: string, opts: { requeueAfterMs?: number; cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.name = 'ReconcileError';
    this.reason = reason;
    this.requeueAfterMs = opts.requeueAfterMs;
  }
}
