// What publishing a template version adds for issue 17, in one place the
// version route calls: the declared secrets are checked, the chart's
// credentials are looked up by name, and a remote chart is pulled once and
// pinned (src/charts/pin.ts). Every refusal is a problem+json naming the field.
import type { ChartReference } from '../domain/catalog.ts';
import { parseDeclaredSecrets, type DeclaredSecret } from '../domain/declared-secrets.ts';
import { findChartCredentialId } from '../db/repositories/chart-credentials.ts';
import { isChartSourceError } from '../charts/errors.ts';
import { pinChart, type PinnedChart } from '../charts/pin.ts';
import type { ApiDeps } from './context.ts';
import { ApiProblem, ProblemType, badRequest, unprocessable } from './problems.ts';

export interface PublishChartInput {
  chart: ChartReference;
  chartVersion?: string | null | undefined;
  chartCredentials?: string | null | undefined;
  secrets?: unknown;
}

export interface PublishChart extends PinnedChart {
  chartCredentialId: string | null;
  secrets: DeclaredSecret[];
}

/** `secrets[1].generate.length` → `/body/secrets/1/generate/length` */
export function bodyPointer(field: string): string {
  return `/body/${field.replace(/\[(\d+)\]/g, '.$1').split('.').join('/')}`;
}

export async function prepareChart(deps: ApiDeps, body: PublishChartInput, signal?: AbortSignal): Promise<PublishChart> {
  const declared = parseDeclaredSecrets(body.secrets);
  if (!declared.ok) throw badRequest(bodyPointer(declared.field), declared.message);
  let chartCredentialId: string | null = null;
  if (body.chartCredentials) {
    chartCredentialId = (await findChartCredentialId(deps.db, body.chartCredentials)) ?? null;
    if (!chartCredentialId) throw unprocessable(ProblemType.Validation, '/body/chartCredentials', `names no stored chart credentials (create them with POST /chart-credentials)`);
  }
  if (body.chart.kind !== 'local' && !deps.charts) {
    throw new ApiProblem(422, ProblemType.ChartCheckFailed, 'this API server cannot pull remote charts (no chart cache configured)', { errors: [{ field: '/body/chart', message: 'remote charts are not available here' }] });
  }
  try {
    const pinned = deps.charts
      ? await pinChart({ ...deps.charts, db: deps.db, box: deps.secretBox }, { chart: body.chart, chartVersion: body.chartVersion ?? null, credentialId: chartCredentialId }, signal)
      : { chartDigest: null, chartVersion: body.chartVersion ?? null, render: body.chart };
    return { ...pinned, chartCredentialId, secrets: declared.secrets };
  } catch (err) {
    if (!isChartSourceError(err)) throw err;
    throw new ApiProblem(422, ProblemType.ChartCheckFailed, `${bodyPointer(err.field)}: ${err.message}`, {
      errors: [{ field: bodyPointer(err.field), message: err.message }],
      extensions: { chartReason: err.reason },
      cause: err,
    });
  }
}
