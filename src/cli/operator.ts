// `caelus operator`: the operator with the DB ↔ CR sync (src/compose), run
// until SIGINT/SIGTERM.
import { operatorConfig, type OperatorFlags } from '../config/operator.ts';
import { createOperatorWithSync } from '../compose/operator-with-sync.ts';
import { createLogger } from '../observability/logger.ts';
import { createMetrics } from '../observability/metrics.ts';

/** Runs until `signal` aborts, then lets in-flight reconciles finish and releases the lease. */
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
