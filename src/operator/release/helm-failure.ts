import { Reason } from '../../domain/instance.ts';
import { HelmError, HelmErrorReason } from '../../helm/errors.ts';
import { ReleaseRecordError } from '../../helm/release-storage.ts';
import { ReconcileError } from '../errors.ts';

// HelmError reasons that users act on differently get their own condition
// reason; the rest say which operation failed.
const BY_HELM_REASON: Partial<Record<HelmErrorReason, Reason>> = {
  [HelmErrorReason.RenderFailed]: Reason.RenderFailed,
  [HelmErrorReason.ChartNotFound]: Reason.ChartNotFound,
  [HelmErrorReason.Timeout]: Reason.Timeout,
  [HelmErrorReason.OperationInProgress]: Reason.OperationInProgress,
};

// A tampered record stays tampered until a human removes it: polling faster only adds load.
export const TAMPERED_RETRY_MS = 300_000;

export function helmFailure(err: unknown, fallback: Reason): ReconcileError {
  if (err instanceof ReconcileError) return err;
  // A release record helm did not write (it does not decode): say which one, and that a human must remove it.
  if (err instanceof ReleaseRecordError) {
    return new ReconcileError(Reason.ReleaseTampered, `${err.message}; it was not written by helm: remove it`, { cause: err, requeueAfterMs: TAMPERED_RETRY_MS });
  }
  const reason = (err instanceof HelmError && BY_HELM_REASON[err.reason]) || fallback;
  const message = err instanceof Error ? err.message : String(err);
  return new ReconcileError(reason, message, { cause: err });
}
