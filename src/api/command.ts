// `caelus api`: opens (and migrates) the database, builds the server, listens,
// and on SIGINT/SIGTERM stops accepting, lets in-flight requests finish
// (bounded by the shutdown grace), then closes the database.
import { apiConfig, rateLimitOf, type ApiFlags } from '../config/api.ts';
import { openMigratedDatabase } from '../db/commands.ts';
import { instanceEventFeed } from '../db/change-feed.ts';
import { databaseConfigFromEnv } from '../config/database.ts';
import { HelmClient } from '../helm/index.ts';
import { loadKubeConfig } from '../k8s/client.ts';
import { createLogger } from '../observability/logger.ts';
import { createMetrics } from '../observability/metrics.ts';
import { HelmChartChecker } from './chart-check.ts';
import { ClusterLiveStatusReader, type LiveStatusReader } from './live-status.ts';
import { ClusterInsightReader } from './cluster-insight.ts';
import { buildApiServer } from './server.ts';
import { chartPinningFromEnv } from '../charts/pin.ts';
import { ENCRYPTION_KEYS_ENV, parseEncryptionKeys } from '../config/encryption-keys.ts';
import { SecretBox } from '../db/secret-box.ts';
import type { FastifyInstance } from 'fastify';
import type { KubeConfig } from '@kubernetes/client-node';
import { DEFAULT_LEASE_NAME, DEFAULT_LEASE_NAMESPACE, shardingConfig } from '../config/shards.ts';
import { apiSharding } from './shard-status.ts';
import type { Logger } from '../observability/logger.ts';

export async function apiCommand(flags: ApiFlags, signal: AbortSignal): Promise<void> {
  const log = createLogger({ name: 'caelus-api' });
  const config = apiConfig(flags);
  const sharding = shardingConfig(process.env);
  const metrics = createMetrics();
  const handle = await openMigratedDatabase((line) => log.info(line));
  try {
    let liveStatus: LiveStatusReader | undefined;
    let kc: KubeConfig | undefined;
    let cluster: ClusterInsightReader | undefined;
    // Cluster access is optional: an explicit kubeconfig, or the pod's service account in a cluster.
    if (config.kubeconfig || process.env['KUBERNETES_SERVICE_HOST']) {
      const loaded = loadKubeConfig(config.kubeconfig);
      log.info({ source: loaded.source, server: loaded.server }, 'live instance status from the cluster');
      kc = loaded.kc;
      const reader = new ClusterLiveStatusReader(loaded.kc, log);
      reader.start();
      liveStatus = reader;
      cluster = new ClusterInsightReader(loaded.kc);
    } else {
      log.info('no kubeconfig: instance status, conditions and drift come from the database');
    }
    const helm = new HelmClient({ binary: config.helmBin, metrics, logger: log });
    // Instance secrets and chart credentials are sealed here; without keys those routes answer 503.
    const keys = process.env[ENCRYPTION_KEYS_ENV];
    if (!keys) log.warn(`${ENCRYPTION_KEYS_ENV} is not set: the secrets and chart-credentials routes answer 503`);
    const app = await buildApiServer({
      db: handle.db,
      logger: log,
      metrics,
      chartChecker: new HelmChartChecker(helm),
      maxInstancesPerUser: config.maxInstancesPerUser,
      bodyLimitBytes: config.bodyLimitBytes,
      idempotencyPurge: { schedule: config.idempotencyPurgeSchedule, retentionMs: config.idempotencyRetentionHours * 3600_000 },
      domainSuffixes: config.domainSuffixes,
      rateLimit: rateLimitOf(config),
      trustProxyHops: config.trustProxyHops,
      ...(liveStatus ? { liveStatus } : {}),
      ...(cluster ? { cluster } : {}),
      changeFeed: changeFeedOf(handle, log),
      ...(keys ? { secretBox: new SecretBox(parseEncryptionKeys(keys)) } : {}),
      charts: chartPinningFromEnv(config.helmBin),
      sharding: apiSharding(sharding, { leaseNamespace: DEFAULT_LEASE_NAMESPACE, baseLeaseName: DEFAULT_LEASE_NAME }, kc),
    });
    const url = await app.listen({ port: config.port, host: config.host });
    log.info({ url, docs: `${url}/docs`, console: `${url}/ui/` }, 'caelus api listening');
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener('abort', () => resolve(), { once: true });
    });
    await closeApiServer(app, config.shutdownGraceMs, log);
  } finally {
    await handle.destroy();
  }
}

/** Stops accepting, lets in-flight requests finish within graceMs, then cuts the remaining connections. */
export async function closeApiServer(app: FastifyInstance, graceMs: number, log: Logger): Promise<void> {
  log.info({ graceMs }, 'shutting down: draining in-flight requests');
  let timer: NodeJS.Timeout | undefined;
  const closed = app.close();
  const overrun = new Promise<'overrun'>((resolve) => {
    timer = setTimeout(() => resolve('overrun'), graceMs);
  });
  if ((await Promise.race([closed.then(() => 'closed' as const), overrun])) === 'overrun') {
    log.warn('in-flight requests did not finish within the grace period; closing connections');
    app.server.closeAllConnections();
    await closed;
  }
  clearTimeout(timer);
}

function changeFeedOf(handle: Awaited<ReturnType<typeof openMigratedDatabase>>, log: Logger) {
  const config = databaseConfigFromEnv();
  return config.kind === 'postgres' ? instanceEventFeed(handle, config.url, log, config.connectTimeoutMs) : instanceEventFeed(handle, undefined, log);
}
