// Tenant guardrails in the instance namespace (DESIGN §4 step 6): the tier's
// ResourceQuota and LimitRange, default-deny ingress NetworkPolicies with the
// allow rules, and the Secret holding the instance's decrypted secrets.
import { CONTINUE, type PlacedContext, type Step } from '../context.ts';
import type { GuardrailsConfig } from '../../config/guardrails.ts';
import { digestOf } from '../../domain/digest.ts';
import { EventOnlyReason, INSTANCE_LABEL, MANAGED_BY, MANAGED_BY_LABEL, Reason, secretsName } from '../../domain/instance.ts';
import { chooseTier, limitRangeFor, resourceQuotaFor } from '../../domain/tiers.ts';
import { ReconcileError } from '../errors.ts';
import type { Metrics } from '../../observability/metrics.ts';
import type { EventSink, GuardrailObjects, RenderPort, SecretSource, WorkloadPort } from '../ports.ts';

/** Field manager of every object this step applies. */
export const GUARDRAILS_FIELD_MANAGER = 'caelus-guardrails';
/** Bump when the objects built here change shape, so every namespace is re-applied once. */
const GUARDRAILS_VERSION = 1;

export const NetworkPolicyName = {
  DefaultDeny: 'caelus-default-deny',
  SameNamespace: 'caelus-allow-same-namespace',
  IngressController: 'caelus-allow-ingress-controller',
  TemplateRules: 'caelus-template-rules',
} as const;

export interface GuardrailsStepDeps {
  config: GuardrailsConfig;
  objects: GuardrailObjects;
  secrets?: SecretSource;
  events: EventSink;
  metrics?: Pick<Metrics, 'guardrailsApplies'>;
}

function networkPolicy(name: string, namespace: string, labels: Record<string, string>, ingress: unknown[] | undefined): Record<string, unknown> {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name, namespace, labels },
    spec: { podSelector: {}, policyTypes: ['Ingress'], ...(ingress ? { ingress } : {}) },
  };
}

/**
 * Policies are additive: the default-deny one selects every pod with no
 * ingress rule (so only what another policy allows gets in), the others each
 * allow one source. Separate objects keep each rule readable in kubectl.
 */
export function networkPolicies(
  namespace: string,
  labels: Record<string, string>,
  ingressNamespace: string,
  templateRules: readonly Record<string, unknown>[] | undefined,
): Record<string, unknown>[] {
  const out = [
    networkPolicy(NetworkPolicyName.DefaultDeny, namespace, labels, undefined),
    networkPolicy(NetworkPolicyName.SameNamespace, namespace, labels, [{ from: [{ podSelector: {} }] }]),
    networkPolicy(NetworkPolicyName.IngressController, namespace, labels, [
      { from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ingressNamespace } } }] },
    ]),
  ];
  if (templateRules && templateRules.length > 0) out.push(networkPolicy(NetworkPolicyName.TemplateRules, namespace, labels, [...templateRules]));
  return out;
}

export function guardrailsStep(deps: GuardrailsStepDeps): Step<PlacedContext> {
  return {
    name: 'guardrails',
    async run(ctx) {
      const { instance } = ctx;
      const { template, namespace } = ctx;
      const choice = chooseTier(
        {
          ...(instance.spec.tier ? { requested: instance.spec.tier } : {}),
          ...(template.tier ? { templateTier: template.tier } : {}),
          ...(template.allowedTiers ? { allowedTiers: template.allowedTiers } : {}),
        },
        deps.config.tiers,
        deps.config.defaultTier,
      );
      // Only a human changes the CR or the template: retry slowly.
      if (!choice.ok) throw new ReconcileError(Reason.TierNotAllowed, choice.message, { requeueAfterMs: 300_000 });

      const labels = { [INSTANCE_LABEL]: instance.metadata.name, [MANAGED_BY_LABEL]: MANAGED_BY };
      const objects = [
        resourceQuotaFor(choice.tier, namespace, labels),
        limitRangeFor(choice.tier, namespace, labels),
        ...networkPolicies(namespace, labels, deps.config.ingressNamespace, template.networkRules),
      ];
      // The fingerprint stands in for the values: status is readable by many, a hash of a weak password is not safe there.
      const secretFingerprint = (await deps.secrets?.fingerprint(instance)) ?? null;
      const secrets = secretFingerprint === null ? undefined : deps.secrets;
      const digest = digestOf({ v: GUARDRAILS_VERSION, objects, secret: secretFingerprint && { name: secretsName(instance), fingerprint: secretFingerprint } });
      ctx.status.update({ guardrails: { tier: choice.tier.name, appliedDigest: digest } });

      const applied = ctx.instance.status?.guardrails;
      if (applied?.appliedDigest === digest && ctx.instance.status?.namespace === namespace) return CONTINUE;

      let secretKeys = 0;
      try {
        for (const obj of objects) await deps.objects.apply(obj, GUARDRAILS_FIELD_MANAGER);
        if (!template.networkRules?.length) {
          await deps.objects.delete({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', name: NetworkPolicyName.TemplateRules, namespace });
        }
        const data = await secrets?.read(instance);
        if (data) {
          secretKeys = Object.keys(data).length;
          // Applying the full key set as our field manager also removes keys deleted in the DB.
          await deps.objects.apply(
            {
              apiVersion: 'v1',
              kind: 'Secret',
              metadata: { name: secretsName(instance), namespace, labels },
              type: 'Opaque',
              data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('base64')])),
            },
            GUARDRAILS_FIELD_MANAGER,
          );
        }
      } catch (err) {
        deps.metrics?.guardrailsApplies.inc({ result: 'error' });
        throw err;
      }
      deps.metrics?.guardrailsApplies.inc({ result: 'ok' });
      if (applied?.tier !== choice.tier.name) {
        deps.events.record(instance, 'Normal', EventOnlyReason.GuardrailsApplied, `tier ${choice.tier.name} (cpu ${choice.tier.quota.cpu}, memory ${choice.tier.quota.memory}) applied to namespace ${namespace}`);
      }
      ctx.log.info({ namespace, tier: choice.tier.name, secretKeys, secretsSecret: secrets ? secretsName(instance) : undefined }, 'guardrails applied');
      return CONTINUE;
    },
  };
}

/** Everything the guardrail steps (guardrails, policy, hibernation) need; the operator works without it (bare pipeline). */
export interface GuardrailDeps {
  config: GuardrailsConfig;
  objects: GuardrailObjects;
  render: RenderPort;
  workloads: WorkloadPort;
  secrets?: SecretSource;
}
