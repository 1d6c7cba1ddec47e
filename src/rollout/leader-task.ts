// The rollout runner as a leader task of `caelus operator` (composed in
// src/cli/operator.ts): one writer, only while this replica leads.
import type { KubeConfig } from '@kubernetes/client-node';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import type { InvolvedObject } from '../k8s/events.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import { RolloutRunner } from './runner.ts';

/** Environment switch: CAELUS_ROLLOUTS=false runs no rollout runner (e.g. a second operator deployment). */
export const ROLLOUTS_ENV = 'CAELUS_ROLLOUTS';
export const ROLLOUT_TICK_ENV = 'CAELUS_ROLLOUT_TICK_MS';

/** What the operator runtime hands its leader tasks (structurally its LeaderTaskContext: rollout does not import operator). */
export interface RolloutTaskContext {
  kc: KubeConfig;
  database: { handle: { db: Kysely<Database> } } | undefined;
  events: { event(obj: InvolvedObject, type: 'Normal' | 'Warning', reason: string, message: string): void };
}

export function rolloutLeaderTasks(opts: { log: Logger; metrics: Metrics; env?: NodeJS.ProcessEnv }) {
  return ({ kc, database, events }: RolloutTaskContext): Array<(signal: AbortSignal) => Promise<void>> => {
    const env = opts.env ?? process.env;
    // Runs live in the database: none with a file catalog (GitOps only).
    if (!database || env[ROLLOUTS_ENV] === 'false') return [];
    const tick = Number(env[ROLLOUT_TICK_ENV] ?? 1000);
    if (!Number.isInteger(tick) || tick < 50) throw new Error(`${ROLLOUT_TICK_ENV} must be an integer of at least 50 (ms), got ${env[ROLLOUT_TICK_ENV]}`);
    const runner = new RolloutRunner({
      db: database.handle.db,
      kc,
      events: { event: (obj, type, reason, message) => events.event(obj, type, reason, message) },
      log: opts.log.child({ component: 'rollouts' }),
      metrics: opts.metrics,
      tickMs: tick,
    });
    return [(signal) => runner.run(signal)];
  };
}
