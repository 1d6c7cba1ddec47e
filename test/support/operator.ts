// Runs the real operator (informer, queue, reconciler, helm) in the test
// process against the shared control plane. Each test file passes its own
// shard label so operators of parallel files never touch each other's CRs.
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import type { TemplateCatalog } from '../../src/domain/catalog.ts';
import { API_VERSION, ConditionType, KIND, type CaelusInstance, type CaelusInstanceSpec } from '../../src/domain/instance.ts';
import { createMetrics, type Metrics } from '../../src/observability/metrics.ts';
import { silentLogger, createLogger, type Logger } from '../../src/observability/logger.ts';
import { createOperatorWithSync } from '../../src/compose/operator-with-sync.ts';
import type { OperatorRuntime } from '../../src/operator/run-operator.ts';
import type { SecretSource } from '../../src/operator/ports.ts';
import { operatorConfig } from '../../src/config/operator.ts';
import { eventually, helmBin, testKubeConfig } from './kube.ts';

export const TEST_CATALOG = fileURLToPath(new URL('../fixtures/catalog.yaml', import.meta.url));
export const SHARD_LABEL = 'caelus.io/test-shard';

/**
 * Environment of an in-process operator like `caelus operator` with the
 * database at databaseUrl as its catalog (so the DB ↔ CR sync runs), for
 * tests that build the runtime themselves; extra wins.
 */
export function syncedOperatorEnv(databaseUrl: string | undefined, extra: Record<string, string> = {}): Record<string, string | undefined> {
  return {
    KUBECONFIG: process.env['CAELUS_TEST_KUBECONFIG'],
    HELM_BIN: helmBin(),
    CAELUS_LEADER_ELECTION: 'false',
    CAELUS_METRICS_PORT: '0',
    CAELUS_METRICS_HOST: '127.0.0.1',
    CAELUS_HELM_TIMEOUT_SECONDS: '60',
    CAELUS_HELM_ROLLBACK_ON_FAILURE: 'false',
    DATABASE_URL: databaseUrl,
    CAELUS_DB_POOL_MAX: '3',
    ...extra,
  };
}

export interface TestOperator {
  runtime: OperatorRuntime;
  metrics: Metrics;
  stop(): Promise<void>;
}

export async function startTestOperator(
  shard: string,
  overrides: Record<string, string> = {},
  opts: {
    logLines?: string[];
    /** Resolve templates through this catalog (e.g. a DbTemplateCatalog) instead of test/fixtures/catalog.yaml. */
    catalog?: TemplateCatalog;
    /**
     * Run like `caelus operator` with the database as the catalog: templates
     * resolve in this database (its own URL, e.g. TestDatabase.url) and the
     * DB ↔ CR sync runs while leading.
     */
    databaseUrl?: string;
    /** Where instance secrets come from (e.g. a DbSecretSource, or fixed values) instead of the database. */
    secrets?: SecretSource;
    /** The test's own logger (e.g. one without redaction, to prove a value never reaches a logger); wins over logLines. */
    log?: Logger;
  } = {},
): Promise<TestOperator> {
  const metrics = createMetrics();
  const env: NodeJS.ProcessEnv = opts.databaseUrl
    ? { ...process.env, DATABASE_URL: opts.databaseUrl, CAELUS_DB_POOL_MAX: '3', CAELUS_SYNC_SWEEP_SECONDS: '5', ...overrides }
    : process.env;
  const config = operatorConfig(
    {},
    {
      KUBECONFIG: process.env['CAELUS_TEST_KUBECONFIG'],
      HELM_BIN: helmBin(),
      // Empty = unset: the database is the catalog.
      CAELUS_CATALOG: opts.databaseUrl ? '' : TEST_CATALOG,
      CAELUS_LEADER_ELECTION: 'false',
      CAELUS_METRICS_PORT: '0',
      CAELUS_METRICS_HOST: '127.0.0.1',
      CAELUS_BACKOFF_BASE_MS: '1000',
      CAELUS_HELM_TIMEOUT_SECONDS: '60',
      CAELUS_HELM_ROLLBACK_ON_FAILURE: 'false',
      ...overrides,
    },
  );
  const log = opts.log
    ? opts.log
    : opts.logLines
    ? createLogger({ level: 'debug', destination: { write: (line: string) => void opts.logLines!.push(line) } })
    : process.env['CAELUS_TEST_LOGS']
      ? createLogger({ level: 'debug' })
      : silentLogger();
  const runtime = await createOperatorWithSync(config, {
    log,
    metrics,
    labelSelector: `${SHARD_LABEL}=${shard}`,
    env,
    ...(opts.catalog ? { catalog: opts.catalog } : {}),
    ...(opts.secrets ? { secrets: opts.secrets } : {}),
  });
  await runtime.start();
  return { runtime, metrics, stop: () => runtime.stop() };
}

export function instanceBody(name: string, shard: string, spec: CaelusInstanceSpec): CaelusInstance {
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: { name, labels: { [SHARD_LABEL]: shard } },
    spec,
  };
}

export function customObjects(): k8s.CustomObjectsApi {
  return testKubeConfig().makeApiClient(k8s.CustomObjectsApi);
}

export async function createInstance(body: CaelusInstance): Promise<void> {
  await customObjects().createClusterCustomObject({ group: 'caelus.io', version: 'v1', plural: 'caelusinstances', body });
}

export async function getInstance(name: string): Promise<CaelusInstance | undefined> {
  try {
    return (await customObjects().getClusterCustomObject({ group: 'caelus.io', version: 'v1', plural: 'caelusinstances', name })) as CaelusInstance;
  } catch (err) {
    if ((err as { code?: number }).code === 404) return undefined;
    throw err;
  }
}

export async function patchInstance(name: string, patch: Record<string, unknown>): Promise<void> {
  await customObjects().patchClusterCustomObject(
    { group: 'caelus.io', version: 'v1', plural: 'caelusinstances', name, body: patch },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
  );
}

export async function deleteInstance(name: string): Promise<void> {
  await customObjects().deleteClusterCustomObject({ group: 'caelus.io', version: 'v1', plural: 'caelusinstances', name });
}

/** The instance once Ready=True for its current generation (and `extra` holds). */
export function waitReady(name: string, extra: (i: CaelusInstance) => boolean = () => true, timeoutMs = 90_000): Promise<CaelusInstance> {
  return eventually(async () => {
    const i = await getInstance(name);
    return i && condition(i, ConditionType.Ready)?.status === 'True' && i.status?.observedGeneration === i.metadata.generation && extra(i) ? i : undefined;
  }, timeoutMs);
}

export function condition(instance: CaelusInstance | undefined, type: string) {
  return instance?.status?.conditions?.find((c) => c.type === type);
}

/** The sum of a counter's values across label sets (e.g. every helm invocation). */
export async function counterTotal(metrics: Metrics, name: string, filter: Record<string, string> = {}): Promise<number> {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
  if (!metric) return 0;
  return (metric.values as Array<{ value: number; labels: Record<string, string | number> }>)
    .filter((v) => Object.entries(filter).every(([k, want]) => String(v.labels[k]) === want))
    .reduce((sum, v) => sum + v.value, 0);
}

/** Reconciles finished so far (the count of the reconcile duration histogram). */
export async function reconcileCount(metrics: Metrics): Promise<number> {
  const m = (await metrics.registry.getMetricsAsJSON()).find((x) => x.name === 'caelus_reconcile_duration_seconds');
  return ((m?.values ?? []) as Array<{ metricName?: string; value: number }>)
    .filter((v) => v.metricName === 'caelus_reconcile_duration_seconds_count')
    .reduce((sum, v) => sum + v.value, 0);
}
