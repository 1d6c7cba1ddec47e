// Assembles a running operator from configuration: kubeconfig, catalog,
// helm, informer + queue + reconciler, leader election, health/metrics.
// Work that must run only on the leader but is not the reconciler's (the
// DB ↔ CR sync) comes in as leader tasks from the composition above
// (src/compose/operator-with-sync.ts): the operator does not import the sync.
import type { KubeConfig } from '@kubernetes/client-node';
import type { OperatorConfig } from '../config/operator.ts';
import { databaseConfigFromEnv, type DatabaseConfig } from '../config/database.ts';
import type { TemplateCatalog } from '../domain/catalog.ts';
import { validateValues } from '../domain/values-schema.ts';
import { DbTemplateCatalog } from '../db/catalog.ts';
import { openDatabase, type DatabaseHandle } from '../db/connect.ts';
import { HelmClient, HelmReleaseSecrets, usesSecretStorage } from '../helm/index.ts';
import { loadKubeConfig } from '../k8s/client.ts';
import { EventRecorder } from '../k8s/events.ts';
import { InstanceClient, type CustomResource } from '../k8s/instance-client.ts';
import { LeaderElector } from '../k8s/leader-election.ts';
import { Namespaces } from '../k8s/namespaces.ts';
import { TenantIdentities } from '../k8s/tenant.ts';
import { startHealthServer, type HealthServer } from '../observability/health-server.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import { FileCatalog } from './file-catalog.ts';
import { Operator } from './operator.ts';
import { OwnWrites } from './restore.ts';
import { ENCRYPTION_KEYS_ENV, parseEncryptionKeys } from '../config/encryption-keys.ts';
import { DbSecretSource } from '../db/secret-source.ts';
import { ChartCache, defaultChartCacheDir } from '../charts/cache.ts';
import { PinnedCharts } from '../charts/store.ts';
import { getChartPackage } from '../db/repositories/chart-packages.ts';
import { SecretBox } from '../db/secret-box.ts';
import { guardrailObjects, lifecyclePort, workloadPort } from './k8s-adapters.ts';
import { annotationActivity } from './lifecycle/activity.ts';
import { startLifecycleJob } from './lifecycle/jobs.ts';
import type { HelmPort, HelmReleaseState, InstanceStore, SecretSource } from './ports.ts';
import { INSTANCE_LABEL } from '../domain/instance.ts';
import type { CaelusInstance, CaelusInstanceSpec, CaelusInstanceStatus, EventReason } from '../domain/instance.ts';
import type { HelmRelease } from '../helm/index.ts';
import { shardSelector } from '../domain/shard.ts';
import { tenantUser } from '../domain/tenant.ts';

export interface OperatorRuntime {
  readonly operator: Operator;
  readonly kc: KubeConfig;
  /** Base URL of /metrics, /healthz, /readyz once started. */
  readonly healthUrl: string | undefined;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Work run while this replica leads, stopped (signal aborted) when leadership ends; awaited before the next term. */
export type LeaderTask = (signal: AbortSignal) => Promise<void>;

/** What the runtime built that leader tasks may share. */
export interface LeaderTaskContext {
  kc: KubeConfig;
  catalog: TemplateCatalog;
  /** The database when it is the catalog; undefined with a file catalog (GitOps only). */
  database: { handle: DatabaseHandle; config: DatabaseConfig } | undefined;
  events: EventRecorder;
}

export interface RuntimeOptions {
  log: Logger;
  metrics: Metrics;
  /** `--instance-selector`: only instances matching it (test isolation, hand-made sharding); the shard's own selector is added to it. */
  labelSelector?: string;
  env?: NodeJS.ProcessEnv;
  /** Use this catalog instead of the file/database one named by the config (caelus dev). */
  catalog?: TemplateCatalog;
  /** Where instance secrets come from, instead of the database (tests). */
  secrets?: SecretSource;
  /**
   * An already open database to use as the catalog (and for the sync and
   * secrets) instead of opening the one the environment names: `caelus dev`
   * shares one PGlite between operator and API. stop() leaves it open.
   */
  database?: { handle: DatabaseHandle; config: DatabaseConfig };
  /** Builds the tasks run beside the reconciler while leading, from what the runtime assembled (the DB ↔ CR sync). */
  leaderTasks?: (context: LeaderTaskContext) => readonly LeaderTask[];
}

/** helm's SIGTERM → SIGKILL grace when nothing tighter applies (a graceful shutdown's cancel). */
export const HELM_KILL_GRACE_MS = 10_000;

/**
 * Leader-election timing and the helm kill grace that goes with it. A
 * replica that stops renewing loses leadership at renewDeadline after its
 * last renewal and cancels its helm runs at once; another replica may take
 * the Lease at leaseDuration after that renewal. helm gets SIGTERM at the
 * first point and SIGKILL one kill grace later, so renewDeadline + killGrace
 * (+ a margin for the renewal's own round trip) must stay below
 * leaseDuration: no helm of an ex-leader outlives its lease.
 */
export function leaseTimings(leaseDurationMs: number): { renewDeadlineMs: number; retryPeriodMs: number; helmKillGraceMs: number } {
  const renewDeadlineMs = Math.floor(leaseDurationMs * (2 / 3));
  const retryPeriodMs = Math.max(200, Math.floor(leaseDurationMs * (2 / 15)));
  const marginMs = Math.min(1_000, Math.floor(leaseDurationMs * 0.1));
  const helmKillGraceMs = Math.max(100, Math.min(HELM_KILL_GRACE_MS, leaseDurationMs - renewDeadlineMs - marginMs));
  return { renewDeadlineMs, retryPeriodMs, helmKillGraceMs };
}

function toState(r: HelmRelease): HelmReleaseState {
  return {
    revision: r.revision,
    status: r.status,
    description: r.description,
    ...(r.chart ? { chart: r.chart.name, chartVersion: r.chart.version } : {}),
  };
}

/**
 * The HelmClient seen through the reconciler's narrow port. With `releases`
 * (helm keeps releases in Secrets) the release state is read from helm's
 * storage through the API server instead of a `helm status` process.
 */
export function helmPort(helm: HelmClient, rollbackOnFailure: boolean, releases?: HelmReleaseSecrets): HelmPort {
  return {
    upgradeInstall: async (o) => {
      const release = await helm.upgradeInstall({ ...o, rollbackOnFailure });
      return { ...toState(release), manifest: release.manifest };
    },
    status: async (release, ns) => {
      const r = releases ? await releases.latest(release, ns) : await helm.status(release, ns);
      return r && toState(r);
    },
    history: (release, ns) => helm.history(release, ns),
    rollback: (release, ns, revision, signal) => helm.rollback(release, ns, revision, signal ? { signal } : {}),
    uninstall: async (release, ns, signal) => {
      await helm.uninstall(release, ns, signal ? { signal } : {});
    },
    getManifest: (release, ns, opts) => helm.getManifest(release, ns, opts),
  };
}

function instanceStore(client: InstanceClient<CaelusInstanceSpec, CaelusInstanceStatus>): InstanceStore {
  return {
    writeStatus: async (name, status, uid) => (await client.writeStatus(name, status, uid)) as unknown as CaelusInstance | undefined,
    addFinalizer: async (known, finalizer) => {
      await client.addFinalizer(known.metadata.name, finalizer, known as unknown as CustomResource<CaelusInstanceSpec, CaelusInstanceStatus>);
    },
    removeFinalizer: async (name, finalizer) => {
      await client.removeFinalizer(name, finalizer);
    },
  };
}

/** The CaelusInstances this process sees: the instance selector and, when sharded, its shard's (src/domain/shard.ts). */
export function instanceSelector(config: Pick<OperatorConfig, 'shard'>, labelSelector: string | undefined): string | undefined {
  const parts = [labelSelector?.trim(), config.shard && shardSelector(config.shard.name, config.shard.shards)].filter((s): s is string => Boolean(s));
  return parts.length > 0 ? parts.join(',') : undefined;
}

/**
 * The release objects this process's drift watches follow: those with the
 * instance label and, when sharded, the same shard selector as its
 * CaelusInstances (their objects carry the CR's shard label, steps/values.ts),
 * so a shard caches and wakes only for its own instances' objects. Not the
 * instance selector: that selects CRs by their own labels, which their
 * objects do not carry.
 */
export function driftWatchSelector(config: Pick<OperatorConfig, 'shard'>): string {
  const shard = config.shard && shardSelector(config.shard.name, config.shard.shards);
  return shard ? `${INSTANCE_LABEL},${shard}` : INSTANCE_LABEL;
}

export async function createOperatorRuntime(config: OperatorConfig, opts: RuntimeOptions): Promise<OperatorRuntime> {
  const log = config.shard ? opts.log.child({ shard: config.shard.name }) : opts.log;
  const { metrics } = opts;
  const selector = instanceSelector(config, opts.labelSelector);
  const loaded = loadKubeConfig(config.kubeconfig);
  const kc = loaded.kc;
  log.info({ kubeconfig: loaded.source, server: loaded.server }, 'kubeconfig loaded');

  const events = new EventRecorder(kc, { logger: log.child({ component: 'events' }) });
  let db: DatabaseHandle | undefined;
  let ownsDb = false;
  let catalog = opts.catalog;
  if (!catalog && config.catalogFile) {
    catalog = await FileCatalog.load(config.catalogFile);
    log.info({ catalog: config.catalogFile }, 'template catalog from file');
  }
  let dbConfig: DatabaseConfig | undefined;
  if (!catalog) {
    dbConfig = opts.database?.config ?? databaseConfigFromEnv(opts.env ?? process.env);
    db = opts.database?.handle ?? (await openDatabase(dbConfig, log));
    ownsDb = !opts.database;
    catalog = new DbTemplateCatalog(db.db);
    log.info({ database: db.kind }, 'template catalog from the database');
  }
  const leaderTasks = opts.leaderTasks?.({ kc, catalog, database: db && dbConfig ? { handle: db, config: dbConfig } : undefined, events }) ?? [];
  const secrets = opts.secrets ?? instanceSecrets(db, opts.env ?? process.env, log);
  // Pinned packages come from the database when this replica's cache lacks them (never from the registry).
  const dbHandle = db;
  const charts = new PinnedCharts(new ChartCache(defaultChartCacheDir(opts.env ?? process.env)), async (digest) =>
    dbHandle ? getChartPackage(dbHandle.db, digest) : undefined,
  );

  const timings = leaseTimings(config.leaseDurationSeconds * 1000);
  const helm = new HelmClient({
    binary: config.helmBin,
    killGraceMs: config.leaderElection ? timings.helmKillGraceMs : HELM_KILL_GRACE_MS,
    ...(loaded.source !== 'in-cluster' ? { kubeconfigPath: loaded.location } : {}),
    // Helm acts as each namespace's tenant ServiceAccount, never as the operator.
    actAsTenant: true,
    metrics,
    logger: log.child({ component: 'helm' }),
  });
  // The adapters report their own writes here, so the watch events those writes cause are not healed again.
  const ownWrites = new OwnWrites();
  const operator = new Operator({
    kc,
    catalog,
    helm: helmPort(helm, config.helmRollbackOnFailure, usesSecretStorage(process.env) ? new HelmReleaseSecrets(kc, { actAs: tenantUser }) : undefined),
    namespaces: new Namespaces(kc),
    tenants: new TenantIdentities(kc, (ref, rv) => ownWrites.wrote(ref, rv)),
    instances: instanceStore(new InstanceClient<CaelusInstanceSpec, CaelusInstanceStatus>(kc, { logger: log.child({ component: 'instances' }) })),
    events: { record: (obj, type, reason, message) => events.event(obj, type, reason, message) },
    validateValues: (schema, values) => {
      const result = validateValues(schema, values);
      return result.ok ? [] : result.violations.map((v) => `${v.path}: ${v.message}`);
    },
    log,
    metrics,
    concurrency: config.concurrency,
    helmTimeoutSeconds: config.helmTimeoutSeconds,
    resyncMs: config.resyncSeconds * 1000,
    driftFullCheckSchedule: config.driftFullCheckSchedule,
    driftWatchedKinds: config.driftWatchedKinds,
    backoff: { baseDelayMs: config.backoffBaseMs, maxDelayMs: config.backoffMaxMs },
    ...(selector ? { labelSelector: selector } : {}),
    driftWatchSelector: driftWatchSelector(config),
    ...(config.shard ? { shards: config.shard.shards } : {}),
    guardrails: {
      config: config.guardrails,
      objects: guardrailObjects(kc, log, ownWrites),
      workloads: workloadPort(kc),
      ...(secrets ? { secrets } : {}),
    },
    charts,
    ...(secrets instanceof DbSecretSource ? { declaredSecrets: secrets } : {}),
    ownWrites,
  });
  const lifecycle = {
    instances: lifecyclePort(kc, log.child({ component: 'lifecycle' }), selector, config.shard?.shards),
    activity: annotationActivity,
    events: { record: (obj: CaelusInstance, type: 'Normal' | 'Warning', reason: EventReason, message: string) => events.event(obj, type, reason, message) },
    log: log.child({ component: 'lifecycle' }),
    metrics,
  };
  // TTL and idle jobs run only while leading: two replicas must not both delete or hibernate.
  const lead = async (signal: AbortSignal): Promise<void> => {
    const job = startLifecycleJob(config.guardrails.lifecycleSchedule, lifecycle);
    // Leader tasks (the sync writes CRs and rows) run only while leading; one failing must not end the term.
    // They also end with the reconciler: a term whose reconciler failed must not go on syncing without it.
    const term = new AbortController();
    const taskSignal = AbortSignal.any([signal, term.signal]);
    const tasks = leaderTasks.map((task) =>
      Promise.resolve()
        .then(() => task(taskSignal))
        .catch((err: unknown) => log.error({ err }, 'leader task failed')),
    );
    try {
      await operator.lead(signal);
    } finally {
      term.abort(signal.aborted ? signal.reason : new Error('the reconciler stopped leading'));
      await job.stop();
      await Promise.all(tasks);
    }
  };

  const stopping = new AbortController();
  let health: HealthServer | undefined;
  let loop: Promise<void> | undefined;
  let elector: LeaderElector | undefined;

  const leadLoop = async (): Promise<void> => {
    if (!config.leaderElection) {
      await lead(stopping.signal);
      return;
    }
    elector = new LeaderElector(kc, {
      logger: log,
      namespace: config.leaseNamespace,
      name: config.leaseName,
      identity: config.identity,
      leaseDurationMs: config.leaseDurationSeconds * 1000,
      renewDeadlineMs: timings.renewDeadlineMs,
      retryPeriodMs: timings.retryPeriodMs,
    });
    // Losing the lease ends one term; keep campaigning until shutdown.
    while (!stopping.signal.aborted) {
      try {
        await elector.run({ onStartedLeading: (signal) => lead(signal) }, stopping.signal);
      } catch (err) {
        log.error({ err }, 'leader election failed; campaigning again');
        await new Promise((r) => setTimeout(r, 1_000));
      }
    }
  };

  return {
    operator,
    kc,
    get healthUrl() {
      return health?.url;
    },
    async start() {
      await ensureLeaseNamespace(kc, config);
      health = await startHealthServer({
        registry: metrics.registry,
        ready: () => operator.synced,
        port: config.metricsPort,
        host: config.metricsHost,
        onError: (check, err) => log.warn({ check, err }, 'health check failed'),
      });
      await operator.startInformer();
      loop = leadLoop().catch((err: unknown) => log.error({ err }, 'operator stopped with an error'));
      log.info({ identity: config.identity, leaderElection: config.leaderElection, lease: config.leaseName, instanceSelector: selector, health: health.url }, 'operator started');
    },
    async stop() {
      stopping.abort();
      await elector?.stop();
      await loop;
      await operator.stopInformer();
      await health?.close();
      if (ownsDb) await db?.destroy();
      log.info('operator stopped');
    },
  };
}

async function ensureLeaseNamespace(kc: KubeConfig, config: OperatorConfig): Promise<void> {
  if (!config.leaderElection) return;
  const namespaces = new Namespaces(kc);
  if (!(await namespaces.get(config.leaseNamespace))) await namespaces.create(config.leaseNamespace, {});
}

/** Instance secrets come from the database when it is open and a key ring is configured; GitOps-only installs have none. */
function instanceSecrets(db: DatabaseHandle | undefined, env: NodeJS.ProcessEnv, log: Logger): SecretSource | undefined {
  if (!db) return undefined;
  if (!env[ENCRYPTION_KEYS_ENV]) {
    log.warn(`${ENCRYPTION_KEYS_ENV} is not set: instance secrets are not copied into instance namespaces`);
    return undefined;
  }
  return new DbSecretSource(db.db, new SecretBox(parseEncryptionKeys(env[ENCRYPTION_KEYS_ENV])));
}
