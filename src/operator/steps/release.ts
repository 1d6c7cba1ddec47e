import { CONTINUE, condition, releaseUpToDate, setPhase, stopHere, type ReconcileContext, type Step } from '../context.ts';
import { ConditionType, Phase, Reason, releaseName } from '../../domain/instance.ts';
import type { EventSink, HelmPort, HelmReleaseState } from '../ports.ts';
import { applyRelease, unlockRelease } from '../release/actions.ts';
import { helmFailure, policyViolations } from '../release/helm-failure.ts';
import type { Metrics } from '../../observability/metrics.ts';
import { ReleaseAction, chooseAction, classifyRelease } from '../release/state.ts';
import { ReconcileError } from '../errors.ts';

export interface ReleaseStepDeps {
  helm: HelmPort;
  helmTimeoutSeconds: number;
  /** The kinds policy the release's post-renderer enforces. */
  policy?: { allowedKinds: readonly string[]; allowedClusterRoles: readonly string[] };
  metrics?: Pick<Metrics, 'policyRefusals'>;
  events: EventSink;
  /** True while this process holds the leader lease (stuck releases are only recovered by the leader). */
  isLeader(): boolean;
  /** Persists the status draft now, so users see Installing/Upgrading while helm runs. */
  writeProgress(ctx: ReconcileContext): Promise<void>;
}

// Each action is followed by a fresh observation; a healthy path needs at most
// Unlock → Upgrade → (InSync), so more rounds than this mean something fights us.
const MAX_ACTIONS = 4;

function recordDeployed(ctx: ReconcileContext, release: HelmReleaseState, digest: string, reason: Reason, message: string): void {
  ctx.status.release = {
    name: releaseName(ctx.instance),
    revision: release.revision,
    ...(release.chart ? { chart: release.chart } : {}),
    ...(release.chartVersion ? { version: release.chartVersion } : {}),
    status: release.status,
    appliedDigest: digest,
  };
  condition(ctx, { type: ConditionType.Released, status: 'True', reason, message });
}

/** Brings the Helm release to the desired digest: observe → choose one action → run it → observe again. */
export function releaseStep(deps: ReleaseStepDeps): Step {
  return {
    name: 'release',
    async run(ctx) {
      const name = releaseName(ctx.instance);
      const namespace = ctx.namespace!;
      const digest = ctx.desired!.digest;

      // Steady state costs no helm process: the status already proves the
      // release was deployed from exactly these inputs.
      if (releaseUpToDate(ctx)) return CONTINUE;

      let observed = await deps.helm.status(name, namespace);
      for (let round = 0; round < MAX_ACTIONS; round++) {
        const action = chooseAction(classifyRelease(observed, digest));
        ctx.log.debug({ release: name, status: observed?.status, action }, 'release observed');
        switch (action) {
          case ReleaseAction.None: {
            // Keep how it got here (InstallSucceeded/UpgradeSucceeded) when we already said so.
            const released = ctx.status.conditions?.find((c) => c.type === ConditionType.Released);
            const reason = released?.status === 'True' ? (released.reason as Reason) : Reason.InSync;
            recordDeployed(ctx, observed!, digest, reason, released?.status === 'True' ? (released.message ?? '') : `release ${name} revision ${observed!.revision} is deployed and up to date`);
            return CONTINUE;
          }
          case ReleaseAction.Install:
          case ReleaseAction.Upgrade: {
            const installing = action === ReleaseAction.Install;
            setPhase(ctx, installing ? Phase.Installing : Phase.Upgrading, `${installing ? 'installing' : 'upgrading'} release ${name}`);
            condition(ctx, { type: ConditionType.Ready, status: 'False', reason: Reason.Progressing, message: `helm ${installing ? 'install' : 'upgrade'} running` });
            await deps.writeProgress(ctx);
            let result: HelmReleaseState;
            try {
              result = await applyRelease(ctx, deps);
            } catch (err) {
              const violations = policyViolations(err);
              for (const kind of new Set(violations.map((v) => v.kind))) deps.metrics?.policyRefusals.inc({ kind });
              if (violations.length > 0) {
                ctx.log.warn({ violations: violations.map((v) => ({ reason: v.reason, kind: v.kind, name: v.name })) }, 'release refused by the kinds policy');
              }
              throw helmFailure(err, installing ? Reason.InstallFailed : Reason.UpgradeFailed);
            }
            const reason = installing ? Reason.InstallSucceeded : Reason.UpgradeSucceeded;
            const message = `${installing ? 'installed' : 'upgraded'} release ${name}: revision ${result.revision}`;
            recordDeployed(ctx, result, digest, reason, message);
            deps.events.record(ctx.instance, 'Normal', reason, message);
            ctx.log.info({ release: name, revision: result.revision }, message);
            if (result.status === 'deployed') return CONTINUE;
            observed = result;
            break;
          }
          case ReleaseAction.Unlock: {
            if (!deps.isLeader()) return stopHere(5_000);
            const message = await unlockRelease(ctx, deps, observed!).catch((err: unknown) => {
              throw helmFailure(err, Reason.UpgradeFailed);
            });
            deps.events.record(ctx.instance, 'Warning', Reason.ReleaseUnlocked, message);
            ctx.log.warn({ release: name }, message);
            observed = await deps.helm.status(name, namespace);
            break;
          }
        }
      }
      throw new ReconcileError(Reason.ReconcileError, `release ${name} did not converge after ${MAX_ACTIONS} actions`);
    },
  };
}
