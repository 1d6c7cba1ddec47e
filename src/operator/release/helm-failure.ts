import { Reason } from '../../domain/instance.ts';
import { describeViolations, type Violation } from '../../domain/kinds-policy.ts';
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

// A refused manifest stays refused until someone edits the template or the
// values (which requeues at once): retrying sooner only burns helm processes.
export const FORBIDDEN_RETRY_MS = 300_000;

/** The objects the post-renderer refused (HelmError PolicyViolation), empty for any other failure. */
export function policyViolations(err: unknown): readonly Violation[] {
  return err instanceof HelmError && err.reason === HelmErrorReason.PolicyViolation ? (err.violations as Violation[]) : [];
}

export function helmFailure(err: unknown, fallback: Reason): ReconcileError {
  if (err instanceof ReconcileError) return err;
  const violations = policyViolations(err);
  if (violations.length > 0) {
    return new ReconcileError(Reason.ForbiddenResource, describeViolations(violations), { cause: err, requeueAfterMs: FORBIDDEN_RETRY_MS });
  }
  if (err instanceof HelmError && err.reason === HelmErrorReason.Forbidden) {
    // The API server refused the tenant identity: the chart asked for more than the tenant role grants.
    const message = `the API server refused the tenant identity (the chart needs more than the allowed kinds in its namespace): ${err.message}`;
    return new ReconcileError(Reason.ForbiddenResource, message, { cause: err, requeueAfterMs: FORBIDDEN_RETRY_MS });
  }
  // A release record helm did not write (it does not decode): say which one, and that a human must remove it.
  if (err instanceof ReleaseRecordError) {
    return new ReconcileError(Reason.ReleaseTampered, `${err.message}; it was not written by helm: remove it`, { cause: err, requeueAfterMs: TAMPERED_RETRY_MS });
  }
  const reason = (err instanceof HelmError && BY_HELM_REASON[err.reason]) || fallback;
  const message = err instanceof Error ? err.message : String(err);
  return new ReconcileError(reason, message, { cause: err });
}
