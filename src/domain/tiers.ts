// Resource tiers: a named size an admin offers (micro, small, large, …) that
// becomes the ResourceQuota and LimitRange of an instance's namespace. Pure:
// which tier applies, and the objects it turns into.

/** Kubernetes quantities as the API writes them ("500m", "2", "1Gi"). */
export interface ContainerResources {
  cpu: string;
  memory: string;
}

export interface Tier {
  name: string;
  /** The whole namespace's budget: requests and limits summed over every pod. */
  quota: ContainerResources;
  /** Given to containers that set no limits/requests, so pods fit the quota without chart changes. */
  defaultLimit: ContainerResources;
  defaultRequest: ContainerResources;
  /**
   * What a namespace may hold besides CPU and memory: volumes (each costs
   * money and outlives a Retain), and Services (a LoadBalancer or NodePort
   * opens the cluster's edge, so the built-in tiers allow none).
   */
  objects: TierObjects;
  /** Extra ResourceQuota `hard` entries (e.g. `pods: "20"`); they win over everything above. */
  extraHard?: Record<string, string>;
}

export interface TierObjects {
  /** Sum of all PVC storage requests (a Kubernetes quantity). */
  storage: string;
  persistentVolumeClaims: number;
  services: number;
  loadBalancers: number;
  nodePorts: number;
}

/** Object limits of a tier configured without them (CAELUS_TIERS entries that name only cpu and memory). */
export const DEFAULT_TIER_OBJECTS: TierObjects = { storage: '20Gi', persistentVolumeClaims: 8, services: 10, loadBalancers: 0, nodePorts: 0 };

/** Built-in tiers; CAELUS_TIERS_FILE / CAELUS_TIERS replace them. */
export const DEFAULT_TIERS: readonly Tier[] = [
  {
    name: 'micro',
    quota: { cpu: '500m', memory: '1Gi' },
    defaultLimit: { cpu: '250m', memory: '256Mi' },
    defaultRequest: { cpu: '50m', memory: '64Mi' },
    objects: { storage: '5Gi', persistentVolumeClaims: 4, services: 5, loadBalancers: 0, nodePorts: 0 },
  },
  {
    name: 'small',
    quota: { cpu: '2', memory: '4Gi' },
    defaultLimit: { cpu: '500m', memory: '512Mi' },
    defaultRequest: { cpu: '100m', memory: '128Mi' },
    objects: { ...DEFAULT_TIER_OBJECTS },
  },
  {
    name: 'large',
    quota: { cpu: '8', memory: '16Gi' },
    defaultLimit: { cpu: '1', memory: '1Gi' },
    defaultRequest: { cpu: '250m', memory: '256Mi' },
    objects: { storage: '100Gi', persistentVolumeClaims: 20, services: 20, loadBalancers: 0, nodePorts: 0 },
  },
];

export const DEFAULT_TIER_NAME = 'small';

export const QUOTA_NAME = 'caelus-quota';
export const LIMIT_RANGE_NAME = 'caelus-limits';

export type TierChoice =
  | { ok: true; tier: Tier; requested: boolean }
  | { ok: false; message: string };

/**
 * Which tier an instance gets: `spec.tier` when the template version allows
 * it (its own tier is always allowed), else the template's tier, else the
 * operator's default. A tier nobody configured is an error too: silently
 * falling back would hand out a different budget than the one asked for.
 */
export function chooseTier(
  input: { requested?: string; templateTier?: string; allowedTiers?: readonly string[] },
  tiers: readonly Tier[],
  defaultTier: string,
): TierChoice {
  const base = input.templateTier ?? defaultTier;
  const wanted = input.requested ?? base;
  if (input.requested !== undefined && input.requested !== base) {
    const allowed = input.allowedTiers ?? [];
    if (!allowed.includes(input.requested)) {
      const list = [base, ...allowed.filter((t) => t !== base)].join(', ');
      return { ok: false, message: `spec.tier "${input.requested}" is not allowed by this template version (allowed: ${list})` };
    }
  }
  const tier = tiers.find((t) => t.name === wanted);
  if (!tier) {
    return { ok: false, message: `tier "${wanted}" is not configured (known tiers: ${tiers.map((t) => t.name).join(', ')})` };
  }
  return { ok: true, tier, requested: input.requested !== undefined };
}

export function resourceQuotaFor(tier: Tier, namespace: string, labels: Record<string, string>): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'ResourceQuota',
    metadata: { name: QUOTA_NAME, namespace, labels: { ...labels, 'caelus.io/tier': tier.name } },
    spec: {
      hard: {
        'requests.cpu': tier.quota.cpu,
        'requests.memory': tier.quota.memory,
        'limits.cpu': tier.quota.cpu,
        'limits.memory': tier.quota.memory,
        'requests.storage': tier.objects.storage,
        persistentvolumeclaims: String(tier.objects.persistentVolumeClaims),
        services: String(tier.objects.services),
        'services.loadbalancers': String(tier.objects.loadBalancers),
        'services.nodeports': String(tier.objects.nodePorts),
        ...tier.extraHard,
      },
    },
  };
}

export function limitRangeFor(tier: Tier, namespace: string, labels: Record<string, string>): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'LimitRange',
    metadata: { name: LIMIT_RANGE_NAME, namespace, labels: { ...labels, 'caelus.io/tier': tier.name } },
    spec: {
      limits: [
        {
          type: 'Container',
          default: { ...tier.defaultLimit },
          defaultRequest: { ...tier.defaultRequest },
          // No single container may take more than the whole namespace's budget.
          max: { ...tier.quota },
        },
      ],
    },
  };
}
