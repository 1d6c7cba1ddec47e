// Chart resolution (DESIGN §5c), right after the template version is known:
// from here on the policy render and the helm install both use one local
// chart whose bytes match a digest, and the desired digest includes it.
//   pinned version (oci://, https repo)  → the cached package, verified against chartDigest
//   local directory or .tgz (development) → its content digest + a snapshot of that content
//   anything else (an unpinned remote chart of a catalog file) → left to helm
import type { Extender, ResolvedContext } from '../context.ts';
import type { ResolvedTemplateVersion } from '../../domain/catalog.ts';
import { Reason } from '../../domain/instance.ts';
import { ChartErrorReason, isChartSourceError } from '../../charts/errors.ts';
import { ReconcileError } from '../errors.ts';

export interface ChartPort {
  /** Path of the package pinned to `digest`, verified; throws ChartSourceError (DigestMismatch, PackageMissing). */
  pinned(digest: string): Promise<string>;
  /** Content digest of a local chart and the path of a snapshot of exactly that content. */
  local(path: string): Promise<{ digest: string; path: string }>;
}

// A mismatch or a lost package needs a human (republish, restore the row): retry slowly.
const CHART_RETRY_MS = 300_000;

export function chartStep(charts: ChartPort): Extender<ResolvedContext, ResolvedContext> {
  return {
    name: 'chart',
    async run(ctx) {
      const template = ctx.template;
      let resolved: ResolvedTemplateVersion = template;
      try {
        if (template.chartDigest) {
          const path = await charts.pinned(template.chartDigest);
          resolved = { ...template, chart: { kind: 'local', path } };
        } else if (template.chart.kind === 'local') {
          const local = await charts.local(template.chart.path);
          resolved = { ...template, chart: { kind: 'local', path: local.path }, chartDigest: local.digest };
        }
      } catch (err) {
        if (isChartSourceError(err, ChartErrorReason.DigestMismatch)) {
          throw new ReconcileError(Reason.ChartDigestMismatch, err.message, { requeueAfterMs: CHART_RETRY_MS, cause: err });
        }
        if (isChartSourceError(err, ChartErrorReason.PackageMissing)) {
          throw new ReconcileError(Reason.ChartNotFound, err.message, { requeueAfterMs: CHART_RETRY_MS, cause: err });
        }
        throw err;
      }
      return Object.assign(ctx, { template: resolved });
    },
  };
}
