// The kinds allow-list (DESIGN §4, before the release): render the chart with
// the same values helm would install, and refuse the release when
// it contains anything a tenant must not get (cluster-scoped or
// privilege-granting kinds, objects in other namespaces). Runs only when the
// release is about to change, so steady state spawns no helm process.
import { parseAllDocuments } from 'yaml';
import { CONTINUE, type DesiredContext, type Step } from '../context.ts';
import type { GuardrailsConfig } from '../../config/guardrails.ts';
import { checkManifest, describeViolations } from '../../domain/kinds-policy.ts';
import { kindsPolicyFor } from '../kinds-policy.ts';
import type { RenderPort } from '../ports.ts';
import { provenInSync } from '../release/state.ts';
import { Reason, releaseName } from '../../domain/instance.ts';
import type { Metrics } from '../../observability/metrics.ts';
import { ReconcileError } from '../errors.ts';
import { helmFailure } from '../release/helm-failure.ts';

export interface PolicyStepDeps {
  config: GuardrailsConfig;
  render: RenderPort;
  metrics?: Pick<Metrics, 'policyRefusals'>;
}

// A fixed manifest stays forbidden until someone edits the template or the
// values (which requeues at once): polling faster only burns helm processes.
const FORBIDDEN_RETRY_MS = 300_000;

export function parseManifest(manifest: string): unknown[] {
  return parseAllDocuments(manifest)
    .map((doc) => doc.toJSON() as unknown)
    .filter((o) => o !== null && o !== undefined);
}

export function policyStep(deps: PolicyStepDeps): Step<DesiredContext> {
  // Digests already rendered and found clean, per instance: a failed upgrade
  // retried with backoff need not render the same inputs again.
  const passed = new Map<string, string>();
  return {
    name: 'policy',
    async run(ctx) {
      const name = releaseName(ctx.instance);
      const { namespace, template } = ctx;
      const digest = ctx.desired.digest;
      if (provenInSync(ctx.instance.status, digest, namespace)) return CONTINUE;
      if (passed.get(name) === digest) return CONTINUE;

      let manifest: string;
      try {
        manifest = await deps.render.template({
          release: name,
          namespace,
          chart: template.chart,
          ...(template.chartVersion ? { chartVersion: template.chartVersion } : {}),
          values: ctx.desired.values,
          // No labels, so no post-renderer process: the kinds, namespaces and
          // names checked here are the same with or without our labels, and the
          // post-renderer's node start was the largest CPU cost of this render
          // (npm run bench -- scale). The upgrade that follows is post-rendered.
          labels: {},
          signal: ctx.signal,
        });
      } catch (err) {
        throw helmFailure(err, Reason.RenderFailed);
      }
      let objects: unknown[];
      try {
        objects = parseManifest(manifest);
      } catch (err) {
        throw new ReconcileError(Reason.RenderFailed, `the rendered manifest is not valid YAML: ${(err as Error).message}`, { cause: err });
      }
      const violations = checkManifest(objects, kindsPolicyFor(deps.config, ctx.instance, namespace));
      if (violations.length > 0) {
        passed.delete(name);
        for (const kind of new Set(violations.map((v) => v.kind))) deps.metrics?.policyRefusals.inc({ kind });
        ctx.log.warn({ violations: violations.map((v) => ({ reason: v.reason, kind: v.kind, name: v.name })) }, 'release refused by the kinds policy');
        throw new ReconcileError(Reason.ForbiddenResource, describeViolations(violations), { requeueAfterMs: FORBIDDEN_RETRY_MS });
      }
      passed.set(name, digest);
      return CONTINUE;
    },
  };
}
