// The operator runtime (src/operator) with the DB ↔ CR sync (src/sync) and the
// fleet rollout runner (src/rollout) as leader tasks: how `caelus operator`
// and `caelus dev` both run them. It lives in its own level below cli and dev
// (DESIGN §3: cli → dev → compose → api | operator | sync | rollout) because
// those are peers that must not import each other, and dev must not import cli.
import type { OperatorConfig } from '../config/operator.ts';
import { createOperatorRuntime, instanceSelector, type LeaderTask, type LeaderTaskContext, type OperatorRuntime, type RuntimeOptions } from '../operator/run-operator.ts';
import { defaultShard } from '../domain/shard.ts';
import { createOperatorSync } from '../sync/runtime.ts';
import { rolloutLeaderTasks } from '../rollout/leader-task.ts';

/** The DB ↔ CR sync as a leader task: none with a file catalog (GitOps only) or CAELUS_SYNC=false. */
export function syncLeaderTasks(config: Pick<OperatorConfig, 'shard'>, opts: Pick<RuntimeOptions, 'log' | 'metrics' | 'labelSelector' | 'env'>) {
  return ({ kc, catalog, database, events }: LeaderTaskContext): LeaderTask[] => {
    // Rows and CRs are mirrored only when the database is the catalog (DESIGN §5).
    if (!database) return [];
    const sync = createOperatorSync({
      handle: database.handle,
      dbConfig: database.config,
      kc,
      catalog,
      events: { event: (obj, type, reason, message) => events.event(obj, type, reason, message) },
      log: opts.log,
      metrics: opts.metrics,
      labelSelector: opts.labelSelector,
      watchSelector: instanceSelector(config, opts.labelSelector),
      shard: config.shard,
      env: opts.env ?? process.env,
    });
    return sync ? [(signal) => sync.run(signal)] : [];
  };
}

/**
 * The operator as `caelus operator` and `caelus dev` run it: reconciler,
 * lifecycle jobs and, while leading, the sync and the rollout runner. When
 * sharded, the sync is per shard (each mirrors its own instances) and the
 * rollout runner runs in the default shard only: a run works on rows of
 * every shard and needs one writer.
 */
export function createOperatorWithSync(config: OperatorConfig, opts: Omit<RuntimeOptions, 'leaderTasks'>): Promise<OperatorRuntime> {
  const sync = syncLeaderTasks(config, opts);
  const runsRollouts = !config.shard || config.shard.name === defaultShard(config.shard.shards);
  const rollouts = runsRollouts ? rolloutLeaderTasks(opts) : () => [];
  return createOperatorRuntime(config, { ...opts, leaderTasks: (context) => [...sync(context), ...rollouts(context)] });
}
