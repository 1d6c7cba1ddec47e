// Pure argv builders, one per helm verb, per Helm major. Nothing here spawns a
// process or touches the filesystem, so every Helm 3/4 difference is visible
// (and unit-tested) in one place:
//   rollback on failure  3: --atomic          4: --rollback-on-failure
//   wait for readiness   3: --wait (boolean)   4: --wait=watcher (omitted = hookOnly)
//   post-renderer        3: --post-renderer <executable> + --post-renderer-args
//                        4: --post-renderer <plugin name> + --post-renderer-args
//   fields others own    3: overwritten (3-way merge)  4: --force-conflicts (server-side apply)
// Values never appear here: they go to helm on stdin (`--values -`).
import type { ChartReference } from '../domain/catalog.ts';
import { assertValidLabels, labelsToArgs } from './labels.ts';
import type { HelmMajor } from './types.ts';

/** How helm reaches the cluster. Without a kubeconfig helm uses $KUBECONFIG or the in-cluster config. */
export interface Connection {
  namespace: string;
  kubeconfigPath?: string;
}

/** What runs the label post-renderer (see post-render/setup.ts). */
export interface PostRendererSpec {
  /** Absolute path of the node binary. */
  node: string;
  /** Absolute path of post-render/main.(ts|js). */
  script: string;
  /** Name of the Helm 4 postrenderer/v1 plugin that wraps node + script. */
  pluginName: string;
}

// Helm release names: DNS-1123 subdomain, at most 53 characters (helm's own rule).
const RELEASE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const NAMESPACE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function assertReleaseName(release: string): void {
  if (release.length > 53 || !RELEASE_NAME.test(release)) {
    throw new TypeError(`invalid helm release name ${JSON.stringify(release)}: DNS-1123 subdomain of at most 53 characters`);
  }
}

export function assertNamespace(namespace: string): void {
  if (namespace.length > 63 || !NAMESPACE.test(namespace)) {
    throw new TypeError(`invalid namespace ${JSON.stringify(namespace)}: DNS-1123 label`);
  }
}

function assertTimeout(seconds: number): void {
  if (!Number.isInteger(seconds) || seconds <= 0) throw new TypeError(`timeoutSeconds must be a positive integer, got ${seconds}`);
}

export function connectionArgs(c: Connection): string[] {
  assertNamespace(c.namespace);
  return ['--namespace', c.namespace, ...(c.kubeconfigPath ? ['--kubeconfig', c.kubeconfigPath] : [])];
}

/**
 * The chart positional (and --repo/--version) for a ChartReference. A local
 * path that starts with '-' would be read as a flag, so it gets a './' prefix.
 * `--version` is not passed for local charts: helm ignores it there, and
 * pretending otherwise would hide a catalog mistake.
 */
export function chartArgs(chart: ChartReference, chartVersion?: string): string[] {
  const version = chartVersion ? ['--version', chartVersion] : [];
  switch (chart.kind) {
    case 'local': {
      if (!chart.path) throw new TypeError('local chart reference has an empty path');
      return [chart.path.startsWith('-') ? `./${chart.path}` : chart.path];
    }
    case 'oci': {
      if (!chart.ref.startsWith('oci://')) throw new TypeError(`OCI chart reference must start with oci://, got ${JSON.stringify(chart.ref)}`);
      return [chart.ref, ...version];
    }
    case 'repo': {
      if (!/^https?:\/\//.test(chart.repoUrl)) {
        throw new TypeError(`chart repository URL must be http(s), got ${JSON.stringify(chart.repoUrl)}`);
      }
      if (!chart.chart || chart.chart.startsWith('-')) throw new TypeError(`invalid chart name ${JSON.stringify(chart.chart)}`);
      return ['--repo', chart.repoUrl, chart.chart, ...version];
    }
  }
}

export function waitArgs(major: HelmMajor, wait: boolean): string[] {
  if (!wait) return [];
  return major === 3 ? ['--wait'] : ['--wait=watcher'];
}

/** Both majors force a readiness wait when rolling back on failure (Helm 4 turns hookOnly into watcher). */
export function rollbackOnFailureArgs(major: HelmMajor): string[] {
  return major === 3 ? ['--atomic'] : ['--rollback-on-failure'];
}

export function postRendererArgs(major: HelmMajor, pr: PostRendererSpec, labels: Readonly<Record<string, string>>): string[] {
  if (Object.keys(labels).length === 0) return [];
  assertValidLabels(labels);
  // `=` form: an argument value that starts with '-' must not be parsed as a helm flag.
  const labelArgs = labelsToArgs(labels).map((l) => `--post-renderer-args=${l}`);
  if (major === 3) {
    // Helm 3 runs any executable: run node itself, with our script as its first argument.
    return ['--post-renderer', pr.node, '--post-renderer-args=--no-warnings', `--post-renderer-args=${pr.script}`, ...labelArgs];
  }
  return ['--post-renderer', pr.pluginName, ...labelArgs];
}

export interface UpgradeInstallArgsInput extends Connection {
  release: string;
  chart: ChartReference;
  chartVersion?: string;
  timeoutSeconds: number;
  description?: string;
  wait?: boolean;
  rollbackOnFailure?: boolean;
  labels?: Readonly<Record<string, string>>;
  postRenderer: PostRendererSpec;
}

export function upgradeInstallArgs(major: HelmMajor, o: UpgradeInstallArgsInput): string[] {
  assertReleaseName(o.release);
  assertTimeout(o.timeoutSeconds);
  return [
    'upgrade',
    '--install',
    o.release,
    ...chartArgs(o.chart, o.chartVersion),
    ...connectionArgs(o),
    // The values on stdin are the complete desired values: never merge with (or,
    // when empty, silently reuse) the previous revision's values.
    '--values',
    '-',
    '--reset-values',
    `--timeout=${o.timeoutSeconds}s`,
    ...waitArgs(major, o.wait ?? false),
    ...(o.rollbackOnFailure ? rollbackOnFailureArgs(major) : []),
    // Helm 4 applies server-side: a field the chart sets that someone else
    // changed (a `kubectl scale` the drift step has not taken back yet) would
    // fail the upgrade with a conflict and block the instance's edit. The
    // chart's value wins, as it does with Helm 3 and with drift correction.
    ...(major === 4 ? ['--force-conflicts'] : []),
    ...(o.description ? ['--description', o.description] : []),
    ...postRendererArgs(major, o.postRenderer, o.labels ?? {}),
    '--output',
    'json',
  ];
}

export interface TemplateArgsInput {
  release: string;
  namespace: string;
  chart: ChartReference;
  chartVersion?: string;
  labels?: Readonly<Record<string, string>>;
  includeCrds?: boolean;
  kubeVersion?: string;
  postRenderer: PostRendererSpec;
}

/** `helm template` renders without a cluster: no --kubeconfig. */
export function templateArgs(major: HelmMajor, o: TemplateArgsInput): string[] {
  assertReleaseName(o.release);
  assertNamespace(o.namespace);
  return [
    'template',
    o.release,
    ...chartArgs(o.chart, o.chartVersion),
    '--namespace',
    o.namespace,
    '--values',
    '-',
    ...(o.includeCrds ? ['--include-crds'] : []),
    ...(o.kubeVersion ? ['--kube-version', o.kubeVersion] : []),
    ...postRendererArgs(major, o.postRenderer, o.labels ?? {}),
  ];
}

/** No --wait: the operator only needs the release record gone; namespace deletion handles the rest. */
export function uninstallArgs(release: string, c: Connection, timeoutSeconds?: number): string[] {
  assertReleaseName(release);
  if (timeoutSeconds !== undefined) assertTimeout(timeoutSeconds);
  return ['uninstall', release, ...connectionArgs(c), ...(timeoutSeconds ? [`--timeout=${timeoutSeconds}s`] : [])];
}

export function statusArgs(release: string, c: Connection): string[] {
  assertReleaseName(release);
  return ['status', release, ...connectionArgs(c), '--output', 'json'];
}

export function historyArgs(release: string, c: Connection, max?: number): string[] {
  assertReleaseName(release);
  return ['history', release, ...connectionArgs(c), '--output', 'json', ...(max ? [`--max=${max}`] : [])];
}

export function getManifestArgs(release: string, c: Connection, revision?: number): string[] {
  assertReleaseName(release);
  return ['get', 'manifest', release, ...connectionArgs(c), ...(revision ? [`--revision=${revision}`] : [])];
}

export function getValuesArgs(release: string, c: Connection, all: boolean): string[] {
  assertReleaseName(release);
  return ['get', 'values', release, ...connectionArgs(c), '--output', 'json', ...(all ? ['--all'] : [])];
}

export interface RollbackArgsInput extends Connection {
  release: string;
  /** Omitted: the previous revision. */
  revision?: number;
  timeoutSeconds?: number;
  wait?: boolean;
}

export function rollbackArgs(major: HelmMajor, o: RollbackArgsInput): string[] {
  assertReleaseName(o.release);
  if (o.revision !== undefined && (!Number.isInteger(o.revision) || o.revision < 1)) {
    throw new TypeError(`rollback revision must be a positive integer, got ${o.revision}`);
  }
  if (o.timeoutSeconds !== undefined) assertTimeout(o.timeoutSeconds);
  return [
    'rollback',
    o.release,
    ...(o.revision !== undefined ? [String(o.revision)] : []),
    ...connectionArgs(o),
    ...(o.timeoutSeconds ? [`--timeout=${o.timeoutSeconds}s`] : []),
    ...waitArgs(major, o.wait ?? false),
  ];
}

export function versionArgs(): string[] {
  return ['version', '--template', '{{.Version}}'];
}
