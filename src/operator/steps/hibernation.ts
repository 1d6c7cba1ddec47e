// spec.state Hibernated scales every Deployment and StatefulSet of the release
// to zero, remembering each one's replicas in an annotation; Running puts them
// back. Workloads are found by the caelus.io/instance label the post-renderer
// puts on every rendered object, so no helm process is needed. PVCs are never
// touched: the data outlives the sleep.
import { CONTINUE, condition, type DesiredContext, type Step } from '../context.ts';
import { getCondition } from '../../domain/conditions.ts';
import { ConditionType, INSTANCE_LABEL, InstanceState, Reason } from '../../domain/instance.ts';
import type { Metrics } from '../../observability/metrics.ts';
import type { EventSink, WorkloadPort } from '../ports.ts';

export const HIBERNATED_REPLICAS_ANNOTATION = 'caelus.io/hibernated-replicas';
export const HIBERNATION_FIELD_MANAGER = 'caelus-hibernation';

export interface HibernationStepDeps {
  workloads: WorkloadPort;
  events: EventSink;
  /** caelus_lifecycle_actions_total{action="hibernate"|"wake"}. */
  metrics?: Pick<Metrics, 'lifecycleActions'>;
}

export function hibernationStep(deps: HibernationStepDeps): Step<DesiredContext> {
  return {
    name: 'hibernation',
    async run(ctx) {
      const { instance } = ctx;
      const namespace = ctx.namespace;
      const hibernate = instance.spec.state === InstanceState.Hibernated;
      const wasHibernated = getCondition(ctx.status.current.conditions, ConditionType.Hibernated)?.status === 'True';
      // Awake and never put to sleep: nothing to look at (keeps steady state at zero extra calls).
      if (!hibernate && !wasHibernated) return CONTINUE;

      const action = hibernate ? 'hibernate' : 'wake';
      const counted = <T>(work: () => Promise<T>): Promise<T> =>
        work().catch((err: unknown) => {
          deps.metrics?.lifecycleActions.inc({ action, result: 'error' });
          throw err;
        });
      const workloads = await counted(() => deps.workloads.list(namespace, `${INSTANCE_LABEL}=${instance.metadata.name}`));
      let changed = 0;
      if (hibernate) {
        for (const w of workloads) {
          // A helm upgrade while asleep resets replicas from the chart: that is the value to wake up to.
          if (w.replicas > 0) {
            await counted(() => deps.workloads.scale(namespace, w, 0, String(w.replicas)));
            changed++;
          }
        }
        const message = `${workloads.length} workload(s) scaled to zero; volumes kept`;
        condition(ctx, { type: ConditionType.Hibernated, status: 'True', reason: Reason.Hibernated, message });
        if (!wasHibernated) {
          ctx.status.update({ hibernation: { ...ctx.status.current.hibernation, hibernatedAt: ctx.now().toISOString() } });
          deps.events.record(instance, 'Normal', Reason.Hibernated, message);
          deps.metrics?.lifecycleActions.inc({ action, result: 'ok' });
          ctx.log.info({ namespace, workloads: workloads.length, scaled: changed }, 'hibernated');
        }
        return CONTINUE;
      }

      for (const w of workloads) {
        const replicas = w.hibernatedReplicas;
        if (replicas === undefined) continue;
        await counted(() => deps.workloads.scale(namespace, w, replicas, null));
        changed++;
      }
      const message = `${changed} workload(s) restored to their replicas`;
      condition(ctx, { type: ConditionType.Hibernated, status: 'False', reason: Reason.Awake, message });
      ctx.status.update({ hibernation: { ...ctx.status.current.hibernation, wokeAt: ctx.now().toISOString() } });
      deps.events.record(instance, 'Normal', Reason.Awake, message);
      deps.metrics?.lifecycleActions.inc({ action, result: 'ok' });
      ctx.log.info({ namespace, restored: changed }, 'woke up');
      return CONTINUE;
    },
  };
}
