// The DB ↔ CR sync (DESIGN §5). One work queue keyed by instance namespace
// (the identity both sides share: row.namespace is unique among live rows,
// and a CR owns spec.namespace ?? its name) is fed by row notifications
// (ChangeFeed), CaelusInstance watch events (Informer) and a periodic sweep.
// Each key is handled in three moves: observe both sides, decide() one
// action (src/sync/decide.ts), carry it out (src/sync/actions.ts); then
// mirror status and annotations (src/sync/mirror.ts). Runs only while this
// replica leads (a leader task, see src/compose/operator-with-sync.ts).
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import type { Kysely } from 'kysely';
import type { TemplateCatalog } from '../domain/catalog.ts';
import { API_VERSION, INSTANCE_ID_ANNOTATION, KIND, PLURAL, instanceNamespace, type CaelusInstance } from '../domain/instance.ts';
import {
  bindCr,
  claimedInstanceId,
  getSyncedInstance,
  getSyncedInstanceByNamespace,
  listSyncNamespaces,
  setInstanceShard,
  type SyncedInstance,
} from '../db/repositories/instance-sync.ts';
import type { Database } from '../db/schema.ts';
import { defaultShard, shardOf, type ShardList } from '../domain/shard.ts';
import { isUuid } from '../db/validate.ts';
import { ObjectClient } from '../k8s/apply.ts';
import { Informer } from '../k8s/informer.ts';
import { WorkQueue } from '../k8s/workqueue.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import { SyncActions } from './actions.ts';
import type { ChangeFeed } from '../db/change-feed.ts';
import { asCaelusInstance, caelusInstances, isCaelusInstance } from './cr.ts';
import { SyncAction, decide, type CrView, type RowView } from './decide.ts';
import type { SyncEventSink } from './events.ts';
import { Mirror } from './mirror.ts';
import { annotatedSpecVersion, specFromCr, specFromRow, storedSyncedSpec } from './spec.ts';

export type { SyncEventSink } from './events.ts';

/** The shard this sync mirrors (its process's) and all configured shards. */
export interface ShardAssignment {
  name: string;
  shards: ShardList;
}

export interface InstanceSyncOptions {
  db: Kysely<Database>;
  kc: KubeConfig;
  /** Resolves `name@version` references of CRs to version ids (the database catalog). */
  catalog: TemplateCatalog;
  feed: ChangeFeed;
  events: SyncEventSink;
  log: Logger;
  metrics?: Metrics;
  /** Full pass over every row and CR this often (the safety net under notifications and watches). Default 30 s. */
  sweepIntervalMs?: number;
  /** Only CRs matching this selector are watched (sharding; test isolation). */
  labelSelector?: string;
  /** Labels put on every CR the sync applies (so an operator restricted by labelSelector sees them). */
  labels?: Record<string, string>;
  /**
   * When sharded: the sync mirrors only its shard's instances. A CR belongs
   * to the shard its caelus.io/shard label names (none: the default shard);
   * a row without a CR to the shard recorded in the row (none: the default).
   */
  shard?: ShardAssignment;
  /** Keys handled at once (distinct namespaces never race). Default 4. */
  concurrency?: number;
  /**
   * Reported activity reaches the CR's caelus.io/last-activity at most once
   * per this interval per instance (and at most this late). Default 30 s.
   */
  activityGranularityMs?: number;
}

/** How long deleted rows stay in the sweep: their CRs may take a while to finish their finalizer. */
const DELETED_ROW_SWEEP_MS = 24 * 3600_000;

export class InstanceSync {
  readonly #o: InstanceSyncOptions;
  readonly #log: Logger;
  readonly #objects: ObjectClient;
  readonly #actions: SyncActions;
  readonly #mirror: Mirror;
  #informer: Informer<KubernetesObject> | undefined;
  #queue: WorkQueue | undefined;
  #running = false;
  #ready = Promise.withResolvers<void>();
  /** Row id → namespace (never changes for a row): activity notifications cost no lookup. */
  readonly #namespaceOf = new Map<string, string>();

  constructor(opts: InstanceSyncOptions) {
    this.#o = opts;
    this.#log = opts.log.child({ component: 'sync' });
    this.#objects = new ObjectClient(opts.kc, { logger: this.#log });
    this.#actions = new SyncActions({ db: opts.db, kc: opts.kc, events: opts.events, log: this.#log, metrics: opts.metrics, labels: opts.labels });
    this.#mirror = new Mirror({ db: opts.db, kc: opts.kc, log: this.#log, metrics: opts.metrics, activityGranularityMs: opts.activityGranularityMs ?? 30_000 });
  }

  /** Syncs until `signal` aborts (lost leadership or shutdown). Never rejects: failures are logged and retried. */
  async run(signal: AbortSignal): Promise<void> {
    if (this.#running) throw new Error('InstanceSync.run() is already running');
    this.#running = true;
    this.#ready = Promise.withResolvers<void>();
    const queue = new WorkQueue({ logger: this.#log, name: 'sync', backoff: { baseDelayMs: 500, maxDelayMs: 60_000, jitter: 0.1 } });
    const informer = new Informer<KubernetesObject>(this.#o.kc, {
      logger: this.#log,
      resource: { apiVersion: API_VERSION, kind: KIND, plural: PLURAL },
      ...(this.#o.labelSelector ? { labelSelector: this.#o.labelSelector } : {}),
    });
    informer.onChange((obj) => {
      if (isCaelusInstance(obj)) queue.add(instanceNamespace(obj));
    });
    this.#queue = queue;
    this.#informer = informer;
    const stopInformer = () => void informer.stop();
    signal.addEventListener('abort', stopInformer, { once: true });
    let sweepTimer: NodeJS.Timeout | undefined;
    let feedStarted = false;
    try {
      await informer.start();
      await this.#o.feed.start({
        onChange: (id) => void this.#onRowChange(id),
        onListening: () => void this.sweep(),
      });
      feedStarted = true;
      this.#ready.resolve();
      sweepTimer = setInterval(() => void this.sweep(), this.#o.sweepIntervalMs ?? 30_000);
      sweepTimer.unref?.();
      this.#log.info({ sweepIntervalMs: this.#o.sweepIntervalMs ?? 30_000, labelSelector: this.#o.labelSelector }, 'sync running');
      await queue.run((ns) => this.#handle(ns), { concurrency: this.#o.concurrency ?? 4, signal, shutdownTimeoutMs: 10_000 });
    } catch (err) {
      if (!signal.aborted) this.#log.error({ err }, 'sync stopped with an error');
    } finally {
      clearInterval(sweepTimer);
      signal.removeEventListener('abort', stopInformer);
      await queue.shutdown({ timeoutMs: 10_000 });
      if (feedStarted) await this.#o.feed.stop().catch((err: unknown) => this.#log.warn({ err }, 'stopping the change feed failed'));
      await informer.stop();
      this.#queue = undefined;
      this.#informer = undefined;
      this.#running = false;
      this.#log.info('sync stopped');
    }
  }

  /** Resolves once the current run() watches CRs and listens for row changes. */
  whenReady(): Promise<void> {
    return this.#ready.promise;
  }

  /** Queues every live row, recently deleted row and watched CR. */
  async sweep(): Promise<void> {
    const queue = this.#queue;
    if (!queue) return;
    try {
      const shard = this.#o.shard;
      const namespaces = await listSyncNamespaces(
        this.#o.db,
        new Date(Date.now() - DELETED_ROW_SWEEP_MS),
        shard && { shard: shard.name, withUnassigned: shard.name === defaultShard(shard.shards) },
      );
      for (const ns of namespaces) queue.add(ns);
      for (const cr of caelusInstances(this.#informer?.list() ?? [])) queue.add(instanceNamespace(cr));
      this.#log.debug({ rows: namespaces.length }, 'sweep queued');
    } catch (err) {
      this.#log.warn({ err }, 'sweep failed; the next one retries');
    }
  }

  async #onRowChange(id: string): Promise<void> {
    const known = this.#namespaceOf.get(id);
    if (known) {
      this.#queue?.add(known);
      return;
    }
    try {
      const row = isUuid(id) ? await getSyncedInstance(this.#o.db, id) : undefined;
      if (!row) return;
      // Another shard's row matters here only while its CR is in this shard (relabelled, the row not yet following).
      if (this.#ownsRow(row)) this.#namespaceOf.set(row.id, row.namespace);
      if (this.#ownsRow(row) || this.#cachedCr(row.namespace)) this.#queue?.add(row.namespace);
    } catch (err) {
      this.#log.warn({ err, id }, 'could not look up a changed row; the next sweep picks it up');
    }
  }

  async #handle(ns: string): Promise<{ requeueAfter: number } | void> {
    const cached = this.#cachedCr(ns);
    // The default shard's watch also holds CRs of unknown shards (the operator reports them): not ours to sync.
    if (cached && !this.#ownsCr(cached)) return;
    let observed = await this.#observe(ns, cached);
    if (!cached && observed.row && !this.#ownsRow(observed.row)) return;
    let decision = decide(rowView(observed.row), observed.crView);
    if (decision.action !== SyncAction.Nothing) {
      // The cache may lag behind our own last write; act only on what the API server says now.
      let cr = await this.#getCr(cached?.metadata.name ?? ns);
      if (cr && instanceNamespace(cr) !== ns) cr = undefined;
      // Outside our watch, the CR is another shard's (or one nobody may sync): it decides, not us.
      if (cr && !this.#ownsCr(cr)) return;
      observed = await this.#observe(ns, cr);
      decision = decide(rowView(observed.row), observed.crView);
    }
    const { cr } = observed;
    // A deleted row whose CR is gone is done with: its row-change notifications may cost a lookup again.
    if (!cr && observed.row?.deletedAt) this.#namespaceOf.delete(observed.row.id);
    const log = this.#log.child({ namespace: ns, instanceId: observed.row?.id, cr: cr?.metadata.name });
    if (decision.action !== SyncAction.Nothing) log.info({ action: decision.action, reason: decision.reason }, 'sync');
    let row: SyncedInstance | undefined;
    try {
      row = await this.#actions.execute(decision, observed, log);
      this.#o.metrics?.syncActions.inc({ action: decision.action, result: 'ok' });
    } catch (err) {
      if (decision.action !== SyncAction.Nothing) this.#o.metrics?.syncActions.inc({ action: decision.action, result: 'error' });
      throw err;
    }
    if (row && cr && !row.deletedAt && !cr.metadata.deletionTimestamp) {
      // Rows bound before uids were recorded (or whose CR decide() found in sync) get it now.
      if (row.crUid === null && cr.metadata.uid) await bindCr(this.#o.db, row.id, cr.metadata.uid);
      await this.#followShardLabel(row, cr);
      await this.#mirror.copyStatus(row, cr);
      return this.#mirror.syncAnnotations(row, cr, cr.metadata.annotations?.[INSTANCE_ID_ANNOTATION] === row.id);
    }
  }

  /** Whether this sync mirrors a CR: one of its shard (unlabelled: the default shard), never one naming an unknown shard. */
  #ownsCr(cr: CaelusInstance): boolean {
    const shard = this.#o.shard;
    if (!shard) return true;
    const of = shardOf(cr.metadata.labels, shard.shards);
    return of.known && of.shard === shard.name;
  }

  /** Whether this sync mirrors a row that has no CR (yet): the row's shard, unassigned rows belonging to the default shard. */
  #ownsRow(row: SyncedInstance): boolean {
    const shard = this.#o.shard;
    return !shard || (row.shard ?? defaultShard(shard.shards)) === shard.name;
  }

  /**
   * An admin moves an instance by relabelling its CR (README: sharding); the
   * row follows, so the sweep of the shard it left stops listing it.
   */
  async #followShardLabel(row: SyncedInstance, cr: CaelusInstance): Promise<void> {
    const shard = this.#o.shard;
    if (!shard) return;
    const labelled = shardOf(cr.metadata.labels, shard.shards).shard;
    if ((row.shard ?? defaultShard(shard.shards)) !== labelled) await setInstanceShard(this.#o.db, row.id, labelled);
  }

  async #observe(namespace: string, cr: CaelusInstance | undefined) {
    const row = await this.#findRow(namespace, cr);
    return { namespace, row, cr, crView: await this.#crView(cr) };
  }

  #cachedCr(ns: string): CaelusInstance | undefined {
    const informer = this.#informer;
    if (!informer) return undefined;
    const byName = informer.get(ns);
    if (isCaelusInstance(byName) && instanceNamespace(byName) === ns) return byName;
    return caelusInstances(informer.list()).find((o) => instanceNamespace(o) === ns);
  }

  async #getCr(name: string): Promise<CaelusInstance | undefined> {
    const obj = await this.#objects.get({ apiVersion: API_VERSION, kind: KIND, name });
    return obj && asCaelusInstance(obj);
  }

  /** The row a CR claims (its instance-id annotation; decide() checks the claim), else the row of its namespace (live, else the latest deleted). */
  async #findRow(ns: string, cr: CaelusInstance | undefined): Promise<SyncedInstance | undefined> {
    const id = cr && claimedInstanceId(cr);
    if (id) return getSyncedInstance(this.#o.db, id);
    return getSyncedInstanceByNamespace(this.#o.db, ns);
  }

  async #crView(cr: CaelusInstance | undefined): Promise<CrView | undefined> {
    if (!cr) return undefined;
    const ref = cr.spec.productTemplateVersion;
    const versionId = isUuid(ref) ? undefined : (await this.#o.catalog.resolve(ref))?.id;
    return {
      spec: specFromCr(cr, versionId),
      instanceId: claimedInstanceId(cr),
      uid: cr.metadata.uid,
      specVersion: annotatedSpecVersion(cr),
      deleting: Boolean(cr.metadata.deletionTimestamp),
      createdAt: cr.metadata.creationTimestamp ? new Date(cr.metadata.creationTimestamp) : undefined,
    };
  }
}

function rowView(row: SyncedInstance | undefined): RowView | undefined {
  if (!row) return undefined;
  return {
    id: row.id,
    source: row.source,
    specVersion: row.specVersion,
    spec: specFromRow(row),
    syncedSpec: storedSyncedSpec(row.syncedSpec),
    deletedAt: row.deletedAt,
    crUid: row.crUid,
  };
}
