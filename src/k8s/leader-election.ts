import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { CoordinationV1Api, V1MicroTime, type KubeConfig, type V1Lease, type V1LeaseSpec } from '@kubernetes/client-node';
import type { Logger } from '../observability/logger.ts';
import { isAlreadyExists, isConflict, isNotFound, toKubeApiError } from './errors.ts';
import { withSignal } from './request-options.ts';

export interface LeaderElectionOptions {
  logger: Logger;
  /** Where the Lease lives, e.g. the operator's own namespace. */
  namespace: string;
  /** Lease name, e.g. `caelus-operator`. */
  name: string;
  /** Unique per process; default `<hostname>_<random>`. */
  identity?: string;
  /** How long a lease stays valid without renewal, for the other candidates. Whole seconds. Default 15 s. */
  leaseDurationMs?: number;
  /** A leader that has not renewed for this long stops leading. Default 10 s. */
  renewDeadlineMs?: number;
  /** Interval between acquire/renew attempts. Default 2 s. */
  retryPeriodMs?: number;
  /** Give the lease up on graceful shutdown so another replica takes over at once. Default true. */
  releaseOnCancel?: boolean;
}

export interface LeaderCallbacks {
  /**
   * Called when this process becomes the leader. `signal` aborts when
   * leadership ends (lost, or shutting down): stop all leader-only work then.
   * The returned promise is awaited before the lease is released on graceful
   * shutdown, so the next leader never overlaps this one's in-flight work.
   * A rejection ends leadership and makes `run()` reject.
   */
  onStartedLeading(signal: AbortSignal): void | Promise<void>;
  /** Called once when leadership ends, whatever the cause. */
  onStoppedLeading?(): void | Promise<void>;
  /** Another (or this) identity was observed holding the lease. */
  onNewLeader?(identity: string): void;
}

/** Why leadership ended, carried as the abort reason of the leader signal. */
export class LeadershipLostError extends Error {
  override readonly name = 'LeadershipLostError';
  /**
   * true when this process gave leadership up on purpose (shutdown): the
   * lease is released only after leader work finished, so that work may
   * drain. false when it was lost (renew deadline, another holder): another
   * replica may take over soon, so leader work must stop at once.
   */
  readonly graceful: boolean;
  constructor(message: string, opts: { graceful?: boolean } = {}) {
    super(message);
    this.graceful = opts.graceful ?? false;
  }
}

type Attempt = 'acquired' | 'held' | 'conflict';

const JITTER = 1.2;

/**
 * Lease-based leader election on coordination.k8s.io/v1, the algorithm of
 * client-go's leaderelection package (client-node has none):
 * - a candidate takes the lease when it is free (no holder) or expired; expiry
 *   is judged by the local time at which this process last saw the lease
 *   record change, plus its leaseDurationSeconds, so clocks of different
 *   machines never need to agree;
 * - every write carries the resourceVersion read just before, so two
 *   candidates racing for the lease cannot both win (409 for the loser);
 * - the leader renews every retry period and steps down AT ONCE, aborting its
 *   signal, when no renewal has succeeded for renewDeadline (a hard timer, not
 *   a check after a slow request returns) or when it sees another holder.
 * renewDeadline < leaseDuration leaves a margin in which the old leader has
 * stopped before any other candidate may consider the lease expired.
 */
export class LeaderElector {
  readonly identity: string;
  readonly #api: CoordinationV1Api;
  readonly #log: Logger;
  readonly #namespace: string;
  readonly #name: string;
  readonly #leaseDurationMs: number;
  readonly #renewDeadlineMs: number;
  readonly #retryPeriodMs: number;
  readonly #releaseOnCancel: boolean;
  #observed: { holder: string; renewTime: string; resourceVersion: string; durationMs: number; at: number } | undefined;
  #leading = false;
  #stop = new AbortController();
  #running: Promise<void> | undefined;

  constructor(kc: KubeConfig, opts: LeaderElectionOptions) {
    this.identity = opts.identity ?? `${hostname()}_${randomBytes(4).toString('hex')}`;
    this.#api = kc.makeApiClient(CoordinationV1Api);
    this.#namespace = opts.namespace;
    this.#name = opts.name;
    this.#leaseDurationMs = opts.leaseDurationMs ?? 15_000;
    this.#renewDeadlineMs = opts.renewDeadlineMs ?? 10_000;
    this.#retryPeriodMs = opts.retryPeriodMs ?? 2_000;
    this.#releaseOnCancel = opts.releaseOnCancel ?? true;
    if (this.#leaseDurationMs < 1000 || this.#leaseDurationMs % 1000 !== 0) {
      throw new RangeError(`leaseDurationMs must be a whole number of seconds >= 1 s (Lease stores seconds), got ${this.#leaseDurationMs}`);
    }
    if (this.#leaseDurationMs <= this.#renewDeadlineMs) {
      throw new RangeError('leaseDurationMs must be greater than renewDeadlineMs');
    }
    if (this.#renewDeadlineMs <= JITTER * this.#retryPeriodMs) {
      throw new RangeError(`renewDeadlineMs must be greater than ${JITTER} * retryPeriodMs`);
    }
    this.#log = opts.logger.child({ component: 'leader-election', lease: `${opts.namespace}/${opts.name}`, identity: this.identity });
  }

  isLeader(): boolean {
    return this.#leading;
  }

  /**
   * Campaigns until this process leads, then renews until leadership ends.
   * Resolves when leadership ended (lost, or released after `signal`/stop());
   * a process that lost leadership should exit or call run() again.
   */
  run(callbacks: LeaderCallbacks, signal?: AbortSignal): Promise<void> {
    if (this.#running) throw new Error('LeaderElector.run() is already running');
    if (this.#stop.signal.aborted) this.#stop = new AbortController();
    const stopSignal = signal ? AbortSignal.any([signal, this.#stop.signal]) : this.#stop.signal;
    this.#running = this.#run(callbacks, stopSignal).finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  /** Graceful shutdown: ends leadership (releasing the lease) or the campaign, and waits for run() to return. */
  async stop(): Promise<void> {
    this.#stop.abort(new LeadershipLostError('leader election stopped', { graceful: true }));
    await this.#running?.catch(() => undefined);
  }

  async #run(callbacks: LeaderCallbacks, stop: AbortSignal): Promise<void> {
    // 1. Campaign.
    this.#log.info('campaigning for leadership');
    for (;;) {
      if (stop.aborted) return;
      if ((await this.#tryAcquireOrRenew(stop, this.#retryPeriodMs, callbacks)) === 'acquired') break;
      await sleep(this.#retryPeriodMs * (1 + Math.random() * (JITTER - 1)), stop);
    }

    // 2. Lead.
    this.#leading = true;
    const lead = new AbortController();
    let lastRenew = Date.now();
    let lostReason: string | undefined;
    const lose = (reason: string): void => {
      if (lead.signal.aborted) return;
      lostReason = reason;
      this.#leading = false;
      lead.abort(new LeadershipLostError(reason));
    };
    let deadline = setTimeout(() => lose('renew deadline exceeded'), this.#renewDeadlineMs);
    this.#log.info('became leader');

    let workError: unknown;
    const work = (async () => callbacks.onStartedLeading(lead.signal))().catch((err: unknown) => {
      workError = err;
      this.#log.error({ err }, 'onStartedLeading failed; giving up leadership');
      lose('onStartedLeading failed');
    });

    const leadOrStop = AbortSignal.any([lead.signal, stop]);
    while (!leadOrStop.aborted) {
      await sleep(this.#retryPeriodMs, leadOrStop);
      if (leadOrStop.aborted) break;
      // Never wait for a renewal past the deadline: the timer above fires regardless.
      const budget = Math.max(1, lastRenew + this.#renewDeadlineMs - Date.now());
      let result = await this.#tryAcquireOrRenew(leadOrStop, budget, callbacks);
      if (result === 'conflict' && !leadOrStop.aborted) {
        result = await this.#tryAcquireOrRenew(leadOrStop, Math.max(1, lastRenew + this.#renewDeadlineMs - Date.now()), callbacks);
      }
      if (lead.signal.aborted) break;
      if (result === 'acquired') {
        lastRenew = Date.now();
        clearTimeout(deadline);
        deadline = setTimeout(() => lose('renew deadline exceeded'), this.#renewDeadlineMs);
      } else if (result === 'held') {
        lose(`lease taken by ${this.#observed?.holder ?? 'another holder'}`);
      }
      // 'conflict' twice or a failed request: try again next period until the deadline timer fires.
    }
    clearTimeout(deadline);

    // 3. Step down.
    const graceful = !lead.signal.aborted;
    if (graceful) {
      this.#leading = false;
      lead.abort(new LeadershipLostError('shutting down', { graceful: true }));
      // Let leader-only work finish before another replica can start it.
      await work;
      if (this.#releaseOnCancel) await this.#release();
    } else {
      this.#log.error({ reason: lostReason }, 'lost leadership: stopped leading at once');
      // The work was told to stop at once; wait for it all the same, so that
      // a next term of this replica (run() again, possibly re-acquiring the
      // lease it just missed renewing) never overlaps the last one's work.
      await work;
    }
    try {
      await callbacks.onStoppedLeading?.();
    } catch (err) {
      this.#log.error({ err }, 'onStoppedLeading failed');
    }
    if (workError !== undefined) throw workError;
  }

  /** One read-then-write round; never throws (failures are logged and count as not acquired). */
  async #tryAcquireOrRenew(stop: AbortSignal, timeoutMs: number, callbacks: LeaderCallbacks): Promise<Attempt | 'error'> {
    const signal = AbortSignal.any([stop, AbortSignal.timeout(timeoutMs)]);
    const opts = withSignal(signal);
    const now = Date.now();
    const desired = (prev: V1LeaseSpec | undefined): V1LeaseSpec => {
      const renewing = prev?.holderIdentity === this.identity;
      return {
        holderIdentity: this.identity,
        leaseDurationSeconds: this.#leaseDurationMs / 1000,
        acquireTime: renewing && prev?.acquireTime ? prev.acquireTime : new V1MicroTime(now),
        renewTime: new V1MicroTime(now),
        // As client-go: every change of holder (including taking over a released lease) is a transition.
        leaseTransitions: renewing ? (prev?.leaseTransitions ?? 0) : prev ? (prev.leaseTransitions ?? 0) + 1 : 0,
      };
    };
    let lease: V1Lease;
    try {
      lease = await this.#api.readNamespacedLease({ name: this.#name, namespace: this.#namespace }, opts);
    } catch (err) {
      if (!isNotFound(err)) return this.#failed(err, 'read');
      try {
        const created = await this.#api.createNamespacedLease(
          { namespace: this.#namespace, body: { metadata: { name: this.#name, namespace: this.#namespace }, spec: desired(undefined) } },
          opts,
        );
        this.#observe(created, callbacks);
        return 'acquired';
      } catch (createErr) {
        if (isAlreadyExists(createErr) || isConflict(createErr)) return 'conflict';
        return this.#failed(createErr, 'create');
      }
    }
    this.#observe(lease, callbacks);
    const holder = lease.spec?.holderIdentity ?? '';
    const observed = this.#observed!;
    if (holder !== '' && holder !== this.identity && observed.at + observed.durationMs > Date.now()) return 'held';
    try {
      const written = await this.#api.replaceNamespacedLease(
        {
          name: this.#name,
          namespace: this.#namespace,
          body: { ...lease, spec: { ...lease.spec, ...desired(lease.spec) } },
        },
        opts,
      );
      if (holder !== this.identity) this.#log.info({ previousHolder: holder || undefined }, 'acquired lease');
      this.#observe(written, callbacks);
      return 'acquired';
    } catch (err) {
      if (isConflict(err)) return 'conflict';
      return this.#failed(err, 'update');
    }
  }

  #failed(err: unknown, op: string): 'error' {
    const wrapped = toKubeApiError(err, { operation: `${op} lease`, apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: this.#namespace, name: this.#name });
    this.#log.warn({ err: wrapped, leading: this.#leading }, 'lease request failed');
    return 'error';
  }

  /** Records the lease as seen now; `at` only moves when the record changed, which is what expiry is measured from. */
  #observe(lease: V1Lease, callbacks: LeaderCallbacks): void {
    const holder = lease.spec?.holderIdentity ?? '';
    const renewTime = timeString(lease.spec?.renewTime);
    const resourceVersion = lease.metadata?.resourceVersion ?? '';
    const prev = this.#observed;
    if (prev && prev.holder === holder && prev.renewTime === renewTime && prev.resourceVersion === resourceVersion) return;
    this.#observed = {
      holder,
      renewTime,
      resourceVersion,
      durationMs: (lease.spec?.leaseDurationSeconds ?? this.#leaseDurationMs / 1000) * 1000,
      at: Date.now(),
    };
    if (holder && holder !== prev?.holder) {
      this.#log.info({ holder }, 'observed leader');
      try {
        callbacks.onNewLeader?.(holder);
      } catch (err) {
        this.#log.error({ err }, 'onNewLeader failed');
      }
    }
  }

  /** Empties the holder so the next candidate need not wait for expiry (client-go's ReleaseOnCancel). */
  async #release(): Promise<void> {
    const opts = withSignal(AbortSignal.timeout(this.#renewDeadlineMs));
    try {
      const lease = await this.#api.readNamespacedLease({ name: this.#name, namespace: this.#namespace }, opts);
      if (lease.spec?.holderIdentity !== this.identity) {
        this.#log.warn({ holder: lease.spec?.holderIdentity }, 'not releasing: lease held by another');
        return;
      }
      const now = new V1MicroTime(Date.now());
      await this.#api.replaceNamespacedLease(
        {
          name: this.#name,
          namespace: this.#namespace,
          body: {
            ...lease,
            spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: now, acquireTime: now },
          },
        },
        opts,
      );
      this.#log.info('released lease');
    } catch (err) {
      // Not fatal: the lease simply expires after leaseDuration.
      this.#failed(err, 'release');
    }
  }
}

function timeString(t: unknown): string {
  if (t instanceof Date) return t.toISOString();
  return t === undefined || t === null ? '' : String(t);
}

/** Resolves after `ms`, or early when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Holder, renewal and duration of every Lease in `namespace`, by name (GET /shards: which shards are live). */
export async function readLeases(kc: KubeConfig, namespace: string): Promise<Map<string, { holder: string | undefined; renewTime: Date | undefined; durationSeconds: number | undefined }>> {
  let list;
  try {
    list = await kc.makeApiClient(CoordinationV1Api).listNamespacedLease({ namespace });
  } catch (err) {
    throw toKubeApiError(err, { operation: 'list leases', apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace });
  }
  const out = new Map<string, { holder: string | undefined; renewTime: Date | undefined; durationSeconds: number | undefined }>();
  for (const lease of list.items) {
    const renew = lease.spec?.renewTime;
    out.set(lease.metadata?.name ?? '', {
      holder: lease.spec?.holderIdentity || undefined,
      renewTime: renew === undefined ? undefined : new Date(renew as unknown as string),
      durationSeconds: lease.spec?.leaseDurationSeconds,
    });
  }
  return out;
}
