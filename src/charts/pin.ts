// Publishing side of "pulled once, pinned by digest" (DESIGN §5c): a remote
// chart is pulled once, stored content-addressed in the local cache and in
// chart_package (so every operator replica can materialise it without the
// network), and the version records its sha256 and exact chart version.
// Local development charts are not pinned here; the operator hashes them at
// every reconcile (see store.ts).
import type { Kysely } from 'kysely';
import type { ChartReference } from '../domain/catalog.ts';
import { openChartCredential } from '../db/repositories/chart-credentials.ts';
import { putChartPackage } from '../db/repositories/chart-packages.ts';
import type { Database } from '../db/schema.ts';
import type { SecretBox } from '../db/secret-box.ts';
import { ConfigError } from '../config/errors.ts';
import { ChartCache, defaultChartCacheDir } from './cache.ts';
import { ChartErrorReason, ChartSourceError } from './errors.ts';
import { ALLOW_HTTP_ENV, ChartPuller, checkRemoteReference } from './pull.ts';

export interface ChartPinning {
  puller: ChartPuller;
  cache: ChartCache;
  /** Accept http:// chart repositories (labs only). */
  allowHttp: boolean;
}

export interface PinnedChart {
  /** sha256 of the package; null for a local development chart. */
  chartDigest: string | null;
  /** The exact chart version (remote), or the given one (local). */
  chartVersion: string | null;
  /** What to render for the publish check: the pinned package, so the check sees the bytes instances will get. */
  render: ChartReference;
}

export async function pinChart(
  deps: ChartPinning & { db: Kysely<Database>; box: SecretBox | undefined },
  input: { chart: ChartReference; chartVersion: string | null; credentialId: string | null },
  signal?: AbortSignal,
): Promise<PinnedChart> {
  const { chart } = input;
  if (chart.kind === 'local') {
    if (input.credentialId) throw new ChartSourceError(ChartErrorReason.Refused, 'chartCredentials', 'applies only to oci:// and repository charts');
    return { chartDigest: null, chartVersion: input.chartVersion, render: chart };
  }
  checkRemoteReference(chart, input.chartVersion, deps.allowHttp);
  let credentials;
  if (input.credentialId) {
    if (!deps.box) throw new ChartSourceError(ChartErrorReason.Refused, 'chartCredentials', 'this API server has no encryption keys (CAELUS_ENCRYPTION_KEYS) to open chart credentials');
    credentials = await openChartCredential(deps.db, deps.box, input.credentialId);
    if (!credentials) throw new ChartSourceError(ChartErrorReason.Refused, 'chartCredentials', 'names no stored chart credentials');
  }
  const pulled = await deps.puller.pull(chart, input.chartVersion!, {
    allowHttp: deps.allowHttp,
    ...(credentials ? { credentials } : {}),
    ...(signal ? { signal } : {}),
  });
  const { digest, path } = await deps.cache.put(pulled.bytes);
  await putChartPackage(deps.db, pulled.bytes);
  return { chartDigest: digest, chartVersion: pulled.version, render: { kind: 'local', path } };
}

/** The API's chart pinning from its environment: cache dir (CAELUS_CHART_CACHE_DIR) and the http:// lab switch. */
export function chartPinningFromEnv(helmBinary: string, env: NodeJS.ProcessEnv = process.env): ChartPinning {
  const raw = (env[ALLOW_HTTP_ENV] ?? '').trim().toLowerCase();
  if (!['', 'true', 'false'].includes(raw)) throw new ConfigError(ALLOW_HTTP_ENV, `must be true or false, got ${JSON.stringify(env[ALLOW_HTTP_ENV])}`);
  return { puller: new ChartPuller(helmBinary), cache: new ChartCache(defaultChartCacheDir(env)), allowHttp: raw === 'true' };
}
