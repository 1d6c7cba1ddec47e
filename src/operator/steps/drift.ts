import { CONTINUE, type DesiredContext, type Step } from '../context.ts';
import { DriftMode, InstanceState, Reason, releaseName } from '../../domain/instance.ts';
import { tenantUser } from '../../domain/tenant.ts';
import type { Metrics } from '../../observability/metrics.ts';
import type { CheckResult, DriftedResource } from '../../drift/checker.ts';
import type { ManifestObject } from '../../drift/release-manifest.ts';
import { checkStoredManifest, kindsPolicyFor, type KindsPolicyConfig, type StoredManifestVerdict } from '../kinds-policy.ts';
import type { DriftPort, EventSink, LoopGuardPort, ReleaseManifestPort } from '../ports.ts';
import { correctDrift, noDrift, reportDrift, reportTampered } from '../release/actions.ts';
import { helmFailure } from '../release/helm-failure.ts';
import { ReleaseAction, ReleaseState, chooseAction } from '../release/state.ts';

export interface DriftStepDeps {
  manifests: ReleaseManifestPort;
  checker: DriftPort;
  guard: LoopGuardPort;
  events: EventSink;
  /** What the kinds policy allows beyond its defaults: a stored manifest passes it before anything of it is re-applied. */
  policy: KindsPolicyConfig;
  metrics?: Pick<Metrics, 'driftDetections' | 'driftCorrections' | 'driftCorrectionLatency'>;
  /** True once per instance after a periodic full check was requested. */
  takeFullCheck(name: string): boolean;
}

function report(drifted: readonly DriftedResource[]) {
  return drifted.map((d) => ({ kind: d.kind, namespace: d.namespace, name: d.name, missing: d.missing, pointers: d.pointers }));
}

/**
 * The second observation of the release decision table, once the release is
 * in sync: its live objects against its stored manifest (policy-checked
 * first, since the record is tenant-writable).
 */
export function driftStep(deps: DriftStepDeps): Step<DesiredContext> {
  return {
    name: 'drift',
    async run(ctx) {
      const spec = ctx.instance.spec;
      const mode = spec.driftDetection?.mode ?? DriftMode.Enabled;
      const name = releaseName(ctx.instance);
      const revision = ctx.status.current.release?.revision;
      if (mode !== DriftMode.Disabled && !revision) return CONTINUE;

      let objects: readonly ManifestObject[] = [];
      let verdict: StoredManifestVerdict | undefined;
      let result: CheckResult | undefined;
      const hibernated = spec.state === InstanceState.Hibernated;
      const detectedAt = ctx.now();
      // Reads and dry runs act as the tenant (corrections too, in correctDrift): its role is the wall, not the operator's.
      const asUser = tenantUser(ctx.namespace);
      if (mode !== DriftMode.Disabled && revision) {
        try {
          objects = await deps.manifests.get(name, ctx.namespace, revision, { asUser });
        } catch (err) {
          throw helmFailure(err, Reason.ReconcileError);
        }
        verdict = checkStoredManifest(objects, revision, kindsPolicyFor(deps.policy, ctx.instance, ctx.namespace));
        // Even a dry run of a forged object is not sent to the API server.
        if (verdict.trusted) {
          result = await deps.checker.check(objects, {
            ignore: spec.driftDetection?.ignore ?? [],
            ignoreReplicas: hibernated,
            full: deps.takeFullCheck(ctx.instance.metadata.name),
            asUser,
            // A revision recorded in this reconcile, where the CR had one before or none at all: helm just applied it.
            justApplied: revision !== ctx.instance.status?.release?.revision,
          });
        }
      }
      const drifted = result ? result.drifted.length > 0 : undefined;
      const action = chooseAction({
        state: ReleaseState.InSync,
        leader: true,
        ...(verdict ? { storedManifest: verdict } : {}),
        drift: { mode, ...(drifted === undefined ? {} : { drifted }), loopGuardTripped: deps.guard.tripped(ctx.instance.metadata.name) },
      });
      if (result && drifted) {
        deps.metrics?.driftDetections.inc({ mode });
        ctx.log.info({ drifted: report(result.drifted), mode }, 'drift detected');
      }
      switch (action) {
        case ReleaseAction.ReportTampered:
          if (verdict && !verdict.trusted) reportTampered(ctx, verdict, 're-applied to correct drift');
          return CONTINUE;
        case ReleaseAction.ReportDrift:
          if (result) reportDrift(ctx, deps, mode, result, detectedAt);
          return CONTINUE;
        case ReleaseAction.CorrectDrift:
          if (result) await correctDrift(ctx, deps, mode, result, objects, detectedAt, hibernated);
          return CONTINUE;
        default:
          noDrift(ctx, mode, result);
          return CONTINUE;
      }
    },
  };
}
