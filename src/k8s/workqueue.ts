import type { Logger } from '../observability/logger.ts';
import { ItemBackoff, type BackoffOptions } from './rate-limiter.ts';

/** What a handler returns: nothing = done; `requeueAfter` = look again later (e.g. a TTL); `requeue` = retry with backoff without an error. */
export interface ReconcileResult {
  requeueAfter?: number;
  requeue?: boolean;
}

export interface HandlerContext {
  /** Aborted when a shutdown's drain times out: stop soon and leave the object consistent. */
  signal: AbortSignal;
  /** Consecutive failed attempts for this key before this one (0 on a first try). */
  retries: number;
}

export type WorkHandler<K extends string> = (
  key: K,
  ctx: HandlerContext,
) => Promise<ReconcileResult | void> | ReconcileResult | void;

/**
 * Structural so that prom-client metrics (src/observability/metrics.ts:
 * workqueueDepth, workqueueLatency, workqueueRetries) plug in directly and
 * tests can pass plain recorders.
 */
export interface WorkQueueMetrics {
  depth?: { set(value: number): void };
  /** Observed in seconds, from the first add of a key to a worker taking it. */
  latency?: { observe(seconds: number): void };
  retries?: { inc(): void };
}

export interface WorkQueueOptions {
  logger: Logger;
  /** Names the queue in log lines. */
  name?: string;
  backoff?: BackoffOptions;
  metrics?: WorkQueueMetrics;
}

export interface RunOptions {
  /** Workers, i.e. keys processed at once. Default 8. */
  concurrency?: number;
  /** Aborting it is `shutdown({ drain: false, timeoutMs: shutdownTimeoutMs })`. */
  signal?: AbortSignal;
  shutdownTimeoutMs?: number;
}

export interface ShutdownOptions {
  /**
   * true: keys already queued are still processed (no new adds, delayed keys
   * dropped); false: in-flight handlers finish, nothing new is handed out.
   */
  drain?: boolean;
  /** How long to wait for the queue to drain / in-flight handlers to finish. Default 30 s. */
  timeoutMs?: number;
  /** After the timeout, handler signals are aborted; how long to wait for them to return. Default 5 s. */
  abortGraceMs?: number;
}

export interface ShutdownResult {
  /** The drain did not finish within timeoutMs and in-flight handlers were aborted. */
  timedOut: boolean;
  /** Keys whose handler had still not returned after the abort grace period. */
  abandoned: string[];
  /** Queued keys never handed to a handler. */
  dropped: number;
}

/** Reason of the AbortSignal handed to handlers when a shutdown gives up waiting. */
export class ShutdownTimeoutError extends Error {
  override readonly name = 'ShutdownTimeoutError';
}

/**
 * A work queue with controller-runtime/client-go semantics:
 * - a key is never processed by two workers at once: re-added while in flight,
 *   it is marked dirty and queued again once its handler returns;
 * - adds of a key already waiting coalesce into one;
 * - addAfter keeps the earliest pending time of a key;
 * - failures retry with per-key exponential backoff (`forget` on success).
 * Keys are strings (an object name or `namespace/name`), so the queue holds
 * no stale objects: the handler reads the current state from a cache.
 */
export class WorkQueue<K extends string = string> {
  readonly #log: Logger;
  readonly #backoff: ItemBackoff<K>;
  readonly #metrics: WorkQueueMetrics;
  readonly #queue: K[] = [];
  /** Keys that need processing: queued, or re-added while in flight. */
  readonly #dirty = new Set<K>();
  readonly #processing = new Set<K>();
  /** First-add time of each dirty key, for the latency histogram. */
  readonly #addedAt = new Map<K, number>();
  readonly #delayed = new Map<K, { at: number; timer: NodeJS.Timeout }>();
  readonly #inflight = new Map<K, AbortController>();
  #waiters: Array<() => void> = [];
  #shuttingDown = false;
  /** false once workers must not take new keys (non-draining shutdown, or a drain that timed out). */
  #handingOut = true;
  #workers: Promise<void> | undefined;
  #shutdown: Promise<ShutdownResult> | undefined;
  readonly #stopped = Promise.withResolvers<void>();

  constructor(opts: WorkQueueOptions) {
    this.#log = opts.logger.child({ component: 'workqueue', queue: opts.name ?? 'default' });
    this.#backoff = new ItemBackoff<K>(opts.backoff);
    this.#metrics = opts.metrics ?? {};
  }

  /** Keys waiting for a worker (not counting delayed or in-flight ones). */
  get length(): number {
    return this.#queue.length;
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /** Keys currently being processed. */
  processing(): K[] {
    return [...this.#processing];
  }

  /** Keys scheduled by addAfter/addRateLimited that are not due yet. */
  pendingDelayed(): K[] {
    return [...this.#delayed.keys()];
  }

  /** Queues `key` now. Returns false when the queue is shutting down and the key was dropped. */
  add(key: K): boolean {
    if (this.#refuse(key, 'add')) return false;
    if (this.#dirty.has(key)) return true;
    this.#dirty.add(key);
    this.#addedAt.set(key, Date.now());
    // In flight: done() queues it again, so a key never runs twice at once.
    if (this.#processing.has(key)) return true;
    this.#push(key);
    return true;
  }

  /** Queues `key` after `delayMs`; an earlier pending time for the key wins. */
  addAfter(key: K, delayMs: number): boolean {
    if (this.#refuse(key, 'addAfter')) return false;
    if (!(delayMs > 0)) return this.add(key);
    const at = Date.now() + delayMs;
    const pending = this.#delayed.get(key);
    if (pending) {
      if (pending.at <= at) return true;
      clearTimeout(pending.timer);
    }
    const timer = setTimeout(() => {
      this.#delayed.delete(key);
      this.add(key);
    }, delayMs);
    // A pending retry alone must not keep the process alive after everything else stopped.
    timer.unref?.();
    this.#delayed.set(key, { at, timer });
    return true;
  }

  /** Queues `key` after its next backoff delay (base * 2^failures, capped). */
  addRateLimited(key: K): boolean {
    if (this.#refuse(key, 'addRateLimited')) return false;
    const delay = this.#backoff.next(key);
    this.#metrics.retries?.inc();
    return this.addAfter(key, delay);
  }

  /** Resets the backoff of `key` (after a successful reconcile). */
  forget(key: K): void {
    this.#backoff.forget(key);
  }

  /** Consecutive failures recorded for `key`. */
  numRequeues(key: K): number {
    return this.#backoff.failures(key);
  }

  /**
   * Processes keys with `concurrency` workers until shutdown. A handler that
   * throws is logged and retried with backoff; one that returns
   * `{ requeueAfter }` is looked at again then (and its backoff reset).
   * Resolves when the queue has shut down and the workers are gone.
   */
  async run(handler: WorkHandler<K>, opts: RunOptions = {}): Promise<void> {
    if (this.#workers) throw new Error('WorkQueue.run() was already called');
    if (this.#shuttingDown) throw new Error('WorkQueue.run() called after shutdown()');
    const concurrency = opts.concurrency ?? 8;
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
    }
    const workers: Promise<void>[] = [];
    for (let i = 0; i < concurrency; i++) workers.push(this.#worker(handler));
    this.#workers = Promise.all(workers).then(() => undefined);
    const { signal } = opts;
    if (signal) {
      const onAbort = (): void => {
        void this.shutdown({ drain: false, timeoutMs: opts.shutdownTimeoutMs });
      };
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    }
    this.#log.debug({ concurrency }, 'work queue started');
    // Workers only exit once shutdown() began; a handler that ignores its abort
    // signal must not hold run() forever, so shutdown() giving up ends it too.
    await Promise.race([this.#workers, this.#stopped.promise]);
  }

  /**
   * Stops the queue: no more adds, delayed keys dropped, then waits up to
   * timeoutMs for in-flight handlers (and, with drain, for the queued keys).
   * On timeout the in-flight handlers' signals are aborted. Idempotent.
   */
  shutdown(opts: ShutdownOptions = {}): Promise<ShutdownResult> {
    this.#shutdown ??= this.#doShutdown(opts);
    return this.#shutdown;
  }

  async #doShutdown(opts: ShutdownOptions): Promise<ShutdownResult> {
    const drain = opts.drain ?? false;
    const timeoutMs = opts.timeoutMs ?? 30_000;
    const graceMs = opts.abortGraceMs ?? 5_000;
    this.#shuttingDown = true;
    for (const { timer } of this.#delayed.values()) clearTimeout(timer);
    const delayedDropped = this.#delayed.size;
    this.#delayed.clear();
    if (!drain) this.#handingOut = false;
    this.#log.info(
      { drain, timeoutMs, queued: this.#queue.length, inFlight: this.#processing.size, delayedDropped },
      'work queue shutting down',
    );
    this.#wakeAll();

    const workers = this.#workers ?? Promise.resolve();
    let timedOut = false;
    if (!(await within(workers, timeoutMs))) {
      timedOut = true;
      this.#handingOut = false;
      const reason = new ShutdownTimeoutError(`work queue shutdown did not finish within ${timeoutMs} ms`);
      for (const controller of this.#inflight.values()) controller.abort(reason);
      this.#wakeAll();
      this.#log.warn({ inFlight: [...this.#inflight.keys()] }, 'shutdown timed out: aborted in-flight handlers');
      await within(workers, graceMs);
    }
    const abandoned = [...this.#inflight.keys()];
    if (abandoned.length > 0) {
      this.#log.error({ abandoned, graceMs }, 'handlers still running after abort; abandoning them');
    }
    const dropped = this.#queue.length;
    this.#queue.length = 0;
    this.#setDepth();
    this.#log.info({ timedOut, dropped, abandoned: abandoned.length }, 'work queue stopped');
    this.#stopped.resolve();
    return { timedOut, abandoned, dropped };
  }

  #refuse(key: K, op: string): boolean {
    if (!this.#shuttingDown) return false;
    this.#log.debug({ key, op }, 'queue shutting down: key not queued');
    return true;
  }

  #push(key: K): void {
    this.#queue.push(key);
    this.#setDepth();
    this.#waiters.shift()?.();
  }

  #setDepth(): void {
    this.#metrics.depth?.set(this.#queue.length);
  }

  #wakeAll(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  /** The next key for a worker, or undefined when the worker should exit. */
  async #next(): Promise<K | undefined> {
    for (;;) {
      if (!this.#handingOut) return undefined;
      const key = this.#queue.shift();
      if (key !== undefined) {
        this.#setDepth();
        this.#dirty.delete(key);
        this.#processing.add(key);
        const addedAt = this.#addedAt.get(key);
        this.#addedAt.delete(key);
        if (addedAt !== undefined) this.#metrics.latency?.observe((Date.now() - addedAt) / 1000);
        return key;
      }
      // Draining: the only way a key can still arrive is a dirty in-flight key coming back from done().
      if (this.#shuttingDown && ![...this.#processing].some((k) => this.#dirty.has(k))) return undefined;
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  #done(key: K): void {
    this.#processing.delete(key);
    if (this.#dirty.has(key)) this.#push(key);
    // A draining worker may be waiting only for this key to come back; let them all re-check.
    if (this.#shuttingDown) this.#wakeAll();
  }

  async #worker(handler: WorkHandler<K>): Promise<void> {
    for (;;) {
      const key = await this.#next();
      if (key === undefined) return;
      await this.#process(key, handler);
    }
  }

  async #process(key: K, handler: WorkHandler<K>): Promise<void> {
    const controller = new AbortController();
    this.#inflight.set(key, controller);
    const retries = this.#backoff.failures(key);
    try {
      const result = await handler(key, { signal: controller.signal, retries });
      if (result?.requeueAfter !== undefined && result.requeueAfter > 0) {
        this.forget(key);
        this.addAfter(key, result.requeueAfter);
      } else if (result?.requeue) {
        this.addRateLimited(key);
      } else {
        this.forget(key);
      }
    } catch (err) {
      this.#log.error({ err, key, retries }, 'handler failed; retrying with backoff');
      this.addRateLimited(key);
    } finally {
      this.#inflight.delete(key);
      this.#done(key);
    }
  }
}

/** true if `p` settled within `ms`. */
async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([p.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
