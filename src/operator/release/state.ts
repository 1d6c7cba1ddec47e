// Observe, then choose one action: the release half of the reconcile, after
// Flux helm-controller's state/action split (internal/reconcile/state.go,
// atomic_release.go). The observation carries everything the choice needs,
// so the choice is pure and the whole decision table is one unit test.
//
// Rollback after a failed upgrade is not a decision of ours: helm's own flag
// (--atomic / --rollback-on-failure, CAELUS_HELM_ROLLBACK_ON_FAILURE) rolls
// back inside the same helm process. The only rollback Caelus runs itself is
// Unlock's, for a release a dead helm left pending-*.
import type { DriftMode } from '../../domain/instance.ts';
import type { HelmReleaseState } from '../ports.ts';
import type { StoredManifestVerdict } from '../kinds-policy.ts';

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
  None: 'None',
  Install: 'Install',
  Upgrade: 'Upgrade',
  /** Roll a stuck release back to its last good revision (or uninstall it). Leader only. */
  Unlock: 'Unlock',
  /** Locked, but another replica leads and may own a live helm operation: come back later. */
  AwaitLeader: 'AwaitLeader',
  /** Re-apply the drifted objects from the release manifest. */
  CorrectDrift: 'CorrectDrift',
  /** Drifted, and either mode warn or the loop guard says stop correcting: report only. */
  ReportDrift: 'ReportDrift',
  /** The stored manifest the next action would apply fails the kinds policy: report, apply nothing. */
  ReportTampered: 'ReportTampered',
} as const;
export type ReleaseAction = (typeof ReleaseAction)[keyof typeof ReleaseAction];

export interface DriftObservation {
  mode: DriftMode;
  /** Undefined when no check ran (disabled, or the manifest was not trusted). */
  drifted?: boolean;
  /** The correction loop guard is tripped for this instance. */
  loopGuardTripped: boolean;
}

/** Everything the decision needs, observed before each action. */
export interface ReleaseObservation {
  state: ReleaseState;
  /** This replica holds the leader lease. */
  leader: boolean;
  /**
   * The policy's verdict on the stored manifest the next action would apply
   * (Unlock's rollback target, or the manifest drift correction re-applies);
   * undefined when no stored manifest is involved.
   */
  storedManifest?: StoredManifestVerdict;
  /** Observed only once the release is in sync (the drift step). */
  drift?: DriftObservation;
}

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

/**
 * The status proves the release was deployed from exactly the desired inputs
 * into this namespace: InSync without asking helm (steady state spawns no
 * helm process and reads no release record).
 */
export function provenInSync(
  status: { namespace?: string; release?: { appliedDigest?: string; status?: string } } | undefined,
  desiredDigest: string,
  namespace: string,
): boolean {
  const last = status?.release;
  return last?.appliedDigest === desiredDigest && last.status === 'deployed' && status?.namespace === namespace;
}

/**
 * The decision table. The caller observes again after every action and never
 * runs the same action twice in one reconcile (Flux's rule, in place of a
 * round counter): an action that did not move the release on will not do so
 * by repeating it.
 */
export function chooseAction(o: ReleaseObservation): ReleaseAction {
  // Nothing from a record that fails the policy is ever applied, whatever else holds.
  if (o.storedManifest && !o.storedManifest.trusted) return ReleaseAction.ReportTampered;
  switch (o.state) {
    case ReleaseState.Absent:
      return ReleaseAction.Install;
    case ReleaseState.Locked:
      return o.leader ? ReleaseAction.Unlock : ReleaseAction.AwaitLeader;
    case ReleaseState.Failed:
    case ReleaseState.OutOfSync:
      return ReleaseAction.Upgrade;
    case ReleaseState.InSync: {
      const drift = o.drift;
      if (!drift?.drifted) return ReleaseAction.None;
      if (drift.mode === 'warn' || drift.loopGuardTripped) return ReleaseAction.ReportDrift;
      return drift.mode === 'enabled' ? ReleaseAction.CorrectDrift : ReleaseAction.None;
    }
  }
}

/**
 * The revision a locked release goes back to: the newest deployed or
 * superseded one below the pending revision. Undefined means it never got
 * deployed, so unlocking is an uninstall.
 */
export function unlockTarget(history: ReadonlyArray<{ revision: number; status: string }>, pendingRevision: number): number | undefined {
  return history
    .filter((h) => h.revision < pendingRevision && (h.status === 'deployed' || h.status === 'superseded'))
    .map((h) => h.revision)
    .sort((a, b) => b - a)[0];
}
