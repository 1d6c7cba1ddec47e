// `caelus operator` composed: the operator runtime (src/operator) with the
// DB ↔ CR sync (src/sync) as a leader task. The composition lives here, at the
// cli level, because operator and sync are peers that must not import each other.
import { operatorConfig, type OperatorConfig, type OperatorFlags } from '../config/operator.ts';
import { createLogger } from '../observability/logger.ts';
import { createMetrics } from '../observability/metrics.ts';
import { createOperatorRuntime, type LeaderTask, type LeaderTaskContext, type OperatorRuntime, type RuntimeOptions } from '../operator/run-operator.ts';
import { createOperatorSync } from '../sync/runtime.ts';
import { rolloutLeaderTasks } from '../rollout/leader-task.ts';

/** The DB ↔ CR sync as a leader task: none with a file catalog (GitOps only) or CAELUS_SYNC=false. */
export function syncLeaderTasks(opts: Pick<RuntimeOptions, 'log' | 'metrics' | 'labelSelector' | 'env'>) {
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
      env: opts.env ?? process.env,
    });
    return sync ? [(signal) => sync.run(signal)] : [];
  };
}

/** The operator as `caelus operator` and `caelus dev` run it: reconciler, lifecycle jobs and, while leading, the sync and the rollout runner. */
export function createOperatorWithSync(config: OperatorConfig, opts: Omit<RuntimeOptions, 'leaderTasks'>): Promise<OperatorRuntime> {
  const sync = syncLeaderTasks(opts);
  const rollouts = rolloutLeaderTasks(opts);
  return createOperatorRuntime(config, { ...opts, leaderTasks: (context) => [...sync(context), ...rollouts(context)] });
}

/** `caelus operator`: runs until SIGINT/SIGTERM, then lets in-flight reconciles finish and releases the lease. */
export async function operatorCommand(flags: OperatorFlags & { instanceSelector?: string }, signal: AbortSignal): Promise<void> {
  const log = createLogger({ name: 'caelus-operator' });
  const config = operatorConfig(flags);
  const runtime = await createOperatorWithSync(config, {
    log,
    metrics: createMetrics(),
    ...(flags.instanceSelector ? { labelSelector: flags.instanceSelector } : {}),
  });
  await runtime.start();
  await new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
  log.info('shutting down');
  await runtime.stop();
}
