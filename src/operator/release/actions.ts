// One function per release action of the decision table (state.ts). Each
// does its work and records it in the status draft; the caller observes again
// and chooses what comes next.
import { condition, setPhase, stopHere, type DesiredContext, type StepOutcome } from '../context.ts';
import { ConditionType, DriftMode, Phase, Reason, releaseName } from '../../domain/instance.ts';
import { tenantUser } from '../../domain/tenant.ts';
import { describeViolations } from '../../domain/kinds-policy.ts';
import type { CheckResult, DriftedResource } from '../../drift/checker.ts';
import type { ManifestObject } from '../../drift/release-manifest.ts';
import type { Metrics } from '../../observability/metrics.ts';
import { ReconcileError } from '../errors.ts';
import { kindsPolicyFor, type KindsPolicyConfig, type StoredManifestVerdict } from '../kinds-policy.ts';
import type { DriftPort, EventSink, HelmPort, HelmReleaseState, LoopGuardPort, ReleaseManifestPort } from '../ports.ts';
import { TAMPERED_RETRY_MS, helmFailure, policyViolations } from './helm-failure.ts';
import { describeDigest, unlockTarget } from './state.ts';

export interface ReleaseActionDeps {
  helm: HelmPort;
  helmTimeoutSeconds: number;
  events: EventSink;
  /** Persists the status draft now, so users see Installing/Upgrading while helm runs. */
  writeProgress(ctx: DesiredContext): Promise<void>;
  /** What the kinds policy allows beyond its defaults: enforced by the post-renderer of the upgrade itself. */
  policy: KindsPolicyConfig;
  metrics?: Pick<Metrics, 'policyRefusals'>;
  /** Where the drift step reads the release's manifest: told what helm just applied. */
  manifests?: Pick<ReleaseManifestPort, 'remember'>;
}

export interface DriftActionDeps {
  checker: DriftPort;
  guard: LoopGuardPort;
  events: EventSink;
  metrics?: Pick<Metrics, 'driftCorrections' | 'driftCorrectionLatency'>;
}

// A stuck release is recovered by the leader; a follower looks again at this pace.
export const AWAIT_LEADER_MS = 5_000;

function recordRelease(ctx: DesiredContext, release: HelmReleaseState, reason: Reason, message: string): void {
  ctx.status.update({
    release: {
      name: releaseName(ctx.instance),
      revision: release.revision,
      ...(release.chart ? { chart: release.chart } : {}),
      ...(release.chartVersion ? { version: release.chartVersion } : {}),
      status: release.status,
      appliedDigest: ctx.desired.digest,
    },
  });
  condition(ctx, { type: ConditionType.Released, status: 'True', reason, message });
}

/** None with a release read from helm's storage: record it, keeping how it got here (InstallSucceeded/UpgradeSucceeded) if we already said so. */
export function keepRelease(ctx: DesiredContext, release: HelmReleaseState): void {
  const released = ctx.status.current.conditions?.find((c) => c.type === ConditionType.Released);
  if (released?.status === 'True') recordRelease(ctx, release, released.reason, released.message ?? '');
  else recordRelease(ctx, release, Reason.InSync, `release ${releaseName(ctx.instance)} revision ${release.revision} is deployed and up to date`);
}

/** Install and Upgrade are one helm call (`upgrade --install`); they differ only in what users are told. */
async function applyRelease(ctx: DesiredContext, deps: ReleaseActionDeps, installing: boolean): Promise<HelmReleaseState> {
  const name = releaseName(ctx.instance);
  setPhase(ctx, installing ? Phase.Installing : Phase.Upgrading, `${installing ? 'installing' : 'upgrading'} release ${name}`);
  condition(ctx, { type: ConditionType.Ready, status: 'False', reason: Reason.Progressing, message: `helm ${installing ? 'install' : 'upgrade'} running` });
  await deps.writeProgress(ctx);
  const policy = kindsPolicyFor(deps.policy, ctx.instance, ctx.namespace);
  let result: HelmReleaseState;
  try {
    result = await deps.helm.upgradeInstall({
      release: name,
      namespace: ctx.namespace,
      chart: ctx.template.chart,
      ...(ctx.template.chartVersion ? { chartVersion: ctx.template.chartVersion } : {}),
      values: ctx.desired.values,
      timeoutSeconds: deps.helmTimeoutSeconds,
      description: describeDigest(ctx.desired.digest),
      labels: { ...ctx.desired.labels },
      policy: { allowedKinds: policy.allowedKinds ?? [], allowedClusterRoles: policy.allowedClusterRoles ?? [], reserved: policy.reserved ?? [] },
      signal: ctx.signal,
    });
  } catch (err) {
    const violations = policyViolations(err);
    for (const kind of new Set(violations.map((v) => v.kind))) deps.metrics?.policyRefusals.inc({ kind });
    if (violations.length > 0) {
      ctx.log.warn({ violations: violations.map((v) => ({ reason: v.reason, kind: v.kind, name: v.name })) }, 'release refused by the kinds policy');
    }
    throw helmFailure(err, installing ? Reason.InstallFailed : Reason.UpgradeFailed);
  }
  // helm's own output, not the release Secret in the tenant's namespace: one
  // GET and a gzip decode fewer per install, from a source the tenant cannot write.
  if (result.manifest !== undefined) deps.manifests?.remember(name, ctx.namespace, result.revision, result.manifest);
  const reason = installing ? Reason.InstallSucceeded : Reason.UpgradeSucceeded;
  const message = `${installing ? 'installed' : 'upgraded'} release ${name}: revision ${result.revision}`;
  recordRelease(ctx, result, reason, message);
  deps.events.record(ctx.instance, 'Normal', reason, message);
  ctx.log.info({ release: name, revision: result.revision }, message);
  return result;
}

export const install = (ctx: DesiredContext, deps: ReleaseActionDeps) => applyRelease(ctx, deps, true);
export const upgrade = (ctx: DesiredContext, deps: ReleaseActionDeps) => applyRelease(ctx, deps, false);

/**
 * Recovers a release left pending-* by an operator that died mid-operation:
 * back to `target` (the last good revision, whose stored manifest passed the
 * policy), or uninstalled if it never had one. The decision table only picks
 * this while we lead, so no live operation of ours or another replica owns it.
 */
export async function unlock(ctx: DesiredContext, deps: ReleaseActionDeps, locked: HelmReleaseState, target: number | undefined): Promise<void> {
  const name = releaseName(ctx.instance);
  let message: string;
  try {
    if (target === undefined) {
      await deps.helm.uninstall(name, ctx.namespace, ctx.signal);
      message = `release was stuck in ${locked.status} at revision ${locked.revision} with no earlier deployed revision: uninstalled it`;
    } else {
      await deps.helm.rollback(name, ctx.namespace, target, ctx.signal);
      message = `release was stuck in ${locked.status} at revision ${locked.revision}: rolled back to revision ${target}`;
    }
  } catch (err) {
    throw helmFailure(err, Reason.UpgradeFailed);
  }
  deps.events.record(ctx.instance, 'Warning', Reason.ReleaseUnlocked, message);
  ctx.log.warn({ release: name }, message);
}

/** Where Unlock would go, read from the release history. */
export async function findUnlockTarget(ctx: DesiredContext, helm: HelmPort, locked: HelmReleaseState): Promise<number | undefined> {
  return unlockTarget(await helm.history(releaseName(ctx.instance), ctx.namespace), locked.revision);
}

export function awaitLeader(): StepOutcome {
  return stopHere(AWAIT_LEADER_MS);
}

/** A release record that fails the policy: Ready=False ReleaseTampered + Warning Event (the reconciler's failure path); nothing applied. */
export function reportTampered(ctx: DesiredContext, verdict: Extract<StoredManifestVerdict, { trusted: false }>, purpose: string): never {
  const record = `sh.helm.release.v1.${releaseName(ctx.instance)}.v${verdict.revision}`;
  ctx.log.warn({ record, violations: verdict.violations.map((v) => ({ reason: v.reason, kind: v.kind, name: v.name })) }, 'release record refused by the kinds policy');
  throw new ReconcileError(
    Reason.ReleaseTampered,
    `release record ${record} in namespace ${ctx.namespace} fails the kinds policy, so it is not ${purpose}: ${describeViolations(verdict.violations)}`,
    { requeueAfterMs: TAMPERED_RETRY_MS },
  );
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

/** None after a drift check: say what was found (nothing), or that checks are off. */
export function noDrift(ctx: DesiredContext, mode: DriftMode, result: CheckResult | undefined): void {
  if (mode === DriftMode.Disabled || !result) {
    condition(ctx, { type: ConditionType.Drifted, status: 'False', reason: Reason.DriftDetectionDisabled, message: 'drift detection is disabled' });
  } else {
    condition(ctx, { type: ConditionType.Drifted, status: 'False', reason: Reason.NoDrift, message: `${result.objects} objects match the release manifest` });
  }
}

/** Mode warn, or the loop guard tripped: Drifted=True + Warning Event, nothing changed. */
export function reportDrift(ctx: DesiredContext, deps: DriftActionDeps, mode: DriftMode, result: CheckResult, detectedAt: Date): void {
  const summary = describeDrift(result.drifted);
  const loop = mode !== DriftMode.Warn;
  const reason = loop ? Reason.DriftLoop : Reason.DriftDetected;
  const message = loop ? `corrections suspended: something keeps changing managed objects (${summary})` : `drift detected (not corrected, mode warn): ${summary}`;
  condition(ctx, { type: ConditionType.Drifted, status: 'True', reason, message });
  ctx.status.update({ drift: { mode, detectedAt: detectedAt.toISOString(), resources: report(result.drifted) } });
  deps.events.record(ctx.instance, 'Warning', reason, message);
}

/** Re-applies the drifted objects from the (policy-checked) release manifest; no new Helm revision. */
export async function correctDrift(
  ctx: DesiredContext,
  deps: DriftActionDeps,
  mode: DriftMode,
  result: CheckResult,
  objects: readonly ManifestObject[],
  detectedAt: Date,
  hibernated: boolean,
): Promise<void> {
  const summary = describeDrift(result.drifted);
  // Corrections are the tenant's writes: its role, not the operator's, is the wall.
  await deps.checker.correct(result.drifted, objects, { ignoreReplicas: hibernated, asUser: tenantUser(ctx.namespace) });
  const correctedAt = ctx.now();
  deps.metrics?.driftCorrections.inc();
  deps.metrics?.driftCorrectionLatency.observe((correctedAt.getTime() - detectedAt.getTime()) / 1000);
  const tripped = deps.guard.record(ctx.instance.metadata.name);
  ctx.status.update({ drift: { mode, detectedAt: detectedAt.toISOString(), correctedAt: correctedAt.toISOString(), resources: report(result.drifted) } });
  condition(ctx, { type: ConditionType.Drifted, status: 'False', reason: Reason.DriftCorrected, message: `corrected: ${summary}` });
  deps.events.record(ctx.instance, 'Normal', Reason.DriftCorrected, `corrected drift: ${summary}`);
  ctx.log.info({ corrected: result.drifted.length }, 'drift corrected');
  if (tripped) {
    const message = 'drift corrected more than the allowed times in a short window; corrections suspended for a while';
    condition(ctx, { type: ConditionType.Drifted, status: 'True', reason: Reason.DriftLoop, message });
    deps.events.record(ctx.instance, 'Warning', Reason.DriftLoop, message);
  }
}
