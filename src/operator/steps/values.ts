import type { DesiredContext, Extender, PlacedContext } from '../context.ts';
import { digestOf } from '../../domain/digest.ts';
import { Reason, instanceNamespace, releaseName } from '../../domain/instance.ts';
import { objectShardLabels, ownerLabels, type ShardList } from '../../domain/shard.ts';
import { effectiveValues } from '../../domain/values.ts';
import { ReconcileError } from '../errors.ts';
import type { ValuesValidator } from '../ports.ts';

/**
 * Bumped whenever what Caelus adds at render time (labels, post-render) changes,
 * so every release is re-applied once with the new rendering. (The shard label
 * is in the digest itself: it changes per instance, not per Caelus version.)
 */
export const RENDER_VERSION = 1;

/** `shards`: all configured shards when sharded (the release's objects then carry the CR's shard label). */
export function valuesStep(validate: ValuesValidator, shards?: ShardList): Extender<PlacedContext, DesiredContext> {
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
      const shardLabels = objectShardLabels(ctx.instance.metadata.labels, shards);
      const digest = digestOf({
        // The chart's content when it is known (pinned or hashed local chart), so the same bytes
        // wherever they are cached give the same digest and changed bytes a new one.
        chart: template.chartDigest ?? template.chart,
        chartVersion: template.chartVersion ?? null,
        values,
        release: releaseName(ctx.instance),
        namespace: instanceNamespace(ctx.instance),
        render: RENDER_VERSION,
        // Only when there is one, so releases without it (every unsharded one) keep the digest they
        // had before sharding and are not upgraded for it. A relabelled CR changes it: the new
        // shard's next reconcile re-applies the release, relabelling its objects for its drift watches.
        ...(Object.keys(shardLabels).length > 0 ? { labels: shardLabels } : {}),
      });
      return Object.assign(ctx, { desired: { values, digest, labels: ownerLabels(ctx.instance, shards) } });
    },
  };
}
