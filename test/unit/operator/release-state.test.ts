import {
  ReleaseAction,
  ReleaseState,
  chooseAction,
  classifyRelease,
  describeDigest,
  unlockTarget,
} from '../../../src/operator/release/state.ts';

const digest = 'sha256:abc';
const rel = (status: string, description = describeDigest(digest)) => ({ revision: 3, status, description });

describe('release state', () => {
  it.each([
    ['no release', undefined, ReleaseState.Absent, ReleaseAction.Install],
    ['pending-install', rel('pending-install'), ReleaseState.Locked, ReleaseAction.Unlock],
    ['pending-upgrade', rel('pending-upgrade'), ReleaseState.Locked, ReleaseAction.Unlock],
    ['pending-rollback', rel('pending-rollback'), ReleaseState.Locked, ReleaseAction.Unlock],
    ['uninstalling', rel('uninstalling'), ReleaseState.Locked, ReleaseAction.Unlock],
    ['uninstalled (kept history)', rel('uninstalled'), ReleaseState.Absent, ReleaseAction.Install],
    ['failed', rel('failed'), ReleaseState.Failed, ReleaseAction.Upgrade],
    ['deployed, same digest', rel('deployed'), ReleaseState.InSync, ReleaseAction.None],
    ['deployed, other digest', rel('deployed', describeDigest('sha256:old')), ReleaseState.OutOfSync, ReleaseAction.Upgrade],
    ['deployed by hand (no digest)', rel('deployed', 'Upgrade complete'), ReleaseState.OutOfSync, ReleaseAction.Upgrade],
  ])('%s → %s → %s', (_name, release, state, action) => {
    expect(classifyRelease(release, digest)).toBe(state);
    expect(chooseAction(state)).toBe(action);
  });

  it('unlocks back to the newest good revision below the pending one', () => {
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
