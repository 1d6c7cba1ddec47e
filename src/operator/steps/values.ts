import type { DesiredContext, Extender, PlacedContext } from '../context.ts';
import { digestOf } from '../../domain/digest.ts';
import { Reason, instanceNamespace, releaseName } from '../../domain/instance.ts';
import { effectiveValues } from '../../domain/values.ts';
import { ReconcileError } from '../errors.ts';
import type { ValuesValidator } from '../ports.ts';

/**
 * Bumped whenever what Caelus adds at render time (labels, post-render) changes,
 * so every release is re-applied once with the new rendering.
 */
export const RENDER_VERSION = 1;

export function valuesStep(validate: ValuesValidator): Extender<PlacedContext, DesiredContext> {
  return {
    name: 'values',
    async run(ctx) {
      const template = ctx.template;
      const spec = ctx.instance.spec;
      const overrides = spec.values ?? {};
      if (template.valuesSchema) {
        const problems = validate(template.valuesSchema, overrides);
        if (problems.length > 0) {
          throw new ReconcileError(Reason.InvalidValues, `spec.values does not match the template's schema: ${problems.join('; ')}`, {
            requeueAfterMs: 300_000,
          });
        }
      }
      // The one effective-values rule (src/domain/values.ts), the same the API shows.
      const { values } = effectiveValues({ defaults: template.defaultValues, overrides, domainName: spec.domainName });
      const digest = digestOf({
        chart: template.chart,
        chartVersion: template.chartVersion ?? null,
        values,
        release: releaseName(ctx.instance),
        namespace: instanceNamespace(ctx.instance),
        render: RENDER_VERSION,
      });
      return Object.assign(ctx, { desired: { values, digest } });
    },
  };
}
