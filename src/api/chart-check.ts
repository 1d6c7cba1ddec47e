// A template version is accepted only if its chart renders with its default
// values: `helm template` runs without a cluster, so a typo in a chart path,
// a missing chart version or a broken template is a 422 at publish time
// instead of a failed install on every instance later.
import type { ChartReference } from '../domain/catalog.ts';
import { HelmErrorReason, isHelmError, type HelmClient } from '../helm/index.ts';
import { ApiProblem, ProblemType } from './problems.ts';

export interface ChartCheckInput {
  chart: ChartReference;
  chartVersion: string | null;
  defaultValues: Record<string, unknown>;
}

export interface ChartChecker {
  /** Resolves when the chart renders; throws an ApiProblem (422, naming the field) when it does not. */
  check(input: ChartCheckInput, signal?: AbortSignal): Promise<void>;
}

export class HelmChartChecker implements ChartChecker {
  readonly #helm: HelmClient;
  readonly #timeoutSeconds: number;
  constructor(helm: HelmClient, opts: { timeoutSeconds?: number } = {}) {
    this.#helm = helm;
    this.#timeoutSeconds = opts.timeoutSeconds ?? 60;
  }

  async check(input: ChartCheckInput, signal?: AbortSignal): Promise<void> {
    try {
      await this.#helm.template({
        release: 'caelus-chart-check',
        namespace: 'caelus-chart-check',
        chart: input.chart,
        ...(input.chartVersion ? { chartVersion: input.chartVersion } : {}),
        values: input.defaultValues,
        timeoutSeconds: this.#timeoutSeconds,
        ...(signal ? { signal } : {}),
      });
    } catch (err) {
      if (!isHelmError(err)) throw err;
      const field = fieldOf(err.reason, input, err.stderrTail);
      const message = `does not render (${err.reason}): ${err.stderrTail || err.message}`;
      throw new ApiProblem(422, ProblemType.ChartCheckFailed, `${field}: ${message}`, {
        errors: [{ field, message }],
        extensions: { helmReason: err.reason },
        cause: err,
      });
    }
  }
}

/** Which input the user should fix: the values when the templates failed on them, else the chart reference. */
function fieldOf(reason: string, input: ChartCheckInput, stderr: string): string {
  if (reason === HelmErrorReason.RenderFailed && Object.keys(input.defaultValues).length > 0) return '/body/defaultValues';
  if (reason === HelmErrorReason.ChartNotFound && input.chartVersion && /version/i.test(stderr)) return '/body/chartVersion';
  return '/body/chart';
}
