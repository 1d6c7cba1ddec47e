// Pure argv builders, one per helm verb, per Helm major. Nothing here spawns a
// process or touches the filesystem, so every Helm 3/4 difference is visible
// (and unit-tested) in one place:
//   rollback on failure  3: --atomic          4: --rollback-on-failure
//   wait for readiness   3: --wait (boolean)   4: --wait=watcher (omitted = hookOnly)
//   post-renderer        3: --post-renderer <executable> + --post-renderer-args
//                        4: --post-renderer <plugin name> + --post-renderer-args
//   fields others own    3: overwritten (3-way merge)  4: --force-conflicts (server-side apply)
//   unknown fields       3: warned by the server       4: refused by server-side apply (either way
//                        no client-side OpenAPI parse: --disable-openapi-validation)
// Values never appear here: they go to helm on stdin (`--values -`).
import type { ChartReference } from '../domain/catalog.ts';
import { assertValidLabels, labelsToArgs } from './labels.ts';
import type { HelmMajor } from './types.ts';

/** How helm reaches the cluster. Without a kubeconfig helm uses $KUBECONFIG or the in-cluster config. */
export interface Connection {
  namespace: string;
  kubeconfigPath?: string;
  /** `--kube-as-user`: the identity helm acts as (the tenant's ServiceAccount user), same flag in Helm 3 and 4. */
  asUser?: string;
}

/**
 * The kinds policy the post-renderer enforces on what helm is about to apply
 * (domain/kinds-policy.ts), passed as arguments: no shell, no environment
 * that a chart could influence.
 */
export interface PostRenderPolicy {
  namespace: string;
  allowedKinds: readonly string[];
  allowedClusterRoles: readonly string[];
  reserved: readonly { kind: string; name: string }[];
  /** Where the post-renderer writes its violations as JSON (Helm 4 does not pass a plugin's stderr on). */
  reportFile: string;
}

/** What runs the label post-renderer (see post-render/setup.ts). */
export interface PostRendererSpec {
  /** Absolute path of the executable: the compiled client, or node. */
  command: string;
  /** Its leading arguments: the server's socket, or node's flags and main.ts. */
  args: readonly string[];
  /** Name of the Helm 4 postrenderer/v1 plugin that wraps command + args. */
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

const SERVICE_ACCOUNT_USER = /^system:serviceaccount:[a-z0-9]([-a-z0-9]*[a-z0-9])?:[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

export function connectionArgs(c: Connection): string[] {
  assertNamespace(c.namespace);
  if (c.asUser !== undefined && !SERVICE_ACCOUNT_USER.test(c.asUser)) {
    throw new TypeError(`helm may only act as a ServiceAccount user (system:serviceaccount:<ns>:<name>), got ${JSON.stringify(c.asUser)}`);
  }
  return [
    '--namespace',
    c.namespace,
    ...(c.kubeconfigPath ? ['--kubeconfig', c.kubeconfigPath] : []),
    ...(c.asUser ? [`--kube-as-user=${c.asUser}`] : []),
  ];
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

// Kinds as the policy spells them (`Kind`, `group/Kind`), names as Kubernetes does.
const POLICY_WORD = /^[A-Za-z0-9]([-A-Za-z0-9./:]*[A-Za-z0-9])?$/;

/** The post-renderer's own flags (post-render/main.ts parses them back). */
export function policyArgs(p: PostRenderPolicy): string[] {
  assertNamespace(p.namespace);
  const words = [...p.allowedKinds, ...p.allowedClusterRoles, ...p.reserved.flatMap((r) => [r.kind, r.name])];
  const bad = words.find((w) => !POLICY_WORD.test(w));
  if (bad !== undefined) throw new TypeError(`invalid kinds-policy entry ${JSON.stringify(bad)}`);
  // Helm 4 expands $VARS in plugin arguments: a path with '$' would silently become another path.
  if (p.reportFile.includes('$') || !p.reportFile.startsWith('/')) throw new TypeError(`post-renderer report file must be an absolute path without '$': ${p.reportFile}`);
  return [
    `--namespace=${p.namespace}`,
    ...p.allowedKinds.map((k) => `--allow-kind=${k}`),
    ...p.allowedClusterRoles.map((r) => `--allow-cluster-role=${r}`),
    ...p.reserved.map((r) => `--reserve=${r.kind}/${r.name}`),
    `--report=${p.reportFile}`,
  ];
}

const TOKEN_ARG = /^--token=[A-Za-z0-9_-]+$/;

/**
 * `token`: the `--token=…` the post-render server granted this helm run
 * (compiled client only); it goes first, before the policy and labels.
 */
export function postRendererArgs(
  major: HelmMajor,
  pr: PostRendererSpec,
  labels: Readonly<Record<string, string>>,
  policy?: PostRenderPolicy,
  token?: string,
): string[] {
  if (Object.keys(labels).length === 0 && !policy) return [];
  assertValidLabels(labels);
  if (token !== undefined && !TOKEN_ARG.test(token)) throw new TypeError('invalid post-renderer token argument');
  const ours = [...(token !== undefined ? [token] : []), ...(policy ? policyArgs(policy) : []), ...labelsToArgs(labels)];
  // `=` form: an argument value that starts with '-' must not be parsed as a helm flag.
  const toHelm = (args: readonly string[]) => args.map((l) => `--post-renderer-args=${l}`);
  if (major === 3) {
    // Helm 3 runs any executable: the command itself, with its leading arguments first.
    return ['--post-renderer', pr.command, ...toHelm(pr.args), ...toHelm(ours)];
  }
  return ['--post-renderer', pr.pluginName, ...toHelm(ours)];
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
  /** The post-render server's `--token=…` for this run (compiled client only). */
  postRendererToken?: string;
  /** Enforced by the post-renderer on the manifest helm really applies; (every install skips crds/). */
  policy?: PostRenderPolicy;
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
    // Helm's client-side OpenAPI check only asks whether the server supports
    // field validation (it has since Kubernetes 1.27) and then validates
    // nothing itself; parsing the OpenAPI documents for that answer was half of
    // each helm process's CPU (twice per upgrade). Unknown fields are still
    // refused by Helm 4's server-side apply and only warned about by Helm 3,
    // exactly as without the flag (test/integration/helm-field-validation.test.ts).
    '--disable-openapi-validation',
    // crds/ is installed outside templates and the post-renderer: never by a tenant.
    '--skip-crds',
    ...postRendererArgs(major, o.postRenderer, o.labels ?? {}, o.policy, o.postRendererToken),
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
  postRendererToken?: string;
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
    ...postRendererArgs(major, o.postRenderer, o.labels ?? {}, undefined, o.postRendererToken),
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
