import type { TemplateCatalog } from '../domain/catalog.ts';
import { Reason } from '../domain/instance.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { DesiredContext, Extender, ReconcileContext, Step, StepOutcome } from './context.ts';
import { ReconcileError } from './errors.ts';
import type { EventSink, HelmPort, InstanceStore, NamespacePort, RestorePort, ValuesValidator } from './ports.ts';
import type { KindsPolicyConfig } from './kinds-policy.ts';
import { finalizerStep } from './steps/finalizer.ts';
import { namespaceStep } from './steps/namespace.ts';
import { releaseStep } from './steps/release.ts';
import { resolveStep } from './steps/resolve.ts';
import { suspendStep } from './steps/suspend.ts';
import { shardStep } from './steps/shard.ts';
import type { ShardList } from '../domain/shard.ts';
import { valuesStep } from './steps/values.ts';
import { guardrailsStep, type GuardrailDeps } from './steps/guardrails.ts';
import { hibernationStep } from './steps/hibernation.ts';
import { tenantStep, type TenantIdentityPort } from './steps/tenant.ts';
import { driftStep, type DriftStepDeps } from './steps/drift.ts';
import { chartStep, type ChartPort } from './steps/chart.ts';
import { declaredSecretsStep, type DeclaredSecretsPort } from './steps/declared-secrets.ts';

export interface PipelineDeps {
  catalog: TemplateCatalog;
  helm: HelmPort;
  namespaces: NamespacePort;
  instances: InstanceStore;
  events: EventSink;
  validateValues: ValuesValidator;
  helmTimeoutSeconds: number;
  /** The tenant ServiceAccount + RoleBinding helm acts as (applied right after the namespace). */
  tenants: TenantIdentityPort;
  isLeader(): boolean;
  writeProgress(ctx: ReconcileContext): Promise<void>;
  /** Tenant guardrails, kinds policy and hibernation; without them the pipeline only installs releases. */
  guardrails?: GuardrailDeps;
  drift: Omit<DriftStepDeps, 'events' | 'policy'>;
  /** Guardrail, policy and hibernation counters (caelus_guardrails_applies_total, …). */
  metrics?: Pick<Metrics, 'guardrailsApplies' | 'policyRefusals' | 'lifecycleActions'>;
  /** Pinned and local charts from the content-addressed cache; without it helm fetches chart references itself. */
  charts?: ChartPort;
  /** Generated and required secrets of template versions (the database); without it declared secrets keep instances Pending. */
  declaredSecrets?: DeclaredSecretsPort;
  /** All configured shards when this operator runs one of them; CRs naming another shard are reported, not reconciled. */
  shards?: ShardList;
  /** Marks to re-apply the tenant identity and guardrails though unchanged (an edited or deleted one, the periodic full check). */
  restore?: RestorePort;
}

type Reached<C> = { stop: true; requeueAfterMs?: number } | { stop: false; ctx: C };

/**
 * Steps in order, typed by what the context holds at each point: a step that
 * needs the desired values can only be added after the step that adds them.
 */
export class Pipeline<C extends ReconcileContext> {
  readonly names: readonly string[];
  readonly #run: (ctx: ReconcileContext) => Promise<Reached<C>>;

  private constructor(names: readonly string[], run: (ctx: ReconcileContext) => Promise<Reached<C>>) {
    this.names = names;
    this.#run = run;
  }

  static start(): Pipeline<ReconcileContext> {
    return new Pipeline([], async (ctx) => ({ stop: false, ctx }));
  }

  then(step: Step<C>): Pipeline<C> {
    return new Pipeline([...this.names, step.name], async (start) => {
      const reached = await this.#run(start);
      if (reached.stop) return reached;
      notAborted(reached.ctx);
      const outcome = await step.run(reached.ctx);
      return outcome.stop ? outcome : reached;
    });
  }

  extend<D extends C>(step: Extender<C, D>): Pipeline<D> {
    return new Pipeline<D>([...this.names, step.name], async (start) => {
      const reached = await this.#run(start);
      if (reached.stop) return reached;
      notAborted(reached.ctx);
      return { stop: false, ctx: await step.run(reached.ctx) };
    });
  }

  /** Runs every step until one stops; a stop's requeue is returned. */
  async run(ctx: ReconcileContext): Promise<StepOutcome> {
    const reached = await this.#run(ctx);
    return reached.stop ? reached : { stop: false };
  }
}

function notAborted(ctx: ReconcileContext): void {
  if (ctx.signal.aborted) throw new ReconcileError(Reason.ReconcileError, 'reconcile canceled (shutting down or lost leadership)');
}

/**
 * The reconcile pipeline, in DESIGN §4 order. The tenant identity (right
 * after the namespace), guardrails and hibernation (after release) plug in as
 * further steps; the kinds policy runs inside the release's own helm process
 * (post-renderer).
 */
export function buildPipeline(deps: PipelineDeps): Pipeline<DesiredContext> {
  const g = deps.guardrails;
  const metrics = deps.metrics ? { metrics: deps.metrics } : {};
  // Stored release manifests are checked against the same policy as new renders.
  const policy: KindsPolicyConfig = g ? { allowedKinds: g.config.allowedKinds, allowedClusterRoles: g.config.allowedClusterRoles } : {};
  const start = deps.shards ? Pipeline.start().then(shardStep(deps.shards)) : Pipeline.start();
  let r = start
    .then(finalizerStep({ ...deps, ...(g ? { objects: g.objects } : {}) }))
    .then(suspendStep())
    .extend(resolveStep(deps.catalog));
  // From here on the render and the install use one verified local chart (src/charts).
  if (deps.charts) r = r.extend(chartStep(deps.charts));
  r = r.then(declaredSecretsStep({ secrets: deps.declaredSecrets, events: deps.events }));
  let p = r.extend(namespaceStep(deps.namespaces)).then(tenantStep({ tenants: deps.tenants, shards: deps.shards, restore: deps.restore, events: deps.events }));
  if (g) p = p.then(guardrailsStep({ ...g, events: deps.events, ...metrics, shards: deps.shards, restore: deps.restore }));
  let q = p.extend(valuesStep(deps.validateValues, deps.shards));
  q = q.then(releaseStep({ ...deps, manifests: deps.drift.manifests, policy, ...metrics }));
  if (g) q = q.then(hibernationStep({ workloads: g.workloads, events: deps.events, ...metrics }));
  return q.then(driftStep({ ...deps.drift, events: deps.events, policy }));
}
