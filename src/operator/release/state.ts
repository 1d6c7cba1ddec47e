// Observe, then choose one action: the release half of the reconcile, after
// Flux helm-controller's state/action split. Pure, so the whole decision
// table is a unit test.
import type { HelmReleaseState } from '../ports.ts';

export const ReleaseState = {
  /** No release (never installed, or uninstalled). */
  Absent: 'Absent',
  /** A pending-* (or uninstalling) release: an operation was interrupted or is running. */
  Locked: 'Locked',
  /** The last operation failed. */
  Failed: 'Failed',
  /** Deployed, but from other inputs than the desired ones. */
  OutOfSync: 'OutOfSync',
  /** Deployed from exactly the desired inputs. */
  InSync: 'InSync',
} as const;
export type ReleaseState = (typeof ReleaseState)[keyof typeof ReleaseState];

export const ReleaseAction = {
  Install: 'Install',
  Upgrade: 'Upgrade',
  Unlock: 'Unlock',
  None: 'None',
} as const;
export type ReleaseAction = (typeof ReleaseAction)[keyof typeof ReleaseAction];

const DIGEST_PREFIX = 'caelus-digest=';

/** The release description carries the digest of the inputs it was made from, so state survives a lost CR status. */
export function describeDigest(digest: string): string {
  return `${DIGEST_PREFIX}${digest}`;
}

export function digestFromDescription(description: string | undefined): string | undefined {
  if (!description?.startsWith(DIGEST_PREFIX)) return undefined;
  return description.slice(DIGEST_PREFIX.length).split(/\s/)[0];
}

export function classifyRelease(release: HelmReleaseState | undefined, desiredDigest: string): ReleaseState {
  if (!release) return ReleaseState.Absent;
  const status = release.status;
  if (status.startsWith('pending-') || status === 'uninstalling') return ReleaseState.Locked;
  if (status === 'uninstalled') return ReleaseState.Absent;
  if (status === 'failed') return ReleaseState.Failed;
  if (status === 'deployed') {
    return digestFromDescription(release.description) === desiredDigest ? ReleaseState.InSync : ReleaseState.OutOfSync;
  }
  // superseded/unknown as the latest revision should not happen; upgrading rewrites it.
  return ReleaseState.OutOfSync;
}

export function chooseAction(state: ReleaseState): ReleaseAction {
  switch (state) {
    case ReleaseState.Absent:
      return ReleaseAction.Install;
    case ReleaseState.Locked:
      return ReleaseAction.Unlock;
    case ReleaseState.Failed:
    case ReleaseState.OutOfSync:
      return ReleaseAction.Upgrade;
    case ReleaseState.InSync:
      return ReleaseAction.None;
  }
}

/**
 * The revision a locked release goes back to: the newest deployed or
 * superseded one below the pending revision. Undefined means it never got
 * deployed, so unlocking is an uninstall.
 */
export function unlockTarget(history: Array<{ revision: number; status: string }>, pendingRevision: number): number | undefined {
  return history
    .filter((h) => h.revision < pendingRevision && (h.status === 'deployed' || h.status === 'superseded'))
    .map((h) => h.revision)
    .sort((a, b) => b - a)[0];
}
