// One small function per release action. Each runs helm and returns; the
// caller observes again and decides what comes next.
import type { ReconcileContext } from '../context.ts';
import type { HelmPort, HelmReleaseState } from '../ports.ts';
import { describeDigest, unlockTarget } from './state.ts';
import { INSTANCE_LABEL, releaseName } from '../../domain/instance.ts';
import { secretsName } from '../steps/guardrails.ts';
import { tenantReservedObjects } from '../../domain/tenant.ts';

export interface ActionDeps {
  helm: HelmPort;
  helmTimeoutSeconds: number;
  /** The kinds policy the post-renderer enforces; absent only in bare pipelines (and the test build without it). */
  policy?: { allowedKinds: readonly string[]; allowedClusterRoles: readonly string[] };
}

/** Install and upgrade are one helm call (`upgrade --install`); they differ only in what users are told. */
export async function applyRelease(ctx: ReconcileContext, deps: ActionDeps): Promise<HelmReleaseState> {
  const template = ctx.template!;
  const desired = ctx.desired!;
  return deps.helm.upgradeInstall({
    release: releaseName(ctx.instance),
    namespace: ctx.namespace!,
    chart: template.chart,
    ...(template.chartVersion ? { chartVersion: template.chartVersion } : {}),
    values: desired.values,
    timeoutSeconds: deps.helmTimeoutSeconds,
    description: describeDigest(desired.digest),
    labels: { [INSTANCE_LABEL]: ctx.instance.metadata.name },
    ...(deps.policy
      ? {
          policy: {
            allowedKinds: deps.policy.allowedKinds,
            allowedClusterRoles: deps.policy.allowedClusterRoles,
            reserved: [{ kind: 'Secret', name: secretsName(ctx.instance) }, ...tenantReservedObjects()],
          },
        }
      : {}),
    signal: ctx.signal,
  });
}

/**
 * Recovers a release left pending-* by an operator that died mid-operation:
 * back to the last good revision, or uninstalled if it never had one. The
 * caller guarantees no live operation is running (lease held, none of ours).
 */
export async function unlockRelease(ctx: ReconcileContext, deps: ActionDeps, locked: HelmReleaseState): Promise<string> {
  const name = releaseName(ctx.instance);
  const history = await deps.helm.history(name, ctx.namespace!);
  const target = unlockTarget(history, locked.revision);
  if (target === undefined) {
    await deps.helm.uninstall(name, ctx.namespace!, ctx.signal);
    return `release was stuck in ${locked.status} at revision ${locked.revision} with no earlier deployed revision: uninstalled it`;
  }
  await deps.helm.rollback(name, ctx.namespace!, target, ctx.signal);
  return `release was stuck in ${locked.status} at revision ${locked.revision}: rolled back to revision ${target}`;
}
