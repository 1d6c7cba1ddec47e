// Tenant guardrails in the instance namespace (DESIGN §4 step 6): the tier's
// ResourceQuota and LimitRange, default-deny NetworkPolicies (ingress and
// egress) with the allow rules, and the Secret holding the instance's
// decrypted secrets.
import { CONTINUE, type PlacedContext, type Step } from '../context.ts';
import type { GuardrailsConfig } from '../../config/guardrails.ts';
import { digestOf } from '../../domain/digest.ts';
import { EventOnlyReason, MANAGED_BY, MANAGED_BY_LABEL, Reason, secretsName } from '../../domain/instance.ts';
import { ownerLabels, type ShardList } from '../../domain/shard.ts';
import { chooseTier, limitRangeFor, resourceQuotaFor } from '../../domain/tiers.ts';
import { ReconcileError, isTransientError } from '../errors.ts';
import type { Metrics } from '../../observability/metrics.ts';
import type { EventSink, GuardrailObjects, RestorePort, SecretSource, WorkloadPort } from '../ports.ts';

/** Field manager of every object this step applies. */
export const GUARDRAILS_FIELD_MANAGER = 'caelus-guardrails';
/** Bump when the objects built here change shape, so every namespace is re-applied once. */
const GUARDRAILS_VERSION = 2;

export const NetworkPolicyName = {
  DefaultDeny: 'caelus-default-deny',
  SameNamespace: 'caelus-allow-same-namespace',
  IngressController: 'caelus-allow-ingress-controller',
  Dns: 'caelus-allow-dns',
  TemplateRules: 'caelus-template-rules',
  TemplateEgress: 'caelus-template-egress',
} as const;

/** Where tenant pods may resolve names: the cluster DNS pods, port 53. */
export interface DnsTarget {
  namespace: string;
  podLabels: Record<string, string>;
}

export interface GuardrailsStepDeps {
  config: GuardrailsConfig;
  objects: GuardrailObjects;
  secrets?: SecretSource;
  events: EventSink;
  metrics?: Pick<Metrics, 'guardrailsApplies'>;
  /** All configured shards when sharded: the objects then carry the CR's shard label, for that shard's drift watches. */
  shards?: ShardList | undefined;
  /** Marks to re-apply although the digest is unchanged: an object was edited or deleted, or the periodic full check (operator/restore.ts). */
  restore?: RestorePort | undefined;
}

type PolicyType = 'Ingress' | 'Egress';

function networkPolicy(
  name: string,
  namespace: string,
  labels: Record<string, string>,
  rules: { ingress?: unknown[]; egress?: unknown[] },
  policyTypes: PolicyType[],
): Record<string, unknown> {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name, namespace, labels },
    spec: { podSelector: {}, policyTypes, ...rules },
  };
}

export interface NetworkPolicyInput {
  ingressNamespace: string;
  dns: DnsTarget;
  /** The template version's extra ingress rules (NetworkPolicyIngressRule objects). */
  ingressRules?: readonly Record<string, unknown>[] | undefined;
  /** The template version's egress allows (NetworkPolicyEgressRule objects). */
  egressRules?: readonly Record<string, unknown>[] | undefined;
}

/**
 * Policies are additive: the default-deny one selects every pod with no rule
 * in either direction (so only what another policy allows gets in or out:
 * not the API server, the database, the metadata address, nor another
 * tenant), the others each allow one thing. Separate objects keep each rule
 * readable in kubectl.
 */
export function networkPolicies(namespace: string, labels: Record<string, string>, input: NetworkPolicyInput): Record<string, unknown>[] {
  const out = [
    networkPolicy(NetworkPolicyName.DefaultDeny, namespace, labels, {}, ['Ingress', 'Egress']),
    networkPolicy(NetworkPolicyName.SameNamespace, namespace, labels, { ingress: [{ from: [{ podSelector: {} }] }], egress: [{ to: [{ podSelector: {} }] }] }, [
      'Ingress',
      'Egress',
    ]),
    networkPolicy(
      NetworkPolicyName.IngressController,
      namespace,
      labels,
      { ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': input.ingressNamespace } } }] }] },
      ['Ingress'],
    ),
    networkPolicy(
      NetworkPolicyName.Dns,
      namespace,
      labels,
      {
        egress: [
          {
            to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': input.dns.namespace } }, podSelector: { matchLabels: { ...input.dns.podLabels } } }],
            ports: [
              { protocol: 'UDP', port: 53 },
              { protocol: 'TCP', port: 53 },
            ],
          },
        ],
      },
      ['Egress'],
    ),
  ];
  if (input.ingressRules?.length) out.push(networkPolicy(NetworkPolicyName.TemplateRules, namespace, labels, { ingress: [...input.ingressRules] }, ['Ingress']));
  if (input.egressRules?.length) out.push(networkPolicy(NetworkPolicyName.TemplateEgress, namespace, labels, { egress: [...input.egressRules] }, ['Egress']));
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

      const labels = { ...ownerLabels(instance, deps.shards), [MANAGED_BY_LABEL]: MANAGED_BY };
      const objects = [
        resourceQuotaFor(choice.tier, namespace, labels),
        limitRangeFor(choice.tier, namespace, labels),
        ...networkPolicies(namespace, labels, {
          ingressNamespace: deps.config.ingressNamespace,
          dns: deps.config.dns,
          ingressRules: template.networkRules,
          egressRules: template.egressRules,
        }),
      ];
      const applied = ctx.instance.status?.guardrails;
      // The fingerprint stands in for the values: status is readable by many, a hash of a weak password is not safe there.
      let secretFingerprint: string | null;
      try {
        secretFingerprint = (await deps.secrets?.fingerprint(instance)) ?? null;
      } catch (err) {
        // The database is down: an instance whose guardrails were applied keeps its Secret as it
        // is and goes on reconciling (quota and policies re-applied, release, drift); the
        // Secret catches up once the database answers. A new instance waits (transient error).
        if (!isTransientError(err) || !applied || ctx.instance.status?.namespace !== namespace) throw err;
        ctx.log.warn({ namespace, err: err instanceof Error ? err.message : String(err) }, 'instance secrets unavailable; guardrails applied without refreshing the secrets Secret');
        for (const obj of objects) await deps.objects.apply(obj, GUARDRAILS_FIELD_MANAGER);
        ctx.status.update({ guardrails: applied });
        return CONTINUE;
      }
      const secrets = secretFingerprint === null ? undefined : deps.secrets;
      const digest = digestOf({ v: GUARDRAILS_VERSION, objects, secret: secretFingerprint && { name: secretsName(instance), fingerprint: secretFingerprint } });
      ctx.status.update({ guardrails: { tier: choice.tier.name, appliedDigest: digest } });

      const restoring = deps.restore?.take(instance.metadata.name, 'guardrails');
      const unchanged = applied?.appliedDigest === digest && ctx.instance.status?.namespace === namespace;
      if (unchanged && !restoring) return CONTINUE;
      // Unchanged input and only the periodic check asking: just the kinds no watch follows.
      const wanted = (kind: string) => !unchanged || !restoring?.kinds || restoring.kinds.has(kind);

      let secretKeys = 0;
      try {
        for (const obj of objects) if (wanted(String(obj['kind']))) await deps.objects.apply(obj, GUARDRAILS_FIELD_MANAGER);
        // A rule list the template no longer has must not leave its allow behind (a
        // namespace created just now holds none: two 404s per new instance saved).
        for (const [rules, policy] of ctx.namespaceCreated ? [] : [
          [template.networkRules, NetworkPolicyName.TemplateRules],
          [template.egressRules, NetworkPolicyName.TemplateEgress],
        ] as const) {
          if (!rules?.length && wanted('NetworkPolicy')) await deps.objects.delete({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', name: policy, namespace });
        }
        const data = wanted('Secret') ? await secrets?.read(instance) : undefined;
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
        if (restoring) deps.restore?.giveBack(instance.metadata.name, 'guardrails', restoring);
        throw err;
      }
      deps.metrics?.guardrailsApplies.inc({ result: 'ok' });
      if (applied?.tier !== choice.tier.name) {
        deps.events.record(instance, 'Normal', EventOnlyReason.GuardrailsApplied, `tier ${choice.tier.name} (cpu ${choice.tier.quota.cpu}, memory ${choice.tier.quota.memory}) applied to namespace ${namespace}`);
      }
      if (restoring?.whats.length) {
        deps.events.record(instance, 'Normal', EventOnlyReason.GuardrailsRestored, `re-applied the guardrails of namespace ${namespace} after ${restoring.whats.join(', ')}`);
      }
      ctx.log.info(
        {
          namespace,
          tier: choice.tier.name,
          secretKeys,
          secretsSecret: secrets && wanted('Secret') ? secretsName(instance) : undefined,
          ...(restoring ? { restored: restoring.whats, ...(restoring.kinds && unchanged ? { kinds: [...restoring.kinds] } : {}) } : {}),
        },
        restoring ? 'guardrails re-applied' : 'guardrails applied',
      );
      return CONTINUE;
    },
  };
}

/** Everything the guardrail steps (guardrails, hibernation) and the release's kinds policy need; the operator works without it (bare pipeline). */
export interface GuardrailDeps {
  config: GuardrailsConfig;
  objects: GuardrailObjects;
  workloads: WorkloadPort;
  secrets?: SecretSource;
}
