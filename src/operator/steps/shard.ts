import { CONTINUE, type Step } from '../context.ts';
import { Reason } from '../../domain/instance.ts';
import { SHARD_LABEL, defaultShard, shardOf, type ShardList } from '../../domain/shard.ts';
import { ReconcileError } from '../errors.ts';

/** How often a CR naming an unknown shard is looked at again (a human relabels it, or a shard is added). */
const UNKNOWN_SHARD_RECHECK_MS = 5 * 60_000;

/**
 * First step when sharded. The default shard also watches CRs whose shard
 * label names no configured shard (src/domain/shard.ts, shardSelector): it
 * must not reconcile them (a newer shard list may own them) nor let them go
 * unseen, so it says so on the CR (Ready=False, reason UnknownShard, a
 * Warning Event) and touches nothing else, deletion included.
 */
export function shardStep(shards: ShardList): Step {
  return {
    name: 'shard',
    async run(ctx) {
      const { shard, known } = shardOf(ctx.instance.metadata.labels, shards);
      if (known) return CONTINUE;
      throw new ReconcileError(
        Reason.UnknownShard,
        `label ${SHARD_LABEL}=${shard} names no configured shard (${shards.join(', ')}): not reconciled; relabel it to a configured shard or remove the label (shard ${defaultShard(shards)})`,
        { requeueAfterMs: UNKNOWN_SHARD_RECHECK_MS },
      );
    },
  };
}
