import { CONTINUE, type DesiredContext, type Step } from '../context.ts';
import { Reason, releaseName } from '../../domain/instance.ts';
import { ReconcileError } from '../errors.ts';
import { checkStoredManifest, kindsPolicyFor } from '../kinds-policy.ts';
import { tenantUser } from '../../domain/tenant.ts';
import type { HelmReleaseState, ReleaseManifestPort } from '../ports.ts';
import { awaitLeader, findUnlockTarget, install, keepRelease, reportTampered, unlock, upgrade, type ReleaseActionDeps } from '../release/actions.ts';
import { helmFailure } from '../release/helm-failure.ts';
import { ReleaseAction, ReleaseState, chooseAction, classifyRelease, provenInSync, type ReleaseObservation } from '../release/state.ts';

export interface ReleaseStepDeps extends ReleaseActionDeps {
  /** Stored release manifests (Unlock's rollback target is checked before it is rolled back to). */
  manifests: ReleaseManifestPort;
  /** True while this process holds the leader lease (stuck releases are only recovered by the leader). */
  isLeader(): boolean;
}

/** The release as helm's storage has it, or as the status proves it. */
type Known = { proven: true } | { proven: false; release: HelmReleaseState | undefined };

interface Observed {
  observation: ReleaseObservation;
  known: Known;
  /** Unlock's rollback target (undefined: uninstall). */
  target?: number;
}

async function observe(ctx: DesiredContext, deps: ReleaseStepDeps, known: Known): Promise<Observed> {
  const leader = deps.isLeader();
  if (known.proven) return { observation: { state: ReleaseState.InSync, leader }, known };
  const state = classifyRelease(known.release, ctx.desired.digest);
  if (state !== ReleaseState.Locked || !leader || !known.release) return { observation: { state, leader }, known };
  // Unlock would roll back to a stored revision: the policy sees its manifest first.
  const target = await findUnlockTarget(ctx, deps.helm, known.release);
  if (target === undefined) return { observation: { state, leader }, known };
  const objects = await deps.manifests.get(releaseName(ctx.instance), ctx.namespace, target, { asUser: tenantUser(ctx.namespace) });
  const storedManifest = checkStoredManifest(objects, target, kindsPolicyFor(deps.policy, ctx.instance, ctx.namespace));
  return { observation: { state, leader, storedManifest }, known, target };
}

async function read(ctx: DesiredContext, deps: ReleaseStepDeps): Promise<Known> {
  return { proven: false, release: await deps.helm.status(releaseName(ctx.instance), ctx.namespace) };
}

/**
 * Brings the Helm release to the desired digest: observe → choose one action
 * → run it → observe again, until nothing is left to do. No action runs twice
 * in one reconcile.
 */
export function releaseStep(deps: ReleaseStepDeps): Step<DesiredContext> {
  return {
    name: 'release',
    async run(ctx) {
      const name = releaseName(ctx.instance);
      const done = new Set<ReleaseAction>();
      try {
        // Steady state costs no helm process and no read: the status proves the inputs.
        let known: Known = provenInSync(ctx.instance.status, ctx.desired.digest, ctx.namespace) ? { proven: true } : await read(ctx, deps);
        for (;;) {
          const { observation, target } = await observe(ctx, deps, known);
          const action = chooseAction(observation);
          ctx.log.debug({ release: name, state: observation.state, action }, 'release observed');
          if (done.has(action)) {
            throw new ReconcileError(Reason.ReconcileError, `release ${name} is still ${observation.state} after ${action}; not running ${action} twice in one reconcile`);
          }
          done.add(action);
          switch (action) {
            case ReleaseAction.None:
              if (!known.proven && known.release) keepRelease(ctx, known.release);
              return CONTINUE;
            case ReleaseAction.Install:
              known = { proven: false, release: await install(ctx, deps) };
              break;
            case ReleaseAction.Upgrade:
              known = { proven: false, release: await upgrade(ctx, deps) };
              break;
            case ReleaseAction.AwaitLeader:
              return awaitLeader();
            case ReleaseAction.Unlock:
              if (known.proven || !known.release) throw new ReconcileError(Reason.ReconcileError, `release ${name}: Unlock chosen without an observed release`);
              await unlock(ctx, deps, known.release, target);
              known = await read(ctx, deps);
              break;
            case ReleaseAction.ReportTampered:
              if (observation.storedManifest && !observation.storedManifest.trusted) reportTampered(ctx, observation.storedManifest, 'rolled back to');
              throw new ReconcileError(Reason.ReconcileError, `release ${name}: ReportTampered without a verdict`);
            case ReleaseAction.CorrectDrift:
            case ReleaseAction.ReportDrift:
              // Drift is observed by the drift step, after hibernation.
              return CONTINUE;
          }
        }
      } catch (err) {
        throw helmFailure(err, Reason.ReconcileError);
      }
    },
  };
}
