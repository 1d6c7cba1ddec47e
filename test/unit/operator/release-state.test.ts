import type { HelmReleaseState } from '../../../src/operator/ports.ts';
import {
  ReleaseAction,
  ReleaseState,
  chooseAction,
  classifyRelease,
  describeDigest,
  provenInSync,
  unlockTarget,
  type ReleaseObservation,
} from '../../../src/operator/release/state.ts';
import type { StoredManifestVerdict } from '../../../src/operator/kinds-policy.ts';

const digest = 'sha256:abc';
const rel = (status: HelmReleaseState['status'], description = describeDigest(digest)): HelmReleaseState => ({ revision: 3, status, description });

const trusted: StoredManifestVerdict = { trusted: true };
const tampered: StoredManifestVerdict = {
  trusted: false,
  revision: 2,
  violations: [{ reason: 'ClusterScoped', kind: 'ClusterRoleBinding', name: 'pwn', message: 'ClusterRoleBinding/pwn: cluster-scoped' }],
};

describe('classifyRelease: helm storage → state', () => {
  it.each<[string, HelmReleaseState | undefined, ReleaseState]>([
    ['no release', undefined, ReleaseState.Absent],
    ['pending-install', rel('pending-install'), ReleaseState.Locked],
    ['pending-upgrade', rel('pending-upgrade'), ReleaseState.Locked],
    ['pending-rollback', rel('pending-rollback'), ReleaseState.Locked],
    ['uninstalling', rel('uninstalling'), ReleaseState.Locked],
    ['uninstalled (kept history)', rel('uninstalled'), ReleaseState.Absent],
    ['failed', rel('failed'), ReleaseState.Failed],
    ['deployed, same digest', rel('deployed'), ReleaseState.InSync],
    ['deployed, other digest', rel('deployed', describeDigest('sha256:old')), ReleaseState.OutOfSync],
    ['deployed by hand (no digest)', rel('deployed', 'Upgrade complete'), ReleaseState.OutOfSync],
    ['superseded as the latest', rel('superseded'), ReleaseState.OutOfSync],
  ])('%s → %s', (_name, release, state) => {
    expect(classifyRelease(release, digest)).toBe(state);
  });
});

describe('chooseAction: the whole decision table', () => {
  const o = (state: ReleaseState, rest: Partial<ReleaseObservation> = {}): ReleaseObservation => ({ state, leader: true, ...rest });
  const drift = (mode: 'enabled' | 'warn' | 'disabled', drifted: boolean | undefined, loopGuardTripped = false) => ({
    drift: { mode, ...(drifted === undefined ? {} : { drifted }), loopGuardTripped },
  });

  it.each<[string, ReleaseObservation, ReleaseAction]>([
    ['absent', o(ReleaseState.Absent), ReleaseAction.Install],
    ['absent, not leading (install needs no lease)', o(ReleaseState.Absent, { leader: false }), ReleaseAction.Install],
    ['failed', o(ReleaseState.Failed), ReleaseAction.Upgrade],
    ['out of sync', o(ReleaseState.OutOfSync), ReleaseAction.Upgrade],
    ['locked, leading, no earlier revision to go back to', o(ReleaseState.Locked), ReleaseAction.Unlock],
    ['locked, leading, rollback target passes the policy', o(ReleaseState.Locked, { storedManifest: trusted }), ReleaseAction.Unlock],
    ['locked, leading, rollback target fails the policy', o(ReleaseState.Locked, { storedManifest: tampered }), ReleaseAction.ReportTampered],
    ['locked, another replica leads', o(ReleaseState.Locked, { leader: false }), ReleaseAction.AwaitLeader],
    ['in sync, drift not observed yet (release step)', o(ReleaseState.InSync), ReleaseAction.None],
    ['in sync, no drift', o(ReleaseState.InSync, { storedManifest: trusted, ...drift('enabled', false) }), ReleaseAction.None],
    ['in sync, drift detection disabled', o(ReleaseState.InSync, drift('disabled', undefined)), ReleaseAction.None],
    ['in sync, drifted, mode enabled', o(ReleaseState.InSync, { storedManifest: trusted, ...drift('enabled', true) }), ReleaseAction.CorrectDrift],
    ['in sync, drifted, mode warn', o(ReleaseState.InSync, { storedManifest: trusted, ...drift('warn', true) }), ReleaseAction.ReportDrift],
    ['in sync, drifted, loop guard tripped', o(ReleaseState.InSync, { storedManifest: trusted, ...drift('enabled', true, true) }), ReleaseAction.ReportDrift],
    ['in sync, loop guard tripped but no drift', o(ReleaseState.InSync, { storedManifest: trusted, ...drift('enabled', false, true) }), ReleaseAction.None],
    ['in sync, stored manifest fails the policy (never checked for drift)', o(ReleaseState.InSync, { storedManifest: tampered, ...drift('enabled', undefined) }), ReleaseAction.ReportTampered],
    ['in sync, stored manifest fails the policy, mode warn', o(ReleaseState.InSync, { storedManifest: tampered, ...drift('warn', undefined) }), ReleaseAction.ReportTampered],
  ])('%s → %s', (_name, observation, action) => {
    expect(chooseAction(observation)).toBe(action);
  });

  it('covers every action', () => {
    // The table above is the spec: this guards against an action nobody can reach.
    const reached = new Set<ReleaseAction>();
    for (const state of Object.values(ReleaseState)) {
      for (const leader of [true, false]) {
        for (const storedManifest of [undefined, trusted, tampered]) {
          for (const mode of ['enabled', 'warn', 'disabled'] as const) {
            for (const drifted of [undefined, true, false]) {
              for (const loopGuardTripped of [true, false]) {
                reached.add(chooseAction({ state, leader, ...(storedManifest ? { storedManifest } : {}), drift: { mode, ...(drifted === undefined ? {} : { drifted }), loopGuardTripped } }));
              }
            }
          }
        }
      }
    }
    expect([...reached].sort()).toEqual(Object.values(ReleaseAction).sort());
  });
});

describe('provenInSync: the status proves the release, no helm read', () => {
  const status = { namespace: 'ns', release: { appliedDigest: digest, status: 'deployed' } };
  it.each<[string, Parameters<typeof provenInSync>[0], boolean]>([
    ['applied digest, deployed, same namespace', status, true],
    ['no status', undefined, false],
    ['other digest', { ...status, release: { ...status.release, appliedDigest: 'sha256:old' } }, false],
    ['failed', { ...status, release: { ...status.release, status: 'failed' } }, false],
    ['other namespace', { ...status, namespace: 'old' }, false],
  ])('%s → %s', (_name, s, proven) => {
    expect(provenInSync(s, digest, 'ns')).toBe(proven);
  });
});

describe('unlockTarget', () => {
  it('goes back to the newest good revision below the pending one', () => {
    const history = [
      { revision: 1, status: 'superseded' },
      { revision: 2, status: 'deployed' },
      { revision: 3, status: 'failed' },
      { revision: 4, status: 'pending-upgrade' },
    ];
    expect(unlockTarget(history, 4)).toBe(2);
    expect(unlockTarget([{ revision: 1, status: 'pending-install' }], 1)).toBeUndefined();
  });
});
