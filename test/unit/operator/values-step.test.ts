// The values step decides what helm installs and its digest; the digest
// decides whether a reconcile upgrades. The shard label must reach the
// rendered objects without upgrading releases that do not get it.
import { INSTANCE_LABEL, type CaelusInstance } from '../../../src/domain/instance.ts';
import { SHARD_LABEL, type ShardList } from '../../../src/domain/shard.ts';
import type { PlacedContext } from '../../../src/operator/context.ts';
import { valuesStep } from '../../../src/operator/steps/values.ts';
import { fakeContext, fakeInstance } from '../../support/fakes.ts';

const SHARDS: ShardList = ['east', 'west'];
// valuesStep's digest of the instance below as computed before sharding existed (main at 12ba50d): installed
// releases carry it in status.release.appliedDigest, and a different one would upgrade every one of them.
const DIGEST_BEFORE_SHARDING = 'sha256:512f7f5bf81e3db4b6223b9f71972cacc95916fbe5a912ad018dea597b64de54';

function instance(labels?: Record<string, string>): CaelusInstance {
  const i = fakeInstance('web-1', { values: { replicas: 2 }, domainName: 'web-1.example.com' });
  return labels ? { ...i, metadata: { ...i.metadata, labels } } : i;
}

async function desired(i: CaelusInstance, shards?: ShardList) {
  const { desired: _, ...placed } = fakeContext(i);
  return (await valuesStep(() => [], shards).run(placed as PlacedContext)).desired;
}

describe('values step: labels and digest', () => {
  it('unsharded: only the instance label, and the digest of before sharding (no upgrade)', async () => {
    const d = await desired(instance());
    expect(d.labels).toEqual({ [INSTANCE_LABEL]: 'web-1' });
    expect(d.digest).toBe(DIGEST_BEFORE_SHARDING);
    // A CR labelled by an earlier sharded setup changes nothing for an unsharded operator.
    const labelled = await desired(instance({ [SHARD_LABEL]: 'west' }));
    expect(labelled).toEqual(d);
  });

  it('sharded, unlabelled CR (default shard, from before sharding): no shard label, same digest', async () => {
    const d = await desired(instance(), SHARDS);
    expect(d.labels).toEqual({ [INSTANCE_LABEL]: 'web-1' });
    expect(d.digest).toBe(DIGEST_BEFORE_SHARDING);
  });

  it("sharded, labelled CR: its objects carry the CR's shard, and a move to another shard changes the digest (re-applied)", async () => {
    const west = await desired(instance({ [SHARD_LABEL]: 'west' }), SHARDS);
    expect(west.labels).toEqual({ [INSTANCE_LABEL]: 'web-1', [SHARD_LABEL]: 'west' });
    const east = await desired(instance({ [SHARD_LABEL]: 'east' }), SHARDS);
    expect(east.labels).toEqual({ [INSTANCE_LABEL]: 'web-1', [SHARD_LABEL]: 'east' });
    expect(new Set([west.digest, east.digest, DIGEST_BEFORE_SHARDING]).size).toBe(3);
    // Same inputs, same digest: no upgrade on every reconcile.
    expect((await desired(instance({ [SHARD_LABEL]: 'west' }), SHARDS)).digest).toBe(west.digest);
  });
});
