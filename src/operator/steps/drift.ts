import { CONTINUE, condition, type ReconcileContext, type Step } from '../context.ts';
import { ConditionType, DriftMode, InstanceState, Reason, releaseName } from '../../domain/instance.ts';
import { tenantUser } from '../../domain/tenant.ts';
import type { Metrics } from '../../observability/metrics.ts';
import type { DriftChecker, DriftedResource } from '../../drift/checker.ts';
import type { CorrectionLoopGuard } from '../../drift/loop-guard.ts';
import type { ReleaseManifests } from '../../drift/release-manifest.ts';
import type { EventSink } from '../ports.ts';

export interface DriftStepDeps {
  manifests: ReleaseManifests;
  checker: DriftChecker;
  guard: CorrectionLoopGuard;
  events: EventSink;
  metrics?: Metrics;
  /** True once per instance after a periodic full check was requested. */
  takeFullCheck(name: string): boolean;
}

/** `Deployment/web: /spec/replicas, /metadata/labels/x`: names and pointers only, never values (Secrets). */
export function describeDrift(drifted: readonly DriftedResource[]): string {
  return drifted
    .map((d) => `${d.kind}/${d.name}${d.missing ? ' (missing)' : `: ${d.pointers.slice(0, 10).join(', ')}${d.pointers.length > 10 ? ', …' : ''}`}`)
    .join('; ');
}

function report(drifted: readonly DriftedResource[]) {
  return drifted.map((d) => ({ kind: d.kind, namespace: d.namespace, name: d.name, missing: d.missing, pointers: d.pointers }));
}

/** Compares the release's live objects with its manifest and (mode `enabled`) puts them back. */
export function driftStep(deps: DriftStepDeps): Step {
  return {
    name: 'drift',
    async run(ctx: ReconcileContext) {
      const spec = ctx.instance.spec;
      const mode = spec.driftDetection?.mode ?? DriftMode.Enabled;
      const name = releaseName(ctx.instance);
      if (mode === DriftMode.Disabled) {
        condition(ctx, { type: ConditionType.Drifted, status: 'False', reason: Reason.DriftDetectionDisabled, message: 'drift detection is disabled' });
        return CONTINUE;
      }
      const revision = ctx.status.release?.revision;
      if (!revision || !ctx.namespace) return CONTINUE;
      // Reads, dry-runs and corrections all act as the tenant: its role is the wall, not the operator's.
      const asUser = tenantUser(ctx.namespace);
      const objects = await deps.manifests.get(name, ctx.namespace, revision, { asUser });
      const hibernated = spec.state === InstanceState.Hibernated;
      const result = await deps.checker.check(objects, {
        asUser,
        ignore: spec.driftDetection?.ignore ?? [],
        ignoreReplicas: hibernated,
        full: deps.takeFullCheck(ctx.instance.metadata.name),
      });
      if (result.drifted.length === 0) {
        condition(ctx, { type: ConditionType.Drifted, status: 'False', reason: Reason.NoDrift, message: `${result.objects} objects match the release manifest` });
        return CONTINUE;
      }

      const detectedAt = ctx.now();
      const summary = describeDrift(result.drifted);
      deps.metrics?.driftDetections.inc({ mode });
      ctx.log.info({ drifted: report(result.drifted), mode }, 'drift detected');
      if (mode === DriftMode.Warn || deps.guard.tripped(ctx.instance.metadata.name)) {
        const loop = mode !== DriftMode.Warn;
        const reason = loop ? Reason.DriftLoop : Reason.DriftDetected;
        const message = loop ? `corrections suspended: something keeps changing managed objects (${summary})` : `drift detected (not corrected, mode warn): ${summary}`;
        condition(ctx, { type: ConditionType.Drifted, status: 'True', reason, message });
        ctx.status.drift = { mode, detectedAt: detectedAt.toISOString(), resources: report(result.drifted) };
        deps.events.record(ctx.instance, 'Warning', reason, message);
        return CONTINUE;
      }

      await deps.checker.correct(result.drifted, objects, { ignoreReplicas: hibernated, asUser });
      const correctedAt = ctx.now();
      deps.metrics?.driftCorrections.inc();
      deps.metrics?.driftCorrectionLatency.observe((correctedAt.getTime() - detectedAt.getTime()) / 1000);
      const tripped = deps.guard.record(ctx.instance.metadata.name);
      ctx.status.drift = { mode, detectedAt: detectedAt.toISOString(), correctedAt: correctedAt.toISOString(), resources: report(result.drifted) };
      condition(ctx, { type: ConditionType.Drifted, status: 'False', reason: Reason.DriftCorrected, message: `corrected: ${summary}` });
      deps.events.record(ctx.instance, 'Normal', Reason.DriftCorrected, `corrected drift: ${summary}`);
      ctx.log.info({ corrected: result.drifted.length }, 'drift corrected');
      if (tripped) {
        const message = `drift corrected ${'more than the allowed times'} in a short window; corrections suspended for a while`;
        condition(ctx, { type: ConditionType.Drifted, status: 'True', reason: Reason.DriftLoop, message });
        deps.events.record(ctx.instance, 'Warning', Reason.DriftLoop, message);
      }
      return CONTINUE;
    },
  };
}
