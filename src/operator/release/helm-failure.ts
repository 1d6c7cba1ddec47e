import { Reason } from '../../domain/instance.ts';
import { describeViolations, type Violation } from '../../domain/kinds-policy.ts';
import { ReconcileError } from '../errors.ts';

// A refused manifest stays refused until someone edits the template or the
// values (which requeues at once): retrying sooner only burns helm processes.
export const FORBIDDEN_RETRY_MS = 300_000;

// HelmError reasons (src/helm) that users act on differently get their own
// condition reason; the rest say which operation failed.
const BY_HELM_REASON: Record<string, Reason> = {
  RenderFailed: Reason.RenderFailed,
  ChartNotFound: Reason.ChartNotFound,
  Timeout: Reason.Timeout,
  OperationInProgress: Reason.OperationInProgress,
};

/** The objects the post-renderer refused (HelmError PolicyViolation), empty for any other failure. */
export function policyViolations(err: unknown): readonly Violation[] {
  if (typeof err !== 'object' || err === null || !('violations' in err) || !Array.isArray(err.violations)) return [];
  return err.violations as Violation[];
}

export function helmFailure(err: unknown, fallback: Reason): ReconcileError {
  if (err instanceof ReconcileError) return err;
  const helmReason = typeof err === 'object' && err !== null && 'reason' in err ? String(err.reason) : undefined;
  const violations = policyViolations(err);
  if (helmReason === 'PolicyViolation' && violations.length > 0) {
    return new ReconcileError(Reason.ForbiddenResource, describeViolations(violations), { cause: err, requeueAfterMs: FORBIDDEN_RETRY_MS });
  }
  if (helmReason === 'Forbidden') {
    // The API server refused the tenant identity: the chart asked for more than the tenant role grants.
    const message = `the API server refused the tenant identity (the chart needs more than the allowed kinds in its namespace): ${err instanceof Error ? err.message : String(err)}`;
    return new ReconcileError(Reason.ForbiddenResource, message, { cause: err, requeueAfterMs: FORBIDDEN_RETRY_MS });
  }
  const reason = (helmReason && BY_HELM_REASON[helmReason]) || fallback;
  const message = err instanceof Error ? err.message : String(err);
  return new ReconcileError(reason, message, { cause: err });
}
