import {
  DEFAULT_STRATEGY,
  RolloutInstanceState,
  classify,
  countStates,
  failureBudgetSpent,
  judgeRollback,
  judgeUpgrade,
  planWaves,
  resolveStrategy,
  waveOfPositions,
  type InstanceObservation,
} from '../../../src/domain/rollout.ts';

const T0 = new Date('2026-01-01T00:00:00Z');
const at = (s: number) => new Date(T0.getTime() + s * 1000);
const TARGET = { versionId: 'aaaaaaaa-0000-0000-0000-000000000002', chartVersion: null };
const SOURCE = 'aaaaaaaa-0000-0000-0000-000000000001';

function cr(o: Partial<InstanceObservation>): InstanceObservation {
  return {
    generation: 3,
    specVersionRef: TARGET.versionId,
    observedGeneration: 3,
    phase: 'Running',
    ready: { status: 'True', reason: 'InSync' },
    releaseRevision: 2,
    releaseChartVersion: '0.1.0',
    statusVersionId: TARGET.versionId,
    ...o,
  };
}

describe('wave plan', () => {
  it('the default strategy on 30 instances: 1, 2, 4, 8, 15', () => {
    expect(planWaves(30, DEFAULT_STRATEGY)).toEqual([1, 2, 4, 8, 15]);
  });
  it('caps waves at maxWaveSize and puts the rest in the last ones', () => {
    expect(planWaves(20, { canary: 2, growth: 3, maxWaveSize: 5 })).toEqual([2, 5, 5, 5, 3]);
    expect(planWaves(0, DEFAULT_STRATEGY)).toEqual([]);
  });
  it('growth 1 keeps the canary size', () => {
    expect(planWaves(7, { canary: 3, growth: 1, maxWaveSize: 10 })).toEqual([3, 3, 1]);
  });
  it('numbers every position with its 1-based wave', () => {
    expect(waveOfPositions(7, DEFAULT_STRATEGY)).toEqual([1, 2, 2, 3, 3, 3, 3]);
  });
});

describe('strategy', () => {
  it('layers defaults, a saved strategy and the request in that order', () => {
    expect(resolveStrategy({ bakeSeconds: 5, maxConcurrent: 2 }, { maxConcurrent: 8 }).strategy).toEqual({ ...DEFAULT_STRATEGY, bakeSeconds: 5, maxConcurrent: 8 });
  });
  it('names the field of a cross-field mistake', () => {
    expect(resolveStrategy({ canary: 10, maxWaveSize: 5 }).violations).toEqual([{ field: '/canary', message: 'must not exceed maxWaveSize (5)' }]);
  });
});

describe('who is left out, and why', () => {
  const base = { source: 'api', state: 'Running', versionVsTarget: -1, expiresAt: null, deleted: false } as const;
  const opts = { includeHibernated: false, now: T0 };
  it('an older running API instance is upgraded', () => {
    expect(classify(base, opts)).toEqual({ state: RolloutInstanceState.Pending });
  });
  it.each([
    [{ source: 'cluster' as const }, 'Skipped', /owned by Git/],
    [{ versionVsTarget: 0 }, 'Skipped', /already at the target/],
    [{ versionVsTarget: 1 }, 'Skipped', /above the target/],
    [{ expiresAt: at(-1) }, 'Skipped', /expired/],
    [{ state: 'Hibernated' as const }, 'Deferred', /hibernated/],
    [{ deleted: true }, 'Skipped', /deleted/],
  ])('%o → %s', (facts, state, reason) => {
    const s = classify({ ...base, ...facts }, opts);
    expect(s.state).toBe(state);
    expect('reason' in s && s.reason).toMatch(reason);
  });
  it('includeHibernated upgrades hibernated instances at once', () => {
    expect(classify({ ...base, state: 'Hibernated' }, { ...opts, includeHibernated: true }).state).toBe('Pending');
  });
});

describe('failure budget', () => {
  it('is spent at maxFailures, or at maxFailurePercent of the waved instances', () => {
    expect(failureBudgetSpent(0, 30, { maxFailures: 1, maxFailurePercent: null })).toBe(false);
    expect(failureBudgetSpent(1, 30, { maxFailures: 1, maxFailurePercent: null })).toBe(true);
    expect(failureBudgetSpent(2, 30, { maxFailures: 5, maxFailurePercent: 10 })).toBe(false);
    expect(failureBudgetSpent(3, 30, { maxFailures: 5, maxFailurePercent: 10 })).toBe(true);
  });
});

describe('proof of an upgrade', () => {
  const s = { bakeSeconds: 10, progressDeadlineSeconds: 60 };
  const fresh = { beforeRevision: 1, targetGeneration: null, startedAt: T0, bakingSince: null };
  const seen = { ...fresh, targetGeneration: 3 };

  it('waits until the sync pushed the target, then remembers that generation', () => {
    expect(judgeUpgrade(cr({ specVersionRef: SOURCE, generation: 2 }), TARGET, fresh, s, at(1)).kind).toBe('wait');
    expect(judgeUpgrade(cr({}), TARGET, fresh, s, at(1))).toEqual({ kind: 'generation', generation: 3 });
  });
  it('a stale Ready of the previous generation is no proof', () => {
    expect(judgeUpgrade(cr({ observedGeneration: 2, releaseRevision: 1, statusVersionId: SOURCE }), TARGET, seen, s, at(2)).kind).toBe('wait');
  });
  it('an observed generation without a newer Helm revision is no proof', () => {
    expect(judgeUpgrade(cr({ releaseRevision: 1 }), TARGET, seen, s, at(2)).kind).toBe('wait');
  });
  it('the chart version must be the target one when the catalog names it', () => {
    expect(judgeUpgrade(cr({ releaseChartVersion: '0.1.0' }), { ...TARGET, chartVersion: '0.2.0' }, seen, s, at(2)).kind).toBe('wait');
    expect(judgeUpgrade(cr({ releaseChartVersion: '0.2.0' }), { ...TARGET, chartVersion: '0.2.0' }, seen, s, at(2)).kind).toBe('baking');
  });
  it('proven: bakes, and succeeds once Ready held for bakeSeconds', () => {
    expect(judgeUpgrade(cr({}), TARGET, seen, s, at(2)).kind).toBe('baking');
    expect(judgeUpgrade(cr({}), TARGET, { ...seen, bakingSince: at(2) }, s, at(5)).kind).toBe('wait');
    expect(judgeUpgrade(cr({}), TARGET, { ...seen, bakingSince: at(2) }, s, at(12)).kind).toBe('succeeded');
    expect(judgeUpgrade(cr({}), TARGET, seen, { ...s, bakeSeconds: 0 }, at(2)).kind).toBe('succeeded');
  });
  it('Ready lost during the bake fails the instance', () => {
    const d = judgeUpgrade(cr({ ready: { status: 'False', reason: 'Progressing' } }), TARGET, { ...seen, bakingSince: at(2) }, s, at(5));
    expect(d).toEqual({ kind: 'failed', reason: expect.stringMatching(/bake/) });
  });
  it('a failed reconcile of the target generation fails the instance with its reason', () => {
    const d = judgeUpgrade(cr({ phase: 'Failed', ready: { status: 'False', reason: 'UpgradeFailed', message: 'render error' } }), TARGET, seen, s, at(3));
    expect(d).toEqual({ kind: 'failed', reason: 'UpgradeFailed: render error' });
  });
  it('no proof before the progress deadline fails the instance', () => {
    expect(judgeUpgrade(cr({ observedGeneration: 2 }), TARGET, seen, s, at(61)).kind).toBe('failed');
    expect(judgeUpgrade(undefined, TARGET, fresh, s, at(61)).kind).toBe('failed');
  });
});

describe('proof of a rollback', () => {
  it('needs the source version observed and Ready', () => {
    const back = cr({ specVersionRef: SOURCE, generation: 5, observedGeneration: 5, statusVersionId: SOURCE, releaseRevision: 3 });
    expect(judgeRollback(back, SOURCE, null)).toEqual({ kind: 'generation', generation: 5 });
    expect(judgeRollback({ ...back, observedGeneration: 4 }, SOURCE, 5).kind).toBe('wait');
    expect(judgeRollback(back, SOURCE, 5).kind).toBe('succeeded');
  });
});

describe('counts', () => {
  it('every state is present, 0 when none', () => {
    expect(countStates([{ state: 'Succeeded' }, { state: 'Succeeded' }, { state: 'Deferred' }])).toEqual({
      Pending: 0,
      Upgrading: 0,
      Baking: 0,
      Succeeded: 2,
      Failed: 0,
      Skipped: 0,
      Deferred: 1,
      RolledBack: 0,
    });
  });
});
