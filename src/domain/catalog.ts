// What the reconciler needs to know about a product template version, and the
// interface through which it asks. Implementations: the database (src/db) and
// a YAML/JSON file (src/operator/file-catalog.ts) for GitOps-only installs.

/** Where a chart comes from, as stored in product_template_version.helm_chart_path. */
export type ChartReference =
  | { kind: 'local'; path: string } // a directory or a .tgz on the operator's filesystem
  | { kind: 'oci'; ref: string } // oci://registry/repo/chart
  | { kind: 'repo'; repoUrl: string; chart: string }; // https://charts.example.com + chart name

export interface ResolvedTemplateVersion {
  /** product_template_version.id (uuid). */
  id: string;
  templateId: string;
  templateName: string;
  /** semver of the template version (not the chart's). */
  version: string;
  chart: ChartReference;
  /** Chart version constraint passed as `helm --version`; undefined for local charts. */
  chartVersion?: string;
  defaultValues: Record<string, unknown>;
  /** JSON Schema that instance overrides must satisfy. */
  valuesSchema?: Record<string, unknown>;
  /** Resource tier name (micro|small|large|…). */
  tier?: string;
  /** Tiers an instance may pick with spec.tier besides `tier`. */
  allowedTiers?: string[];
  /** Pod Security Admission level of the instance namespace; restricted when unset. */
  podSecurity?: PodSecurityLevel;
  /** Domain suffix patterns the instances' domainName must fall under (src/domain/naming.ts domainAllowed). */
  domainSuffixes?: string[];
  /** Extra NetworkPolicy ingress rules (networking.k8s.io/v1 NetworkPolicyIngressRule objects) for the namespace. */
  networkRules?: Record<string, unknown>[];
  /**
   * Egress the chart needs beyond its own namespace and DNS
   * (networking.k8s.io/v1 NetworkPolicyEgressRule objects); everything else is denied.
   */
  egressRules?: Record<string, unknown>[];
}

export const PodSecurityLevel = { Restricted: 'restricted', Baseline: 'baseline' } as const;
export type PodSecurityLevel = (typeof PodSecurityLevel)[keyof typeof PodSecurityLevel];

export function isPodSecurityLevel(v: unknown): v is PodSecurityLevel {
  return v === PodSecurityLevel.Restricted || v === PodSecurityLevel.Baseline;
}

/**
 * Resolves the `spec.productTemplateVersion` of a CaelusInstance: either a
 * version id (uuid) or `<template name>@<version>` (friendlier in git).
 * Returns undefined when no such version exists.
 */
export interface TemplateCatalog {
  resolve(ref: string): Promise<ResolvedTemplateVersion | undefined>;
}
