// The scheduled lifecycle job (leader only): instances past spec.expiresAt are
// deleted (the finalizer then applies deletionPolicy), instances idle longer
// than spec.idleTimeout are hibernated by setting spec.state.
import cron, { type ScheduledTask } from 'node-cron';
import { InstanceState, Reason, type CaelusInstance } from '../../domain/instance.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Metrics } from '../../observability/metrics.ts';
import type { EventSink, LifecyclePort } from '../ports.ts';
import type { ActivitySource } from './activity.ts';
import { parseDuration } from '../../domain/duration.ts';

export const LIFECYCLE_FIELD_MANAGER = 'caelus-lifecycle';

export interface LifecycleDeps {
  instances: LifecyclePort;
  activity: ActivitySource;
  events: EventSink;
  log: Logger;
  /** caelus_lifecycle_actions_total{action="expire"|"idle-hibernate"}. */
  metrics?: Pick<Metrics, 'lifecycleActions'>;
  now?: () => Date;
}

export interface LifecycleReport {
  expired: string[];
  hibernated: string[];
  failed: Array<{ name: string; error: string }>;
}

export const LifecycleAction = { None: 'none', Delete: 'delete', Hibernate: 'hibernate' } as const;
export type LifecycleAction = (typeof LifecycleAction)[keyof typeof LifecycleAction];

/** What the job does to one instance at `now` (pure; a table test covers it). */
export function lifecycleAction(instance: CaelusInstance, now: Date, activity: ActivitySource): LifecycleAction {
  const { spec, metadata } = instance;
  if (metadata.deletionTimestamp) return LifecycleAction.None;
  if (spec.expiresAt) {
    const at = new Date(spec.expiresAt);
    if (!Number.isNaN(at.getTime()) && at.getTime() <= now.getTime()) return LifecycleAction.Delete;
  }
  if (spec.idleTimeout && spec.state !== InstanceState.Hibernated && !spec.suspend) {
    const timeout = parseDuration(spec.idleTimeout);
    const last = activity.lastActivity(instance);
    if (timeout !== undefined && last && now.getTime() - last.getTime() >= timeout) return LifecycleAction.Hibernate;
  }
  return LifecycleAction.None;
}

/** One pass over every instance; failures of one instance do not stop the others. */
export async function runLifecycleOnce(deps: LifecycleDeps): Promise<LifecycleReport> {
  const now = (deps.now ?? (() => new Date()))();
  const report: LifecycleReport = { expired: [], hibernated: [], failed: [] };
  for (const instance of await deps.instances.list()) {
    const name = instance.metadata.name;
    const action = lifecycleAction(instance, now, deps.activity);
    const counted = action === LifecycleAction.Delete ? 'expire' : 'idle-hibernate';
    try {
      if (action === LifecycleAction.Delete) {
        await deps.instances.delete(name);
        report.expired.push(name);
        deps.metrics?.lifecycleActions.inc({ action: counted, result: 'ok' });
        const message = `spec.expiresAt ${instance.spec.expiresAt} has passed: deleting the instance (deletionPolicy ${instance.spec.deletionPolicy ?? 'Delete'})`;
        deps.events.record(instance, 'Normal', Reason.Expired, message);
        deps.log.info({ instance: name, expiresAt: instance.spec.expiresAt }, message);
      } else if (action === LifecycleAction.Hibernate) {
        await deps.instances.hibernate(name);
        report.hibernated.push(name);
        deps.metrics?.lifecycleActions.inc({ action: counted, result: 'ok' });
        const last = deps.activity.lastActivity(instance)?.toISOString();
        const message = `no activity since ${last} (idleTimeout ${instance.spec.idleTimeout}): hibernating`;
        deps.events.record(instance, 'Normal', Reason.IdleHibernation, message);
        deps.log.info({ instance: name, lastActivity: last, idleTimeout: instance.spec.idleTimeout }, message);
      }
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      report.failed.push({ name, error });
      deps.metrics?.lifecycleActions.inc({ action: counted, result: 'error' });
      deps.log.error({ instance: name, action, err: error }, 'lifecycle action failed; retried at the next run');
    }
  }
  return report;
}

/**
 * Runs the job on `schedule` until stop(). A run still going when the next is
 * due is skipped (noOverlap), so a slow API server never stacks runs.
 */
export function startLifecycleJob(schedule: string, deps: LifecycleDeps): { task: ScheduledTask; stop(): Promise<void> } {
  const task = cron.schedule(
    schedule,
    async () => {
      try {
        const report = await runLifecycleOnce(deps);
        if (report.expired.length + report.hibernated.length + report.failed.length > 0) deps.log.info({ ...report }, 'lifecycle run');
      } catch (err) {
        deps.log.error({ err: err instanceof Error ? err.message : String(err) }, 'lifecycle run failed');
      }
    },
    { name: 'caelus-lifecycle', noOverlap: true },
  );
  return {
    task,
    stop: async () => {
      await task.stop();
      await task.destroy();
    },
  };
}
