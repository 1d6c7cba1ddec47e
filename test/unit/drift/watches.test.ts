// caelus_drift_watch_objects: what a shard's drift watches hold, by the shard
// label of the objects, without letting tenant-written label values mint series.
import { SHARD_LABEL, type ShardList } from '../../../src/domain/shard.ts';
import { shardBucket } from '../../../src/drift/watches.ts';
import { createMetrics } from '../../../src/observability/metrics.ts';

const SHARDS: ShardList = ['east', 'west'];

describe('caelus_drift_watch_objects', () => {
  it('names configured shards, "none" for unlabelled objects and "other" for anything else', () => {
    expect(shardBucket({ [SHARD_LABEL]: 'west' }, SHARDS)).toBe('west');
    expect(shardBucket({ [SHARD_LABEL]: 'east' }, SHARDS)).toBe('east');
    expect(shardBucket({ 'caelus.io/instance': 'x' }, SHARDS)).toBe('none');
    expect(shardBucket(undefined, SHARDS)).toBe('none');
    expect(shardBucket({ [SHARD_LABEL]: 'tenant-made-up-1' }, SHARDS)).toBe('other');
    expect(shardBucket({ [SHARD_LABEL]: 'west' }, undefined)).toBe('other');
  });

  it('is read from the registered caches at scrape time and disappears with them', async () => {
    const metrics = createMetrics();
    let counts = new Map([['west', 3]]);
    const stop = metrics.countDriftWatchObjects(() => counts);
    expect(await metrics.registry.getSingleMetricAsString('caelus_drift_watch_objects')).toContain('caelus_drift_watch_objects{shard="west"} 3');
    counts = new Map([['none', 1]]);
    const text = await metrics.registry.getSingleMetricAsString('caelus_drift_watch_objects');
    expect(text).toContain('caelus_drift_watch_objects{shard="none"} 1');
    expect(text).not.toContain('shard="west"');
    stop();
    expect(await metrics.registry.getSingleMetricAsString('caelus_drift_watch_objects')).not.toContain('shard=');
  });
});
