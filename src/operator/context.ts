import type { Logger } from '../observability/logger.ts';
import type { ResolvedTemplateVersion } from '../domain/catalog.ts';
import { setCondition, type ConditionUpdate } from '../domain/conditions.ts';
import type { CaelusInstance, CaelusInstanceStatus, Phase } from '../domain/instance.ts';

/**
 * The status being built during one reconcile, and the status the API server
 * has. Steps change the draft only through `update`; the reconciler writes it
 * (at the end, and before long actions) and then calls `stored`.
 */
export class StatusDraft {
  #draft: CaelusInstanceStatus;
  #stored: Readonly<CaelusInstanceStatus> | undefined;

  constructor(stored: CaelusInstanceStatus | undefined) {
    this.#stored = stored;
    this.#draft = structuredClone(stored ?? {});
  }

  get current(): Readonly<CaelusInstanceStatus> {
    return this.#draft;
  }

  /** What the API server holds (as of the start of the reconcile, or our last write). */
  get persisted(): Readonly<CaelusInstanceStatus> | undefined {
    return this.#stored;
  }

  update(patch: Partial<CaelusInstanceStatus>): void {
    this.#draft = { ...this.#draft, ...patch };
  }

  /** The draft as written to the API server. */
  snapshot(): CaelusInstanceStatus {
    return structuredClone(this.#draft);
  }

  stored(status: CaelusInstanceStatus): void {
    this.#stored = structuredClone(status);
  }
}

/** State carried through one reconcile of one instance, up to the values step. */
export interface ReconcileContext {
  readonly instance: CaelusInstance;
  readonly status: StatusDraft;
  readonly log: Logger;
  readonly signal: AbortSignal;
  readonly now: () => Date;
  /** Set once the finalizer is gone: the object may no longer exist, so no status is written. */
  finalized?: boolean;
}

/** After the resolve step: the template version is known. */
export interface ResolvedContext extends ReconcileContext {
  readonly template: ResolvedTemplateVersion;
}

/** After the namespace step: the instance's namespace exists and is ours. */
export interface PlacedContext extends ResolvedContext {
  readonly namespace: string;
  /** This reconcile created the namespace: nothing from an earlier apply can be in it. */
  readonly namespaceCreated?: boolean;
}

export interface Desired {
  readonly values: Record<string, unknown>;
  readonly digest: string;
  /** Added to every object the release renders (post-renderer): the instance label, and the shard label when sharded. */
  readonly labels: Readonly<Record<string, string>>;
}

/** After the values step: what helm must install, and its digest. Every later step gets this. */
export interface DesiredContext extends PlacedContext {
  readonly desired: Desired;
}

export function setPhase(ctx: ReconcileContext, phase: Phase, message?: string): void {
  ctx.status.update(message === undefined ? { phase } : { phase, message });
}

export function condition(ctx: ReconcileContext, update: ConditionUpdate): void {
  ctx.status.update({ conditions: setCondition(ctx.status.current.conditions, update, ctx.instance.metadata.generation, ctx.now()) });
}

/** What a step tells the pipeline: go on, or stop here (optionally coming back later). */
export type StepOutcome = { stop: false } | { stop: true; requeueAfterMs?: number };
export const CONTINUE: StepOutcome = { stop: false };
export const stopHere = (requeueAfterMs?: number): StepOutcome =>
  requeueAfterMs === undefined ? { stop: true } : { stop: true, requeueAfterMs };

export interface Step<C extends ReconcileContext = ReconcileContext> {
  readonly name: string;
  run(ctx: C): Promise<StepOutcome>;
}

/** A step that adds what later steps need to the context (resolve, namespace, values); failures throw. */
export interface Extender<C extends ReconcileContext, D extends C> {
  readonly name: string;
  run(ctx: C): Promise<D>;
}
