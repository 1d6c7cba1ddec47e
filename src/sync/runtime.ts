// Builds the DB ↔ CR sync for `caelus operator` from its database handle and
// the environment. src/compose/operator-with-sync.ts hands it to the operator
// runtime as a leader task (the operator does not import the sync).
import type { KubeConfig } from '@kubernetes/client-node';
import type { DatabaseConfig } from '../config/database.ts';
import { ConfigError } from '../config/errors.ts';
import type { TemplateCatalog } from '../domain/catalog.ts';
import type { DatabaseHandle } from '../db/connect.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import { PGliteChangeFeed, PgChangeFeed, type ChangeFeed } from '../db/change-feed.ts';
import { labelsFromSelector } from './spec.ts';
import { InstanceSync } from './loop.ts';
import type { SyncEventSink } from './events.ts';

export interface SyncConfig {
  /** CAELUS_SYNC (default true): mirror rows ↔ CRs while leading. */
  enabled: boolean;
  /** CAELUS_SYNC_SWEEP_SECONDS (default 30): the full pass under notifications and watches. */
  sweepIntervalMs: number;
  /** CAELUS_SYNC_ACTIVITY_SECONDS (default 30; 0 = every report): how often, at most, reported activity is copied to a CR. */
  activityGranularityMs: number;
}

export function syncConfigFromEnv(env: Record<string, string | undefined>): SyncConfig {
  const enabledRaw = env['CAELUS_SYNC']?.trim();
  if (enabledRaw && !/^(true|false|1|0|yes|no)$/i.test(enabledRaw)) throw new ConfigError('CAELUS_SYNC', `must be true or false, got "${enabledRaw}"`);
  const sweepRaw = env['CAELUS_SYNC_SWEEP_SECONDS']?.trim();
  if (sweepRaw && (!/^[1-9][0-9]*$/.test(sweepRaw) || Number(sweepRaw) > 86_400)) {
    throw new ConfigError('CAELUS_SYNC_SWEEP_SECONDS', `must be an integer from 1 to 86400, got "${sweepRaw}"`);
  }
  const activityRaw = env['CAELUS_SYNC_ACTIVITY_SECONDS']?.trim();
  if (activityRaw && (!/^(0|[1-9][0-9]*)$/.test(activityRaw) || Number(activityRaw) > 3_600)) {
    throw new ConfigError('CAELUS_SYNC_ACTIVITY_SECONDS', `must be an integer from 0 to 3600, got "${activityRaw}"`);
  }
  return {
    enabled: !enabledRaw || /^(true|1|yes)$/i.test(enabledRaw),
    sweepIntervalMs: (sweepRaw ? Number(sweepRaw) : 30) * 1000,
    activityGranularityMs: (activityRaw ? Number(activityRaw) : 30) * 1000,
  };
}

export interface OperatorSyncDeps {
  handle: DatabaseHandle;
  dbConfig: DatabaseConfig;
  kc: KubeConfig;
  catalog: TemplateCatalog;
  events: SyncEventSink;
  log: Logger;
  metrics: Metrics;
  /** The operator's instance selector: the sync watches the same CRs and labels the CRs it creates to match. */
  labelSelector: string | undefined;
  env: Record<string, string | undefined>;
}

/** The sync for this operator, or undefined when CAELUS_SYNC=false. */
export function createOperatorSync(deps: OperatorSyncDeps): InstanceSync | undefined {
  const config = syncConfigFromEnv(deps.env);
  const log = deps.log.child({ component: 'sync' });
  if (!config.enabled) {
    log.info('DB ↔ CR sync disabled (CAELUS_SYNC=false)');
    return undefined;
  }
  const labels = labelsFromSelector(deps.labelSelector);
  if (!labels) log.warn({ labelSelector: deps.labelSelector }, 'instance selector is not a plain k=v list: CRs the sync creates carry no selector labels');
  const feed: ChangeFeed =
    deps.dbConfig.kind === 'postgres'
      ? new PgChangeFeed({ url: deps.dbConfig.url, logger: log, connectTimeoutMs: deps.dbConfig.connectTimeoutMs })
      : new PGliteChangeFeed({ pglite: deps.handle.pglite!, logger: log });
  return new InstanceSync({
    db: deps.handle.db,
    kc: deps.kc,
    catalog: deps.catalog,
    feed,
    events: deps.events,
    log: deps.log,
    metrics: deps.metrics,
    sweepIntervalMs: config.sweepIntervalMs,
    activityGranularityMs: config.activityGranularityMs,
    ...(deps.labelSelector ? { labelSelector: deps.labelSelector } : {}),
    ...(labels ? { labels } : {}),
  });
}
