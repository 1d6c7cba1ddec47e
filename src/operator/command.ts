import { operatorConfig, type OperatorFlags } from '../config/operator.ts';
import { createLogger } from '../observability/logger.ts';
import { createMetrics } from '../observability/metrics.ts';
import { createOperatorRuntime } from './run-operator.ts';

/** `caelus operator`: runs until SIGINT/SIGTERM, then lets in-flight reconciles finish and releases the lease. */
export async function operatorCommand(flags: OperatorFlags & { instanceSelector?: string }, signal: AbortSignal): Promise<void> {
  const log = createLogger({ name: 'caelus-operator' });
  const config = operatorConfig(flags);
  const runtime = await createOperatorRuntime(config, {
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
