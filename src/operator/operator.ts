// Wires the controller runtime (informer → work queue → reconciler) under
// leader election. Only the leader reconciles; every replica keeps a warm
// cache so a takeover starts at once.
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import type { TemplateCatalog } from '../domain/catalog.ts';
import { API_VERSION, FINALIZER, INSTANCE_LABEL, KIND, LAST_ACTIVITY_ANNOTATION, PLURAL, Phase, instanceNamespace, releaseName, type CaelusInstance } from '../domain/instance.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import { Informer, type InformerEventType } from '../k8s/informer.ts';
import { WorkQueue } from '../k8s/workqueue.ts';
import { LeadershipLostError } from '../k8s/leader-election.ts';
import type { HelmPort, EventSink, InstanceStore, NamespacePort, ValuesValidator } from './ports.ts';
import { buildPipeline } from './pipeline.ts';
import type { GuardrailDeps } from './steps/guardrails.ts';
import type { ChartPort } from './steps/chart.ts';
import type { DeclaredSecretsPort } from './steps/declared-secrets.ts';
import type { TenantIdentityPort } from './steps/tenant.ts';
import cron from 'node-cron';
import { DriftChecker } from '../drift/checker.ts';
import { CorrectionLoopGuard } from '../drift/loop-guard.ts';
import { ReleaseManifests } from '../drift/release-manifest.ts';
import { DEFAULT_WATCHED, DriftWatches, parseWatchedKinds, type WatchedChange } from '../drift/watches.ts';
import { ownedPartChanged, OwnWrites, RestoreRequests, unwatchedKinds } from './restore.ts';
import type { OwnedPart } from './ports.ts';
import { RawObjectClient } from '../k8s/raw-objects.ts';
import { Reconciler } from './reconciler.ts';
import type { ShardList } from '../domain/shard.ts';

export interface OperatorOptions {
  kc: KubeConfig;
  catalog: TemplateCatalog;
  helm: HelmPort;
  namespaces: NamespacePort;
  /** Applies the tenant ServiceAccount + RoleBinding helm and drift act as. */
  tenants: TenantIdentityPort;
  instances: InstanceStore;
  events: EventSink;
  validateValues: ValuesValidator;
  log: Logger;
  metrics?: Metrics;
  concurrency: number;
  helmTimeoutSeconds: number;
  resyncMs: number;
  /** Guardrail, policy and hibernation steps (src/operator/steps); run-operator always provides them. */
  guardrails?: GuardrailDeps;
  /** Pinned/local charts from the content-addressed cache (src/charts). */
  charts?: ChartPort;
  /** Declared (generated/required) secrets of template versions. */
  declaredSecrets?: DeclaredSecretsPort;
  /** node-cron schedule of the full drift check. */
  driftFullCheckSchedule?: string;
  driftWatchedKinds?: string | undefined;
  backoff: { baseDelayMs: number; maxDelayMs: number };
  /** Reconcile only instances matching this label selector (sharding; isolates test runs). */
  labelSelector?: string;
  /** The release objects the drift watches follow (run-operator.ts driftWatchSelector); default: every object with the instance label. */
  driftWatchSelector?: string;
  /** All configured shards when sharded: CRs labelled for none of them are reported, not reconciled (steps/shard.ts). */
  shards?: ShardList;
  /** How long a shutdown waits for in-flight reconciles (helm runs) before aborting them. */
  shutdownTimeoutMs?: number;
  /** Where the guardrail and tenant adapters report their own writes (the same object given to them); without it every watched change of an owned object counts as someone else's. */
  ownWrites?: OwnWrites;
}

/**
 * Annotations whose changes need no reconcile: caelus.io/last-activity moves
 * with tenant traffic and only the lifecycle job (which lists CRs itself)
 * reads it.
 */
const PASSIVE_ANNOTATIONS: readonly string[] = [LAST_ACTIVITY_ANNOTATION];

function activeAnnotations(annotations: Record<string, string> | undefined): string {
  const kept = Object.entries(annotations ?? {}).filter(([k]) => !PASSIVE_ANNOTATIONS.includes(k));
  return JSON.stringify(kept);
}

/** Which informer events are worth a reconcile: not our own status writes, which would loop, nor activity stamps. */
export function needsReconcile(type: InformerEventType, obj: CaelusInstance, previous: CaelusInstance | undefined): boolean {
  if (type !== 'update' || !previous) return type !== 'delete';
  const m = obj.metadata;
  const p = previous.metadata;
  return (
    m.generation !== p.generation ||
    // Lists may deserialize timestamps to Date and watches leave strings: compare as text.
    String(m.deletionTimestamp) !== String(p.deletionTimestamp) ||
    finalizersChanged(m.finalizers ?? [], p.finalizers ?? []) ||
    JSON.stringify(m.labels ?? {}) !== JSON.stringify(p.labels ?? {}) ||
    activeAnnotations(m.annotations) !== activeAnnotations(p.annotations)
  );
}

/**
 * Adding Caelus's own finalizer is the first write of an instance's first
 * reconcile (or a no-op for its next one): its event would only run that
 * reconcile again. Any other change counts, our finalizer's removal included.
 */
function finalizersChanged(now: readonly string[], before: readonly string[]): boolean {
  return before.some((f) => !now.includes(f)) || now.some((f) => f !== FINALIZER && !before.includes(f));
}

export class Operator {
  readonly #opts: OperatorOptions;
  readonly #informer: Informer<KubernetesObject>;
  readonly #reconciler: Reconciler;
  readonly #lastSeen = new Map<string, CaelusInstance>();
  #queue: WorkQueue | undefined;
  #running: Promise<void> | undefined;
  #leading = false;
  readonly #driftWatches: DriftWatches;
  readonly #driftChecker: DriftChecker;
  readonly #driftClient: RawObjectClient;
  readonly #manifests: ReleaseManifests;
  readonly #guard = new CorrectionLoopGuard();
  /** Instances whose next drift check re-checks every object (periodic full check). */
  readonly #fullCheck = new Set<string>();
  /** Instances whose tenant identity or guardrails are re-applied though unchanged (an owned object edited or deleted; periodic full check). */
  readonly #restore = new RestoreRequests((change) => this.#ownWrites.isOwn(change));
  readonly #ownWrites: OwnWrites;
  /** Per part, the kinds of Caelus's own objects no drift watch follows: what the periodic check re-applies. */
  readonly #unwatched: Map<OwnedPart, ReadonlySet<string>>;

  constructor(opts: OperatorOptions) {
    this.#opts = opts;
    this.#ownWrites = opts.ownWrites ?? new OwnWrites();
    this.#informer = new Informer(opts.kc, {
      logger: opts.log.child({ component: 'informer' }),
      resource: { apiVersion: API_VERSION, kind: KIND, plural: PLURAL },
      resyncPeriodMs: opts.resyncMs,
      ...(opts.labelSelector ? { labelSelector: opts.labelSelector } : {}),
    });
    this.#driftClient = new RawObjectClient(opts.kc);
    this.#driftChecker = new DriftChecker(this.#driftClient);
    this.#manifests = new ReleaseManifests(opts.kc, opts.helm);
    const watched = opts.driftWatchedKinds ? parseWatchedKinds(opts.driftWatchedKinds) : DEFAULT_WATCHED;
    this.#unwatched = unwatchedKinds(new Set(watched.map((r) => r.kind)));
    if (!opts.guardrails) this.#unwatched.delete('guardrails');
    this.#driftWatches = new DriftWatches(
      opts.kc,
      watched,
      opts.log,
      { labelSelector: opts.driftWatchSelector ?? INSTANCE_LABEL, shards: opts.shards, metrics: opts.metrics },
      (change) => this.#onWatched(change),
    );
    const reconciler: Reconciler = new Reconciler(
      buildPipeline({
        ...opts,
        isLeader: () => this.#leading,
        writeProgress: (ctx) => reconciler.writeProgress(ctx),
        drift: {
          manifests: this.#manifests,
          checker: this.#driftChecker,
          guard: this.#guard,
          ...(opts.metrics ? { metrics: opts.metrics } : {}),
          takeFullCheck: (name) => this.#fullCheck.delete(name),
        },
        restore: this.#restore,
      }),
      {
        getInstance: (name) => this.#informer.get(name) as unknown as CaelusInstance | undefined,
        instances: opts.instances,
        events: opts.events,
        log: opts.log,
        ...(opts.metrics ? { metrics: opts.metrics } : {}),
      },
    );
    this.#reconciler = reconciler;
    // Every phase is exported from the start (0), so a dashboard sees the series before the first instance.
    for (const phase of Object.values(Phase)) opts.metrics?.instancesByPhase.set({ phase }, 0);
    this.#informer.onChange((obj, type) => this.#onChange(obj as unknown as CaelusInstance, type));
  }

  get leading(): boolean {
    return this.#leading;
  }

  get synced(): boolean {
    return this.#informer.synced;
  }

  /** Starts the cache (every replica). */
  async startInformer(): Promise<void> {
    await this.#informer.start();
    await this.#driftWatches.start();
  }

  /** API requests made by drift checks so far (benchmarks and cost figures). */
  get driftApiRequests(): number {
    return this.#driftClient.requests;
  }

  /**
   * The periodic safety net: every instance's next drift check looks at every
   * object, and those of Caelus's own objects no watch sees are re-applied
   * (the ResourceQuota, the secrets Secret, kinds left out of
   * CAELUS_DRIFT_WATCH_KINDS).
   */
  requestFullDriftCheck(): void {
    for (const obj of this.#informer.list()) {
      const name = obj.metadata!.name!;
      this.#fullCheck.add(name);
      for (const [part, kinds] of this.#unwatched) this.#restore.kinds(name, part, kinds);
      this.#queue?.add(name);
    }
  }

  /** A watched object changed: re-check its instance now, not at the next resync; if it is one Caelus owns, re-apply it too. */
  #onWatched(change: WatchedChange): void {
    const { instance } = change;
    const cr = this.#informer.get(instance) as unknown as CaelusInstance | undefined;
    // No CR (deleted, or another operator's): nothing to restore, and no mark that would outlive it.
    const part = cr ? ownedPartChanged(change, instanceNamespace(cr)) : undefined;
    // Whether the change was our own write is judged when the step takes the mark (restore.ts).
    if (part && (part === 'tenant' || this.#opts.guardrails)) this.#restore.changed(instance, part, change);
    this.#queue?.add(instance);
  }

  /**
   * Reconciles until `signal` aborts (lost leadership or shutdown); resolves
   * once in-flight reconciles have finished or been canceled.
   */
  async lead(signal: AbortSignal): Promise<void> {
    if (this.#running) throw new Error('Operator.lead() is already running');
    const queue = new WorkQueue({
      logger: this.#opts.log.child({ component: 'workqueue' }),
      name: 'caelusinstances',
      backoff: { ...this.#opts.backoff, jitter: 0.1 },
      ...(this.#opts.metrics
        ? {
            metrics: {
              depth: this.#opts.metrics.workqueueDepth,
              latency: this.#opts.metrics.workqueueLatency,
              retries: this.#opts.metrics.workqueueRetries,
            },
          }
        : {}),
    });
    this.#queue = queue;
    this.#leading = true;
    // A graceful shutdown lets in-flight helm runs finish (the lease is only
    // released afterwards). A lost lease is different: another replica may
    // start as soon as it expires, so cancel at once (helm marks the release
    // failed on SIGTERM) rather than race it. Registered before run() so this
    // shutdown is the one that happens.
    signal.addEventListener(
      'abort',
      () => {
        if (signal.reason instanceof LeadershipLostError && !signal.reason.graceful) {
          this.#leading = false;
          void queue.shutdown({ drain: false, timeoutMs: 0, abortGraceMs: 5_000 });
        }
      },
      { once: true },
    );
    for (const obj of this.#informer.list()) queue.add(obj.metadata!.name!);
    this.#opts.log.info({ instances: this.#informer.list().length }, 'leading: reconciling');
    const fullCheck = cron.schedule(this.#opts.driftFullCheckSchedule ?? '*/10 * * * *', () => this.requestFullDriftCheck(), {
      name: 'drift-full-check',
    });
    signal.addEventListener('abort', () => void fullCheck.stop(), { once: true });
    this.#running = queue.run(
      async (name, { signal: itemSignal }) => {
        const result = await this.#reconciler.reconcile(name, itemSignal);
        return result.requeueAfterMs === undefined ? undefined : { requeueAfter: result.requeueAfterMs };
      },
      { concurrency: this.#opts.concurrency, signal, shutdownTimeoutMs: this.#opts.shutdownTimeoutMs ?? 30_000 },
    );
    try {
      await this.#running;
    } finally {
      this.#leading = false;
      this.#queue = undefined;
      this.#running = undefined;
      this.#opts.log.info('stopped reconciling');
    }
  }

  async stopInformer(): Promise<void> {
    await this.#driftWatches.stop();
    await this.#informer.stop();
  }

  /**
   * caelus_instances{phase} follows the informer cache (every replica has one),
   * so it is right on followers too; an instance without status counts as Pending.
   */
  #countPhase(obj: CaelusInstance | undefined, delta: 1 | -1): void {
    if (!obj || !this.#opts.metrics) return;
    const labels = { phase: obj.status?.phase ?? Phase.Pending };
    if (delta > 0) this.#opts.metrics.instancesByPhase.inc(labels);
    else this.#opts.metrics.instancesByPhase.dec(labels);
  }

  #onChange(obj: CaelusInstance, type: InformerEventType): void {
    const name = obj.metadata.name;
    const previous = this.#lastSeen.get(name);
    if (type === 'delete') this.#forget(obj);
    else this.#lastSeen.set(name, obj);
    this.#countPhase(previous, -1);
    if (type !== 'delete') this.#countPhase(obj, +1);
    if (this.#queue && needsReconcile(type, obj, previous)) this.#queue.add(name);
  }

  /**
   * The instance is gone: nothing keyed by it may outlive it, or a fleet that
   * churns grows the process without bound. A reconcile still queued for it
   * finds no CR and forgets again.
   */
  #forget(obj: CaelusInstance): void {
    const name = obj.metadata.name;
    this.#lastSeen.delete(name);
    this.#fullCheck.delete(name);
    this.#restore.forget(name);
    this.#guard.forget(name);
    this.#reconciler.forget(name);
    const namespace = instanceNamespace(obj);
    this.#manifests.forget(releaseName(obj), namespace);
    this.#driftChecker.forgetNamespace(namespace);
    this.#ownWrites.forgetNamespace(namespace);
  }

  /** Entries kept per instance outside the informer caches (tests and memory figures). */
  get remembered(): { lastSeen: number; fullCheck: number; restore: number; ownWrites: number; written: number; manifests: number; cleanObjects: number } {
    return {
      lastSeen: this.#lastSeen.size,
      fullCheck: this.#fullCheck.size,
      restore: this.#restore.size,
      ownWrites: this.#ownWrites.size,
      written: this.#reconciler.remembered,
      manifests: this.#manifests.size,
      cleanObjects: this.#driftChecker.size,
    };
  }
}
