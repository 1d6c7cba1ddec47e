import { randomUUID } from 'node:crypto';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import { canonicalJson } from '../domain/digest.ts';
import { ConditionType, InstanceState, Phase, Reason, type CaelusInstance, type CaelusInstanceStatus } from '../domain/instance.ts';
import { StatusDraft, condition, setPhase, type ReconcileContext } from './context.ts';
import { ItemBackoff } from '../k8s/rate-limiter.ts';
import { ReconcileError, isTransientError } from './errors.ts';
import type { EventSink, InstanceStore } from './ports.ts';
import type { Pipeline } from './pipeline.ts';

export interface ReconcileResult {
  /** Come back after this long even if nothing changes. */
  requeueAfterMs?: number;
}

export interface ReconcilerDeps {
  /** Reads the instance from the informer cache. */
  getInstance(name: string): CaelusInstance | undefined;
  instances: InstanceStore;
  events: EventSink;
  log: Logger;
  metrics?: Metrics;
  now?: () => Date;
  /** Retry pace after a transient error (database or API server outage); the cap bounds how long recovery waits. */
  transientBackoff?: { baseDelayMs: number; maxDelayMs: number };
}

/**
 * Cap of the transient-error backoff by default: an outage that ends is
 * noticed within this long, per instance, however long it lasted (the work
 * queue's own backoff, which also counts every event-triggered failure, can
 * reach minutes).
 */
export const TRANSIENT_RETRY_MAX_MS = 15_000;

/** Status equality that ignores the timestamp we bump on every write. */
function sameStatus(a: CaelusInstanceStatus | undefined, b: CaelusInstanceStatus): boolean {
  const strip = (s: CaelusInstanceStatus | undefined) => ({ ...(s ?? {}), lastReconcile: undefined });
  return canonicalJson(strip(a)) === canonicalJson(strip(b));
}

/**
 * Runs the pipeline for one instance: each step may stop it; any error becomes
 * Ready=False with the error's reason, a Warning Event, and (unless the error
 * names its own pace) a rethrow so the work queue backs off.
 */
export class Reconciler {
  readonly #pipeline: Pick<Pipeline<ReconcileContext>, 'run'>;
  readonly #deps: ReconcilerDeps;
  /**
   * The object each of our status writes returned. The informer cache can lag
   * behind our own write (the next reconcile is often already queued by the
   * finalizer we added), and a stale status would cost a needless helm call.
   */
  readonly #written = new Map<string, Pick<CaelusInstance, 'status'> & { resourceVersion: string | undefined }>();
  readonly #transientBackoff: ItemBackoff<string>;

  constructor(pipeline: Pick<Pipeline<ReconcileContext>, 'run'>, deps: ReconcilerDeps) {
    this.#pipeline = pipeline;
    this.#deps = deps;
    const base = deps.transientBackoff?.baseDelayMs ?? 1_000;
    this.#transientBackoff = new ItemBackoff({
      baseDelayMs: base,
      maxDelayMs: Math.max(base, deps.transientBackoff?.maxDelayMs ?? TRANSIENT_RETRY_MAX_MS),
      // Instances that failed together (one outage) must not all retry in the same instant.
      jitter: 0.2,
    });
  }

  async reconcile(name: string, signal: AbortSignal): Promise<ReconcileResult> {
    const cached = this.#deps.getInstance(name);
    if (!cached) {
      this.forget(name);
      return {};
    }
    // The informer cache is shared: work on a copy.
    const instance = structuredClone(cached);
    const written = this.#written.get(name);
    if (written && isOlder(cached.metadata.resourceVersion, written.resourceVersion)) {
      instance.status = structuredClone(written.status);
    } else if (written) {
      // The cache has caught up: nothing left to remember for this instance.
      this.#written.delete(name);
    }
    const started = process.hrtime.bigint();
    const now = this.#deps.now ?? (() => new Date());
    const ctx: ReconcileContext = {
      instance,
      status: new StatusDraft(instance.status),
      log: this.#deps.log.child({ instance: name, reconcileId: randomUUID().slice(0, 8) }),
      signal,
      now,
    };
    let result: ReconcileResult = {};
    let outcome = 'success';
    try {
      result = await this.#runSteps(ctx);
      this.#transientBackoff.forget(name);
      return result;
    } catch (err) {
      outcome = 'error';
      const failure = toReconcileError(err);
      this.#recordFailure(ctx, failure);
      if (failure.transient) {
        // Not the work queue's backoff: see TRANSIENT_RETRY_MAX_MS.
        result = { requeueAfterMs: failure.requeueAfterMs ?? this.#transientBackoff.next(name) };
        return result;
      }
      this.#transientBackoff.forget(name);
      if (failure.requeueAfterMs !== undefined) {
        result = { requeueAfterMs: failure.requeueAfterMs };
        return result;
      }
      throw failure;
    } finally {
      if (ctx.finalized) this.#written.delete(name);
      else await this.#writeStatus(ctx);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      this.#deps.metrics?.reconcileDuration.observe({ result: outcome }, seconds);
      ctx.log.debug({ seconds, outcome, requeueAfterMs: result.requeueAfterMs }, 'reconcile finished');
    }
  }

  async #runSteps(ctx: ReconcileContext): Promise<ReconcileResult> {
    const outcome = await this.#pipeline.run(ctx);
    if (outcome.stop) return outcome.requeueAfterMs === undefined ? {} : { requeueAfterMs: outcome.requeueAfterMs };
    // Every step passed: the instance is what its spec asks for (asleep, if that is what it asks).
    const hibernated = ctx.instance.spec.state === InstanceState.Hibernated;
    const message = hibernated ? 'release deployed; workloads hibernated (scaled to zero)' : 'release deployed and up to date';
    setPhase(ctx, hibernated ? Phase.Hibernated : Phase.Running, message);
    condition(ctx, { type: ConditionType.Ready, status: 'True', reason: Reason.InSync, message });
    const generation = ctx.instance.metadata.generation;
    ctx.status.update({
      ...(generation === undefined ? {} : { observedGeneration: generation }),
      ...(ctx.instance.spec.domainName ? { url: `https://${ctx.instance.spec.domainName}` } : {}),
    });
    return {};
  }

  #recordFailure(ctx: ReconcileContext, failure: ReconcileError): void {
    const transient = failure.transient || failure.reason === Reason.Progressing;
    if (!transient) setPhase(ctx, Phase.Failed, failure.message);
    // Waiting is not failing: the phase stays (Pending for a new instance), the message says why.
    else setPhase(ctx, ctx.status.current.phase ?? Phase.Pending, failure.message);
    condition(ctx, { type: ConditionType.Ready, status: 'False', reason: failure.reason, message: failure.message });
    const generation = ctx.instance.metadata.generation;
    if (generation !== undefined) ctx.status.update({ observedGeneration: generation });
    const log = transient ? ctx.log.info.bind(ctx.log) : ctx.log.warn.bind(ctx.log);
    log({ reason: failure.reason, err: failure.message }, 'reconcile did not complete');
    if (!transient) this.#deps.events.record(ctx.instance, 'Warning', failure.reason, failure.message);
  }

  /** Drops what is remembered about an instance that is gone. */
  forget(name: string): void {
    this.#written.delete(name);
    this.#transientBackoff.forget(name);
  }

  /** Instances with something remembered (tests and memory figures). */
  get remembered(): number {
    return this.#written.size;
  }

  /** Writes the status draft if it differs from what the API server has; Events mark phase transitions. */
  async writeProgress(ctx: ReconcileContext): Promise<void> {
    await this.#writeStatus(ctx);
  }

  async #writeStatus(ctx: ReconcileContext): Promise<void> {
    const before = ctx.status.persisted;
    if (sameStatus(before, ctx.status.current)) return;
    ctx.status.update({ lastReconcile: ctx.now().toISOString() });
    const status = ctx.status.snapshot();
    try {
      const written = await this.#deps.instances.writeStatus(ctx.instance.metadata.name, status, ctx.instance.metadata.uid);
      // Later writes in this reconcile compare against what is now stored.
      ctx.status.stored(written?.status ?? status);
      if (written) this.#written.set(ctx.instance.metadata.name, { status: written.status, resourceVersion: written.metadata.resourceVersion });
      else this.#written.delete(ctx.instance.metadata.name);
    } catch (err) {
      ctx.log.error({ err: errorMessage(err) }, 'status update failed');
      throw err;
    }
    if (before?.phase !== status.phase && status.phase && status.phase !== Phase.Failed) {
      this.#deps.events.record(ctx.instance, 'Normal', status.phase, status.message ?? `phase ${status.phase}`);
    }
  }
}

/**
 * resourceVersions are opaque to clients, but every API server backed by etcd
 * uses its revision number; when both parse as integers the order is real.
 * Anything else counts as "not older", so the cache wins.
 */
function isOlder(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b || !/^\d+$/.test(a) || !/^\d+$/.test(b)) return false;
  return BigInt(a) < BigInt(b);
}

/** Any error as the ReconcileError users see: outages of a dependency are transient (Progressing), anything else is a ReconcileError. */
function toReconcileError(err: unknown): ReconcileError {
  if (err instanceof ReconcileError) return err;
  if (isTransientError(err)) {
    return new ReconcileError(Reason.Progressing, `waiting to retry after a transient error: ${errorMessage(err)}`, { cause: err, transient: true });
  }
  return new ReconcileError(Reason.ReconcileError, errorMessage(err), { cause: err });
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
