// Shapes the Helm adapter returns. Field names are ours (camelCase); parse.ts
// maps helm's JSON (`helm status|history|upgrade -o json`, identical in
// Helm 3 and 4 for the fields used here) onto them.

export type HelmMajor = 3 | 4;

export interface HelmVersion {
  major: HelmMajor;
  minor: number;
  patch: number;
  /** As helm prints it, e.g. `v4.1.4`. */
  raw: string;
}

export const RELEASE_STATUSES = [
  'unknown',
  'deployed',
  'uninstalled',
  'superseded',
  'failed',
  'uninstalling',
  'pending-install',
  'pending-upgrade',
  'pending-rollback',
] as const;
export type ReleaseStatus = (typeof RELEASE_STATUSES)[number];

/**
 * pending-* means an operation holds the release. If the helm process that
 * started it died (SIGKILL, OOM, node loss) nothing ever clears it: the
 * operator must recover such a release (rollback or uninstall), and only when
 * no live operation of another replica can own it.
 */
export function isPendingStatus(status: ReleaseStatus): boolean {
  return status.startsWith('pending-');
}

export interface ChartInfo {
  name: string;
  version: string;
  appVersion?: string;
}

/** One revision of a release, as `helm status`/`helm upgrade -o json` describe it. */
export interface HelmRelease {
  name: string;
  namespace: string;
  revision: number;
  status: ReleaseStatus;
  description: string;
  firstDeployed?: string;
  lastDeployed?: string;
  /** Present in upgrade/install output; `helm status` does not print the chart. */
  chart?: ChartInfo;
  /** The rendered (and post-rendered) manifest stored in the release. */
  manifest: string;
  /** The user-supplied values of this revision (not merged with chart defaults). */
  values: Record<string, unknown>;
}

export interface HelmHistoryEntry {
  revision: number;
  /** RFC 3339 timestamp. */
  updated: string;
  status: ReleaseStatus;
  /** `<chart name>-<chart version>` as helm prints it (ambiguous to split: both parts may contain '-'). */
  chart: string;
  appVersion: string;
  description: string;
}
