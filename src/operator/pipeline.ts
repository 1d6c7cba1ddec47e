import type { TemplateCatalog } from '../domain/catalog.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { Step } from './context.ts';
import type { EventSink, HelmPort, InstanceStore, NamespacePort } from './ports.ts';
import type { ReconcileContext } from './context.ts';
import { finalizerStep } from './steps/finalizer.ts';
import { namespaceStep } from './steps/namespace.ts';
import { releaseStep } from './steps/release.ts';
import { resolveStep } from './steps/resolve.ts';
import { suspendStep } from './steps/suspend.ts';
import { valuesStep, type ValuesValidator } from './steps/values.ts';
import { guardrailsStep, type GuardrailDeps } from './steps/guardrails.ts';
import { hibernationStep } from './steps/hibernation.ts';
import { policyStep } from './steps/policy.ts';
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
  isLeader(): boolean;
  writeProgress(ctx: ReconcileContext): Promise<void>;
  /** Tenant guardrails, kinds policy and hibernation; without them the pipeline only installs releases. */
  guardrails?: GuardrailDeps;
  drift: DriftStepDeps;
  /** Guardrail, policy and hibernation counters (caelus_guardrails_applies_total, …). */
  metrics?: Pick<Metrics, 'guardrailsApplies' | 'policyRefusals' | 'lifecycleActions'>;
  /** Pinned and local charts from the content-addressed cache; without it helm fetches chart references itself. */
  charts?: ChartPort;
  /** Generated and required secrets of template versions (the database); without it declared secrets keep instances Pending. */
  declaredSecrets?: DeclaredSecretsPort;
}

/**
 * The reconcile pipeline, in DESIGN §4 order. Guardrails (after namespace),
 * drift and hibernation (after release) plug in as further steps.
 */
export function buildPipeline(deps: PipelineDeps): Step[] {
  const g = deps.guardrails;
  const metrics = deps.metrics ? { metrics: deps.metrics } : {};
  return [
    finalizerStep(deps),
    suspendStep(),
    resolveStep(deps.catalog),
    ...(deps.charts ? [chartStep(deps.charts)] : []),
    declaredSecretsStep({ secrets: deps.declaredSecrets, events: deps.events }),
    namespaceStep(deps.namespaces),
    ...(g ? [guardrailsStep({ ...g, events: deps.events, ...metrics })] : []),
    valuesStep(deps.validateValues),
    ...(g ? [policyStep({ ...g, ...metrics })] : []),
    releaseStep(deps),
    ...(g ? [hibernationStep({ workloads: g.workloads, events: deps.events, ...metrics })] : []),
    driftStep(deps.drift),
  ];
}
