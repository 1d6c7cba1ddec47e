import { Reason } from '../../domain/instance.ts';
import { ReconcileError } from '../errors.ts';

// HelmError reasons (src/helm) that users act on differently get their own
// condition reason; the rest say which operation failed.
const BY_HELM_REASON: Record<string, Reason> = {
  RenderFailed: Reason.RenderFailed,
  ChartNotFound: Reason.ChartNotFound,
  Timeout: Reason.Timeout,
  OperationInProgress: Reason.OperationInProgress,
};

export function helmFailure(err: unknown, fallback: Reason): ReconcileError {
  if (err instanceof ReconcileError) return err;
  const helmReason = typeof err === 'object' && err !== null && 'reason' in err ? String(err.reason) : undefined;
  const reason = (helmReason && BY_HELM_REASON[helmReason]) || fallback;
  const message = err instanceof Error ? err.message : String(err);
  return new ReconcileError(reason, message, { cause: err });
}
