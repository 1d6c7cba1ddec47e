// Fleet rollouts (DESIGN §5b), the pure part: the strategy and its safe
// defaults, the wave plan, who is left out and why, the failure budget, and
// the proof an upgraded instance must show before it counts. The runner
// (src/rollout) does the I/O and asks these functions what to do.

export const RolloutState = {
  Pending: 'Pending',
  Running: 'Running',
  Paused: 'Paused',
  Succeeded: 'Succeeded',
  Failed: 'Failed',
  Aborted: 'Aborted',
  RolledBack: 'RolledBack',
} as const;
export type RolloutState = (typeof RolloutState)[keyof typeof RolloutState];
export const ROLLOUT_STATES = Object.values(RolloutState);
/** A run in one of these may still start upgrades (Paused: once resumed). */
export const ACTIVE_ROLLOUT_STATES: readonly RolloutState[] = [RolloutState.Pending, RolloutState.Running, RolloutState.Paused];

export const RolloutInstanceState = {
  Pending: 'Pending',
  Upgrading: 'Upgrading',
  Baking: 'Baking',
  Succeeded: 'Succeeded',
  Failed: 'Failed',
  Skipped: 'Skipped',
  Deferred: 'Deferred',
  RolledBack: 'RolledBack',
} as const;
export type RolloutInstanceState = (typeof RolloutInstanceState)[keyof typeof RolloutInstanceState];
export const ROLLOUT_INSTANCE_STATES = Object.values(RolloutInstanceState);
/** States in which the runner has written (or is about to write) the target version for the instance. */
export const IN_FLIGHT: readonly RolloutInstanceState[] = [RolloutInstanceState.Upgrading, RolloutInstanceState.Baking];

/** Instances per state (every state present, 0 when none): the run's summary in the API, the metrics and the CaelusRollout. */
export function countStates(rows: readonly { state: RolloutInstanceState }[]): Record<RolloutInstanceState, number> {
  const counts = Object.fromEntries(ROLLOUT_INSTANCE_STATES.map((s) => [s, 0])) as Record<RolloutInstanceState, number>;
  for (const row of rows) counts[row.state]++;
  return counts;
}

export interface RolloutStrategy {
  /** Instances in the first wave. */
  canary: number;
  /** Each wave after the canary is this many times the previous one. */
  growth: number;
  maxWaveSize: number;
  /** Instances upgrading (desired state written, proof not yet seen) at once. */
  maxConcurrent: number;
  /** The run stops once this many instances failed. */
  maxFailures: number;
  /** ...or once this percentage of the waved instances failed; null: count only. */
  maxFailurePercent: number | null;
  /** Ready=True must hold this long after the upgrade is proven. */
  bakeSeconds: number;
  /** From writing the target version to proof, per instance; longer counts as a failure. */
  progressDeadlineSeconds: number;
  /** manual: the run waits for POST /rollouts/{id}/approve after the canary wave. */
  approval: 'auto' | 'manual';
  /** What a run whose failure budget is spent does: stop (Failed) or roll every upgraded instance back. */
  onFailure: 'pause' | 'rollback';
}

/** Safe by default: one canary, doubling waves, a bake between them, stop at the first failure. */
export const DEFAULT_STRATEGY: RolloutStrategy = {
  canary: 1,
  growth: 2,
  maxWaveSize: 50,
  maxConcurrent: 4,
  maxFailures: 1,
  maxFailurePercent: null,
  bakeSeconds: 60,
  progressDeadlineSeconds: 600,
  approval: 'auto',
  onFailure: 'pause',
};

export interface StrategyViolation {
  /** JSON pointer below the strategy object, e.g. `/canary`. */
  field: string;
  message: string;
}

/**
 * The strategy a run uses: defaults ⊕ a saved strategy ⊕ the request's
 * fields. Ranges are the schema's job (API TypeBox schema); this checks what
 * only makes sense across fields.
 */
export function resolveStrategy(...layers: Array<Partial<RolloutStrategy> | undefined>): { strategy: RolloutStrategy; violations: StrategyViolation[] } {
  const strategy: RolloutStrategy = { ...DEFAULT_STRATEGY };
  for (const layer of layers) {
    if (!layer) continue;
    for (const [k, v] of Object.entries(layer)) if (v !== undefined) (strategy as unknown as Record<string, unknown>)[k] = v;
  }
  const violations: StrategyViolation[] = [];
  if (strategy.canary > strategy.maxWaveSize) violations.push({ field: '/canary', message: `must not exceed maxWaveSize (${strategy.maxWaveSize})` });
  if (strategy.maxConcurrent < 1) violations.push({ field: '/maxConcurrent', message: 'must be at least 1' });
  if (strategy.maxFailures < 1) violations.push({ field: '/maxFailures', message: 'must be at least 1 (the failure that stops the run)' });
  return { strategy, violations };
}

/** Wave sizes for `count` instances: canary, then ×growth, capped at maxWaveSize; the last takes the rest. */
export function planWaves(count: number, s: Pick<RolloutStrategy, 'canary' | 'growth' | 'maxWaveSize'>): number[] {
  const waves: number[] = [];
  let left = count;
  let size = Math.max(1, Math.min(s.canary, s.maxWaveSize));
  while (left > 0) {
    const take = Math.min(size, left);
    waves.push(take);
    left -= take;
    size = Math.min(Math.max(1, Math.floor(size * s.growth)), s.maxWaveSize);
  }
  return waves;
}

/** The 1-based wave of each of `count` positions. */
export function waveOfPositions(count: number, s: Pick<RolloutStrategy, 'canary' | 'growth' | 'maxWaveSize'>): number[] {
  const out: number[] = [];
  planWaves(count, s).forEach((size, i) => {
    for (let k = 0; k < size; k++) out.push(i + 1);
  });
  return out;
}

/** What the run knows about an instance when it selects (and again when it reaches) it. */
export interface CandidateFacts {
  source: 'api' | 'cluster';
  state: 'Running' | 'Hibernated';
  /** The instance's current version compared with the target: <0 older, 0 same, >0 newer. */
  versionVsTarget: number;
  expiresAt: Date | null;
  deleted: boolean;
}

export type Selection =
  | { state: typeof RolloutInstanceState.Pending }
  | { state: typeof RolloutInstanceState.Skipped | typeof RolloutInstanceState.Deferred; reason: string };

/** Who is upgraded, and if not, why: nothing the selector matched is silently left out. */
export function classify(f: CandidateFacts, opts: { includeHibernated: boolean; now: Date }): Selection {
  if (f.deleted) return { state: RolloutInstanceState.Skipped, reason: 'deleted' };
  if (f.source === 'cluster') return { state: RolloutInstanceState.Skipped, reason: 'owned by Git (source=cluster): change its CaelusInstance in git' };
  if (f.versionVsTarget === 0) return { state: RolloutInstanceState.Skipped, reason: 'already at the target version' };
  if (f.versionVsTarget > 0) return { state: RolloutInstanceState.Skipped, reason: 'already above the target version' };
  if (f.expiresAt && f.expiresAt.getTime() <= opts.now.getTime()) return { state: RolloutInstanceState.Skipped, reason: 'expired before the run reached it' };
  if (f.state === 'Hibernated' && !opts.includeHibernated) {
    return { state: RolloutInstanceState.Deferred, reason: 'hibernated: upgraded when it wakes (or create the run with includeHibernated)' };
  }
  return { state: RolloutInstanceState.Pending };
}

/** The failure budget is spent: the run stops starting upgrades. */
export function failureBudgetSpent(failed: number, waved: number, s: Pick<RolloutStrategy, 'maxFailures' | 'maxFailurePercent'>): boolean {
  if (failed >= s.maxFailures) return true;
  return s.maxFailurePercent !== null && waved > 0 && (failed * 100) / waved >= s.maxFailurePercent;
}

/** What the CaelusInstance shows, reduced to what the proof needs. */
export interface InstanceObservation {
  generation: number;
  /** spec.productTemplateVersion (lower-cased uuid for API instances). */
  specVersionRef: string;
  observedGeneration: number | undefined;
  phase: string | undefined;
  ready: { status: string; reason?: string; message?: string } | undefined;
  releaseRevision: number | undefined;
  releaseChartVersion: string | undefined;
  statusVersionId: string | undefined;
}

export interface ProofTarget {
  versionId: string;
  /** The target version's chart version; null when the catalog names none (then the template version id is the proof). */
  chartVersion: string | null;
}

export interface UpgradeProgress {
  beforeRevision: number | null;
  /** The CR generation first seen carrying the target version; null until the sync pushed it. */
  targetGeneration: number | null;
  startedAt: Date;
  bakingSince: Date | null;
}

export type ProofDecision =
  | { kind: 'wait'; why: string }
  /** The sync pushed the target: remember this generation. */
  | { kind: 'generation'; generation: number }
  | { kind: 'baking' }
  | { kind: 'succeeded' }
  | { kind: 'failed'; reason: string };

/**
 * Gate on proof of the new version, never on a stale Ready: the operator has
 * observed the generation that carries the target, the Helm revision is newer
 * than before the run with the target's chart version, and Ready=True held
 * for the whole bake. A failure of that generation, or no proof before the
 * deadline, fails the instance.
 */
export function judgeUpgrade(o: InstanceObservation | undefined, target: ProofTarget, p: UpgradeProgress, s: Pick<RolloutStrategy, 'bakeSeconds' | 'progressDeadlineSeconds'>, now: Date): ProofDecision {
  const overdue = now.getTime() - p.startedAt.getTime() > s.progressDeadlineSeconds * 1000;
  if (!o) return overdue ? { kind: 'failed', reason: 'CaelusInstance not found before the progress deadline' } : { kind: 'wait', why: 'no CaelusInstance' };
  if (p.targetGeneration === null) {
    if (o.specVersionRef.toLowerCase() === target.versionId.toLowerCase()) return { kind: 'generation', generation: o.generation };
    return overdue ? { kind: 'failed', reason: `the target version did not reach the CaelusInstance within ${s.progressDeadlineSeconds}s` } : { kind: 'wait', why: 'sync has not pushed the target yet' };
  }
  if (o.specVersionRef.toLowerCase() !== target.versionId.toLowerCase()) return { kind: 'failed', reason: 'the instance was moved off the target version during the run' };
  const observed = (o.observedGeneration ?? 0) >= p.targetGeneration;
  if (observed && o.phase === 'Failed') return { kind: 'failed', reason: `${o.ready?.reason ?? 'Failed'}: ${o.ready?.message ?? 'the upgrade failed'}` };
  const proven =
    observed &&
    o.ready?.status === 'True' &&
    o.releaseRevision !== undefined &&
    o.releaseRevision > (p.beforeRevision ?? 0) &&
    o.statusVersionId?.toLowerCase() === target.versionId.toLowerCase() &&
    (target.chartVersion === null || o.releaseChartVersion === target.chartVersion);
  if (p.bakingSince === null) {
    if (proven) return s.bakeSeconds === 0 ? { kind: 'succeeded' } : { kind: 'baking' };
    return overdue ? { kind: 'failed', reason: `no proof of the target version within ${s.progressDeadlineSeconds}s (Ready ${o.ready?.status ?? 'unknown'}${o.ready?.reason ? `: ${o.ready.reason}` : ''})` } : { kind: 'wait', why: 'upgrade not proven yet' };
  }
  if (!proven) return { kind: 'failed', reason: `Ready did not hold during the bake (Ready ${o.ready?.status ?? 'unknown'}${o.ready?.reason ? `: ${o.ready.reason}` : ''})` };
  if (now.getTime() - p.bakingSince.getTime() >= s.bakeSeconds * 1000) return { kind: 'succeeded' };
  return { kind: 'wait', why: 'baking' };
}

/** Proof that a rollback to the source version took: the operator observed it and the release is deployed again. */
export function judgeRollback(o: InstanceObservation | undefined, sourceVersionId: string, rollbackGeneration: number | null): ProofDecision {
  if (!o) return { kind: 'wait', why: 'no CaelusInstance' };
  if (rollbackGeneration === null) {
    return o.specVersionRef.toLowerCase() === sourceVersionId.toLowerCase() ? { kind: 'generation', generation: o.generation } : { kind: 'wait', why: 'sync has not pushed the source version yet' };
  }
  if ((o.observedGeneration ?? 0) < rollbackGeneration) return { kind: 'wait', why: 'operator has not observed the rollback' };
  if (o.phase === 'Failed') return { kind: 'failed', reason: `rollback failed: ${o.ready?.reason ?? 'Failed'}: ${o.ready?.message ?? ''}` };
  return o.ready?.status === 'True' && o.statusVersionId?.toLowerCase() === sourceVersionId.toLowerCase() ? { kind: 'succeeded' } : { kind: 'wait', why: 'rollback not proven yet' };
}
