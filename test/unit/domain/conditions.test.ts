import { setCondition } from '../../../src/domain/conditions.ts';
import { ConditionType } from '../../../src/domain/instance.ts';

describe('setCondition', () => {
  const t1 = new Date('2026-01-01T00:00:00Z');
  const t2 = new Date('2026-01-01T00:05:00Z');

  it('keeps lastTransitionTime while the status stays, moves it when the status flips', () => {
    let c = setCondition([], { type: ConditionType.Ready, status: 'False', reason: 'InstallSucceeded', message: 'one' }, 1, t1);
    c = setCondition(c, { type: ConditionType.Ready, status: 'False', reason: 'UpgradeSucceeded', message: 'two' }, 2, t2);
    expect(c).toEqual([
      { type: 'Ready', status: 'False', reason: 'UpgradeSucceeded', message: 'two', observedGeneration: 2, lastTransitionTime: t1.toISOString() },
    ]);
    c = setCondition(c, { type: ConditionType.Ready, status: 'True', reason: 'InSync' }, 2, t2);
    expect(c[0]?.lastTransitionTime).toBe(t2.toISOString());
  });

  it('keeps other condition types', () => {
    let c = setCondition([], { type: ConditionType.Ready, status: 'True', reason: 'InSync' }, 1, t1);
    c = setCondition(c, { type: ConditionType.Released, status: 'True', reason: 'InstallSucceeded' }, 1, t1);
    expect(c.map((x) => x.type)).toEqual(['Ready', 'Released']);
  });
});
