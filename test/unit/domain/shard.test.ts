import {
  SHARD_LABEL,
  assignShard,
  defaultShard,
  leaseIsFresh,
  objectShardLabels,
  ownerLabels,
  shardLeaseName,
  shardOf,
  shardOverview,
  shardSelector,
  type ShardList,
} from '../../../src/domain/shard.ts';
import { INSTANCE_LABEL } from '../../../src/domain/instance.ts';

const THREE: ShardList = ['a', 'b', 'c'];
const keys = Array.from({ length: 3000 }, (_, i) => `inst-${i}`);

describe('assignShard', () => {
  it('is deterministic and uses only configured shards', () => {
    for (const k of keys.slice(0, 50)) {
      expect(assignShard(k, THREE)).toBe(assignShard(k, ['a', 'b', 'c']));
      expect(THREE).toContain(assignShard(k, THREE));
    }
  });

  it('spreads instances evenly over the shards', () => {
    const counts = new Map<string, number>();
    for (const k of keys) counts.set(assignShard(k, THREE), (counts.get(assignShard(k, THREE)) ?? 0) + 1);
    for (const s of THREE) expect(counts.get(s)).toBeGreaterThan(900);
  });

  it('a shard added to the list only takes instances, never moves them between the others', () => {
    const four: ShardList = ['a', 'b', 'c', 'd'];
    let moved = 0;
    for (const k of keys) {
      const before = assignShard(k, THREE);
      const after = assignShard(k, four);
      if (after !== before) {
        expect(after).toBe('d');
        moved++;
      }
    }
    expect(moved).toBeGreaterThan(600);
    expect(moved).toBeLessThan(900);
  });

  it('does not depend on the order of the list', () => {
    for (const k of keys.slice(0, 50)) expect(assignShard(k, ['c', 'a', 'b'])).toBe(assignShard(k, THREE));
  });
});

describe('shardOf', () => {
  it('reads the label; unlabelled CRs belong to the first shard; unknown names are flagged', () => {
    expect(shardOf({ [SHARD_LABEL]: 'b' }, THREE)).toEqual({ shard: 'b', known: true });
    expect(shardOf({}, THREE)).toEqual({ shard: 'a', known: true });
    expect(shardOf(undefined, THREE)).toEqual({ shard: defaultShard(THREE), known: true });
    expect(shardOf({ [SHARD_LABEL]: 'z' }, THREE)).toEqual({ shard: 'z', known: false });
  });
});

describe('shardSelector', () => {
  it('a non-default shard watches its label; the default shard everything not labelled for another', () => {
    expect(shardSelector('b', THREE)).toBe(`${SHARD_LABEL}=b`);
    expect(shardSelector('a', THREE)).toBe(`${SHARD_LABEL} notin (b,c)`);
    expect(shardSelector('only', ['only'])).toBeUndefined();
  });
});

describe('objectShardLabels, ownerLabels', () => {
  it("gives a release's objects the CR's own shard label when sharded, so the CR's selector also selects them", () => {
    expect(objectShardLabels({ [SHARD_LABEL]: 'b', other: 'x' }, THREE)).toEqual({ [SHARD_LABEL]: 'b' });
    expect(objectShardLabels({ [SHARD_LABEL]: 'a' }, THREE)).toEqual({ [SHARD_LABEL]: 'a' });
    // Unlabelled CRs (default shard) render unlabelled objects, which the default shard's notin matches.
    expect(objectShardLabels(undefined, THREE)).toEqual({});
    expect(objectShardLabels({ [SHARD_LABEL]: '' }, THREE)).toEqual({});
  });

  it('adds nothing when not sharded, whatever the CR carries', () => {
    expect(objectShardLabels({ [SHARD_LABEL]: 'b' }, undefined)).toEqual({});
    expect(objectShardLabels(undefined, undefined)).toEqual({});
  });

  it('owner labels: the instance, plus the shard label when sharded', () => {
    const cr = { metadata: { name: 'web-1', labels: { [SHARD_LABEL]: 'c', team: 'x' } } };
    expect(ownerLabels(cr, THREE)).toEqual({ [INSTANCE_LABEL]: 'web-1', [SHARD_LABEL]: 'c' });
    expect(ownerLabels(cr, undefined)).toEqual({ [INSTANCE_LABEL]: 'web-1' });
  });
});

describe('shardLeaseName', () => {
  it('keeps the unsharded name for the default shard and derives the others', () => {
    expect(shardLeaseName('caelus-operator', 'a', THREE)).toBe('caelus-operator');
    expect(shardLeaseName('caelus-operator', 'c', THREE)).toBe('caelus-operator-c');
  });
});

describe('shardOverview', () => {
  const now = new Date('2026-01-01T00:00:30Z');
  const fresh = { holder: 'pod-1', renewTime: new Date('2026-01-01T00:00:25Z'), durationSeconds: 15 };
  const stale = { holder: 'pod-2', renewTime: new Date('2026-01-01T00:00:00Z'), durationSeconds: 15 };

  it('counts instances per shard (unassigned ones in the default) and those no live shard owns', () => {
    const o = shardOverview(
      { shards: THREE, baseLeaseName: 'op' },
      [
        { shard: null, instances: 2 },
        { shard: 'a', instances: 3 },
        { shard: 'b', instances: 4 },
        { shard: 'c', instances: 5 },
        { shard: 'gone', instances: 1 },
      ],
      new Map([
        ['op', fresh],
        ['op-b', stale],
      ]),
      now,
    );
    expect(o.sharded).toBe(true);
    expect(o.shards).toEqual([
      { name: 'a', default: true, lease: 'op', holder: 'pod-1', live: true, instances: 5 },
      { name: 'b', default: false, lease: 'op-b', holder: 'pod-2', live: false, instances: 4 },
      { name: 'c', default: false, lease: 'op-c', holder: null, live: false, instances: 5 },
    ]);
    expect(o.unknown).toEqual([{ name: 'gone', instances: 1 }]);
    expect(o.unowned).toBe(4 + 5 + 1);
  });

  it('without sharding: one shard, the old Lease; liveness unknown without cluster access', () => {
    const o = shardOverview({ shards: undefined, baseLeaseName: 'op' }, [{ shard: null, instances: 7 }], undefined, now);
    expect(o).toEqual({ sharded: false, shards: [{ name: null, default: true, lease: 'op', holder: null, live: null, instances: 7 }], unknown: [], unowned: null });
  });
});

describe('leaseIsFresh', () => {
  it('needs a holder and a renewal within the duration', () => {
    const now = new Date('2026-01-01T00:00:10Z');
    expect(leaseIsFresh({ holder: 'x', renewTime: new Date('2026-01-01T00:00:00Z'), durationSeconds: 15 }, now)).toBe(true);
    expect(leaseIsFresh({ holder: 'x', renewTime: new Date('2026-01-01T00:00:00Z'), durationSeconds: 5 }, now)).toBe(false);
    expect(leaseIsFresh({ holder: undefined, renewTime: now, durationSeconds: 15 }, now)).toBe(false);
  });
});
