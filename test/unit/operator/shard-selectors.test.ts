// What each operator process lists and watches: its CaelusInstances and the
// objects of their releases, both from the one shard rule (src/domain/shard.ts).
import { INSTANCE_LABEL } from '../../../src/domain/instance.ts';
import { SHARD_LABEL, type ShardList } from '../../../src/domain/shard.ts';
import { driftWatchSelector, instanceSelector } from '../../../src/operator/run-operator.ts';

const SHARDS: ShardList = ['east', 'west', 'north'];
const sharded = (name: string) => ({ shard: { name, shards: SHARDS } });

describe('the selectors of a shard', () => {
  it('unsharded: every CR, every object with the instance label (as before sharding)', () => {
    expect(instanceSelector({ shard: undefined }, undefined)).toBeUndefined();
    expect(driftWatchSelector({ shard: undefined })).toBe(INSTANCE_LABEL);
  });

  it("a non-default shard's drift watches select its objects by the same shard selector as its CRs", () => {
    expect(instanceSelector(sharded('west'), undefined)).toBe(`${SHARD_LABEL}=west`);
    expect(driftWatchSelector(sharded('west'))).toBe(`${INSTANCE_LABEL},${SHARD_LABEL}=west`);
  });

  it('the default shard also watches objects without a shard label (releases from before sharding, unlabelled CRs)', () => {
    expect(instanceSelector(sharded('east'), undefined)).toBe(`${SHARD_LABEL} notin (west,north)`);
    expect(driftWatchSelector(sharded('east'))).toBe(`${INSTANCE_LABEL},${SHARD_LABEL} notin (west,north)`);
  });

  it('the instance selector narrows the CRs only: release objects do not carry the CR labels it tests', () => {
    expect(instanceSelector(sharded('west'), 'test-run=x')).toBe(`test-run=x,${SHARD_LABEL}=west`);
    expect(driftWatchSelector(sharded('west'))).toBe(`${INSTANCE_LABEL},${SHARD_LABEL}=west`);
  });

  it('one shard listed is everything, like unsharded', () => {
    expect(driftWatchSelector({ shard: { name: 'only', shards: ['only'] } })).toBe(INSTANCE_LABEL);
  });
});
