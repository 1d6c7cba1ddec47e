import type { Logger } from '../observability/logger.ts';
import type { ResolvedTemplateVersion } from '../domain/catalog.ts';
import { setCondition, type ConditionUpdate } from '../domain/conditions.ts';
import type { CaelusInstance, CaelusInstanceStatus, Phase } from '../domain/instance.ts';

/** State carried through one reconcile of one instance; steps read what earlier steps filled in. */
export interface ReconcileContext {
  readonly instance: CaelusInstance;
  /** The status being built; written once at the end (and before long actions). */
  status: CaelusInstanceStatus;
  readonly log: Logger;
  readonly signal: AbortSignal;
  readonly now: () => Date;
  namespace?: string;
  template?: ResolvedTemplateVersion;
  desired?: { values: Record<string, unknown>; digest: string };
  /** Set once the finalizer is gone: the object may no longer exist, so no status is written. */
  finalized?: boolean;
}

export function setPhase(ctx: ReconcileContext, phase: Phase, message?: string): void {
  ctx.status.phase = phase;
  if (message !== undefined) ctx.status.message = message;
}

export function condition(ctx: ReconcileContext, update: ConditionUpdate): void {
  ctx.status.conditions = setCondition(
    ctx.status.conditions,
    update,
    ctx.instance.metadata.generation,
    ctx.now(),
  );
}

/** What a step tells the pipeline: go on, or stop here (optionally coming back later). */
export type StepOutcome = { stop: false } | { stop: true; requeueAfterMs?: number };
export const CONTINUE: StepOutcome = { stop: false };
export const stopHere = (requeueAfterMs?: number): StepOutcome =>
  requeueAfterMs === undefined ? { stop: true } : { stop: true, requeueAfterMs };

export interface Step {
  readonly name: string;
  run(ctx: ReconcileContext): Promise<StepOutcome>;
}

/**
 * The status proves the release was deployed from exactly the desired inputs
 * into this namespace: no helm work is needed (release step) and nothing new
 * will be installed, so there is nothing to police (policy step).
 */
export function releaseUpToDate(ctx: ReconcileContext): boolean {
  const last = ctx.instance.status?.release;
  return last?.appliedDigest === ctx.desired?.digest && last?.status === 'deployed' && ctx.instance.status?.namespace === ctx.namespace;
}
