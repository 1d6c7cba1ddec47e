// The Helm CLI adapter the reconcile pipeline uses. One HelmClient per helm
// binary: it asks helm for its version once (the first call of any operation)
// and builds Helm 3 or Helm 4 flags from then on (see args.ts).
//
// Cancellation: every operation takes an AbortSignal. Aborting sends helm
// SIGTERM; helm then marks an in-flight install/upgrade/rollback `failed`
// ("context canceled") and exits within about a second (verified with Helm
// 3.17 and 4.1). Only if helm ignores SIGTERM for `killGraceMs` is it
// SIGKILLed, and a SIGKILLed (or OOM-killed, or node-lost) helm leaves the
// release `pending-install|pending-upgrade|pending-rollback`: every later
// upgrade then fails with OperationInProgress until the operator recovers the
// release (rollback to the last deployed revision, or uninstall a
// pending-install), which it must only do when no live operation owns it.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChartReference } from '../domain/catalog.ts';
import { ViolationReason } from '../domain/kinds-policy.ts';
import { tenantUser } from '../domain/tenant.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import {
  getManifestArgs,
  getValuesArgs,
  historyArgs,
  rollbackArgs,
  statusArgs,
  templateArgs,
  uninstallArgs,
  upgradeInstallArgs,
  versionArgs,
  type Connection,
  type PostRendererSpec,
  type PostRenderPolicy,
} from './args.ts';
import { chartCrdFiles } from './chart-crds.ts';
import { HelmError, HelmErrorReason, isHelmError, type PolicyViolationDetail } from './errors.ts';
import { parseHistory, parseRelease, parseValues } from './parse.ts';
import { defaultCompileCacheDir, defaultPluginsDir, ensurePostRendererPlugin, sharedPostRenderer, type PostRenderer } from './post-render/setup.ts';
import { HelmRunner, type RunRequest } from './runner.ts';
import type { HelmHistoryEntry, HelmRelease, HelmVersion } from './types.ts';
import { parseHelmVersion } from './version.ts';

export interface HelmClientOptions {
  /** Path of the helm executable (3.x or 4.x). */
  binary: string;
  /** Passed as --kubeconfig; without it helm uses $KUBECONFIG or the in-cluster service account. */
  kubeconfigPath?: string;
  /** Extra environment for helm, e.g. HELM_CACHE_HOME/HELM_CONFIG_HOME/HELM_DATA_HOME (helm keeps caches under HOME otherwise). */
  env?: Record<string, string | undefined>;
  metrics?: Pick<Metrics, 'helmInvocations' | 'helmDuration'>;
  logger?: Logger;
  /**
   * HELM_PLUGINS for every helm process: a directory owned by Caelus holding
   * only the label post-renderer plugin (Helm 4). Default: a directory under
   * the OS temp dir keyed by the plugin's content.
   */
  pluginsDir?: string;
  /** Grace between SIGTERM and SIGKILL when an operation is cancelled or overruns. Default 10 s. */
  killGraceMs?: number;
  /** Process deadline for read-only verbs (status, history, get, version). Default 60 s. */
  readTimeoutSeconds?: number;
  /** Overrides how the post-renderer is run (tests). Default: the compiled client when built, else Node. */
  postRenderer?: PostRendererSpec;
  /**
   * Every call into a namespace runs as that namespace's tenant
   * ServiceAccount (`--kube-as-user system:serviceaccount:<ns>:caelus-tenant`),
   * so the API server refuses whatever the tenant role does not grant.
   */
  actAsTenant?: boolean;
}

/** The kinds policy for an install (its namespace is the release's). */
export type ReleasePolicy = Omit<PostRenderPolicy, 'namespace' | 'reportFile'>;

export interface CallOptions {
  signal?: AbortSignal;
}

export interface UpgradeInstallRequest extends CallOptions {
  release: string;
  namespace: string;
  chart: ChartReference;
  chartVersion?: string;
  /** The complete values of the release (template defaults ⊕ overrides); sent on stdin, never on argv. */
  values: Record<string, unknown>;
  /** helm --timeout: bounds each Kubernetes operation and hook. */
  timeoutSeconds: number;
  description?: string;
  /** Added to metadata.labels of every rendered object by the post-renderer (e.g. caelus.io/instance). */
  labels?: Record<string, string>;
  /**
   * Wait for workloads to become ready (Helm 3 --wait, Helm 4 --wait=watcher).
   * Off by default: Caelus reports readiness itself, and a control plane
   * without kubelets (tests, `caelus dev`) never makes pods ready.
   */
  wait?: boolean;
  /**
   * Helm 3 --atomic / Helm 4 --rollback-on-failure. Off by default: both
   * majors force a readiness wait when it is set (Helm 4 upgrades hookOnly to
   * watcher), so it implies `wait`. This flag is the only rollback after a
   * failed upgrade: the operator's decision table has no Rollback action (it
   * only rolls back to unlock a release a dead helm left pending-*).
   */
  rollbackOnFailure?: boolean;
  /**
   * Enforced by the post-renderer on what helm really applies; a violation is
   * HelmError(PolicyViolation) with the refused objects and nothing is
   * applied. A local chart with crds/ is refused before helm starts.
   */
  policy?: ReleasePolicy;
}

export interface TemplateRequest extends CallOptions {
  release: string;
  namespace: string;
  chart: ChartReference;
  chartVersion?: string;
  values: Record<string, unknown>;
  labels?: Record<string, string>;
  includeCrds?: boolean;
  /** Capabilities.KubeVersion for charts with kubeVersion constraints. */
  kubeVersion?: string;
  /** Process deadline (chart download included). Default 120 s. */
  timeoutSeconds?: number;
}

export interface UninstallOptions extends CallOptions {
  /** helm --timeout for pre/post-delete hooks. */
  timeoutSeconds?: number;
}

export interface RollbackOptions extends CallOptions {
  timeoutSeconds?: number;
  wait?: boolean;
}

/** Beyond helm's own --timeout: chart download, rendering and helm's cleanup after a timeout. */
const PROCESS_DEADLINE_MARGIN_S = 60;
const DEFAULT_MUTATION_TIMEOUT_S = 300;

export class HelmClient {
  readonly #runner: HelmRunner;
  readonly #kubeconfigPath: string | undefined;
  readonly #readDeadlineMs: number;
  readonly #postRendererOverride: PostRendererSpec | undefined;
  readonly #logger: Logger | undefined;
  readonly #pluginsDir: string;
  readonly #actAsTenant: boolean;
  #version: Promise<HelmVersion> | undefined;
  #plugin: Promise<string> | undefined;
  #postRenderer: Promise<PostRenderer> | undefined;

  constructor(opts: HelmClientOptions) {
    if (!opts.binary) throw new TypeError('HelmClient needs the path of a helm binary');
    this.#kubeconfigPath = opts.kubeconfigPath;
    this.#actAsTenant = opts.actAsTenant ?? false;
    this.#readDeadlineMs = (opts.readTimeoutSeconds ?? 60) * 1000;
    this.#postRendererOverride = opts.postRenderer;
    this.#logger = opts.logger;
    this.#pluginsDir = opts.pluginsDir ?? defaultPluginsDir();
    this.#runner = new HelmRunner({
      binary: opts.binary,
      env: {
        NODE_COMPILE_CACHE: defaultCompileCacheDir(),
        // One helm process per reconcile, waiting on the API server most of its
        // life: Go's parallel GC and idle threads on every core cost ~12 % more
        // CPU per install (52 → 46 ms here) for no shorter run.
        GOMAXPROCS: '1',
        ...opts.env,
        HELM_PLUGINS: this.#pluginsDir,
      },
      ...(opts.metrics ? { metrics: opts.metrics } : {}),
      ...(opts.logger ? { logger: opts.logger } : {}),
      killGraceMs: opts.killGraceMs ?? 10_000,
    });
  }

  /** helm processes this client has spawned (version probe included). */
  get spawnedProcesses(): number {
    return this.#runner.spawnedProcesses;
  }

  /** The directory passed to helm as HELM_PLUGINS. */
  get pluginsDir(): string {
    return this.#pluginsDir;
  }

  /**
   * helm's version, asked once per client. A failed probe is not cached, so a
   * transient failure does not poison the client.
   */
  version(): Promise<HelmVersion> {
    // No AbortSignal: the probe is shared by concurrent callers, and one
    // caller's cancel must not fail the others. It is short and has a deadline.
    this.#version ??= this.#runner
      .run({ verb: 'version', args: versionArgs(), deadlineMs: this.#readDeadlineMs })
      .then((r) => parseHelmVersion(r.stdout))
      .catch((err: unknown) => {
        this.#version = undefined;
        throw err;
      });
    return this.#version;
  }

  async upgradeInstall(req: UpgradeInstallRequest): Promise<HelmRelease> {
    if (req.policy && req.chart.kind === 'local') await refuseChartCrds(req);
    const { major } = await this.version();
    const labels = req.labels ?? {};
    const pr = await this.#renderer();
    if (major === 4 && (Object.keys(labels).length > 0 || req.policy)) await this.#ensurePlugin(pr.spec);
    // A private directory per install: the post-renderer reports violations in a file there.
    const reportDir = req.policy ? await mkdtemp(join(tmpdir(), 'caelus-policy-')) : undefined;
    const grant = pr.server?.grant();
    try {
      const reportFile = reportDir ? join(reportDir, 'violations.json') : undefined;
      const args = upgradeInstallArgs(major, {
        ...this.#conn(req.namespace),
        release: req.release,
        chart: req.chart,
        ...(req.chartVersion ? { chartVersion: req.chartVersion } : {}),
        timeoutSeconds: req.timeoutSeconds,
        ...(req.description ? { description: req.description } : {}),
        wait: req.wait ?? false,
        rollbackOnFailure: req.rollbackOnFailure ?? false,
        labels,
        postRenderer: pr.spec,
        ...(grant ? { postRendererToken: grant.arg } : {}),
        ...(req.policy && reportFile ? { policy: { ...req.policy, namespace: req.namespace, reportFile } } : {}),
      });
      const { stdout } = await this.#runner
        .run({
          verb: 'upgrade',
          args,
          input: JSON.stringify(req.values),
          release: req.release,
          namespace: req.namespace,
          deadlineMs: (req.timeoutSeconds + PROCESS_DEADLINE_MARGIN_S) * 1000,
          ...signal(req),
        })
        .catch(async (err: unknown) => {
          const violations = reportFile && err instanceof HelmError ? await readViolations(reportFile) : undefined;
          if (!violations) throw err;
          throw new HelmError({ ...errorContext(err as HelmError), reason: HelmErrorReason.PolicyViolation, violations, cause: err });
        });
      return parseRelease('upgrade', stdout);
    } finally {
      grant?.revoke();
      if (reportDir) await rm(reportDir, { recursive: true, force: true });
    }
  }

  /** Renders the chart without a cluster; returns the manifest stream (post-rendered when labels are given). */
  async template(req: TemplateRequest): Promise<string> {
    const { major } = await this.version();
    const labels = req.labels ?? {};
    const pr = await this.#renderer();
    if (major === 4 && Object.keys(labels).length > 0) await this.#ensurePlugin(pr.spec);
    const grant = pr.server?.grant();
    try {
      const args = templateArgs(major, {
        release: req.release,
        namespace: req.namespace,
        chart: req.chart,
        ...(req.chartVersion ? { chartVersion: req.chartVersion } : {}),
        labels,
        ...(req.includeCrds ? { includeCrds: true } : {}),
        ...(req.kubeVersion ? { kubeVersion: req.kubeVersion } : {}),
        postRenderer: pr.spec,
        ...(grant ? { postRendererToken: grant.arg } : {}),
      });
      const { stdout } = await this.#runner.run({
        verb: 'template',
        args,
        input: JSON.stringify(req.values),
        release: req.release,
        namespace: req.namespace,
        deadlineMs: (req.timeoutSeconds ?? 120) * 1000,
        ...signal(req),
      });
      return stdout;
    } finally {
      grant?.revoke();
    }
  }

  /** Removes the release. Returns false when there was no such release (which is success). */
  async uninstall(release: string, namespace: string, opts: UninstallOptions = {}): Promise<boolean> {
    try {
      await this.#runner.run({
        verb: 'uninstall',
        args: uninstallArgs(release, this.#conn(namespace), opts.timeoutSeconds),
        release,
        namespace,
        deadlineMs: ((opts.timeoutSeconds ?? DEFAULT_MUTATION_TIMEOUT_S) + PROCESS_DEADLINE_MARGIN_S) * 1000,
        ...signal(opts),
      });
      return true;
    } catch (err) {
      if (isHelmError(err, HelmErrorReason.ReleaseNotFound)) return false;
      throw err;
    }
  }

  /** The latest revision of the release, or undefined when it does not exist. */
  async status(release: string, namespace: string, opts: CallOptions = {}): Promise<HelmRelease | undefined> {
    const r = await this.#read('status', statusArgs(release, this.#conn(namespace)), release, namespace, opts);
    return r === undefined ? undefined : parseRelease('status', r);
  }

  /** All stored revisions, oldest first; empty when the release does not exist. */
  async history(release: string, namespace: string, opts: CallOptions & { max?: number } = {}): Promise<HelmHistoryEntry[]> {
    const r = await this.#read('history', historyArgs(release, this.#conn(namespace), opts.max), release, namespace, opts);
    return r === undefined ? [] : parseHistory(r);
  }

  /** The stored manifest of the latest (or the given) revision. Throws HelmError(ReleaseNotFound) when absent. */
  async getManifest(release: string, namespace: string, opts: CallOptions & { revision?: number } = {}): Promise<string> {
    return this.#readOrThrow('get-manifest', getManifestArgs(release, this.#conn(namespace), opts.revision), release, namespace, opts);
  }

  /** User-supplied values of the latest revision (`all`: merged with chart defaults). Throws HelmError(ReleaseNotFound) when absent. */
  async getValues(release: string, namespace: string, opts: CallOptions & { all?: boolean } = {}): Promise<Record<string, unknown>> {
    const out = await this.#readOrThrow('get-values', getValuesArgs(release, this.#conn(namespace), opts.all ?? false), release, namespace, opts);
    return parseValues(out);
  }

  /** Rolls back to `revision` (default: the previous one), creating a new revision. */
  async rollback(release: string, namespace: string, revision?: number, opts: RollbackOptions = {}): Promise<void> {
    const { major } = await this.version();
    await this.#runner.run({
      verb: 'rollback',
      args: rollbackArgs(major, {
        ...this.#conn(namespace),
        release,
        ...(revision !== undefined ? { revision } : {}),
        ...(opts.timeoutSeconds ? { timeoutSeconds: opts.timeoutSeconds } : {}),
        wait: opts.wait ?? false,
      }),
      release,
      namespace,
      deadlineMs: ((opts.timeoutSeconds ?? DEFAULT_MUTATION_TIMEOUT_S) + PROCESS_DEADLINE_MARGIN_S) * 1000,
      ...signal(opts),
    });
  }

  #conn(namespace: string): Connection {
    return {
      namespace,
      ...(this.#kubeconfigPath ? { kubeconfigPath: this.#kubeconfigPath } : {}),
      ...(this.#actAsTenant ? { asUser: tenantUser(namespace) } : {}),
    };
  }

  /** Read verbs: stdout, or undefined when the release does not exist. */
  async #read(verb: string, args: string[], release: string, namespace: string, opts: CallOptions): Promise<string | undefined> {
    try {
      return await this.#readOrThrow(verb, args, release, namespace, opts);
    } catch (err) {
      if (isHelmError(err, HelmErrorReason.ReleaseNotFound)) return undefined;
      throw err;
    }
  }

  async #readOrThrow(verb: string, args: string[], release: string, namespace: string, opts: CallOptions): Promise<string> {
    const req: RunRequest = { verb, args, release, namespace, deadlineMs: this.#readDeadlineMs, ...signal(opts) };
    return (await this.#runner.run(req)).stdout;
  }

  #renderer(): Promise<PostRenderer> {
    this.#postRenderer ??= this.#postRendererOverride
      ? Promise.resolve({ spec: this.#postRendererOverride })
      : sharedPostRenderer(this.#logger).catch((err: unknown) => {
          this.#postRenderer = undefined;
          throw err;
        });
    return this.#postRenderer;
  }

  #ensurePlugin(spec: PostRendererSpec): Promise<string> {
    this.#plugin ??= ensurePostRendererPlugin(this.#pluginsDir, spec).catch((err: unknown) => {
      this.#plugin = undefined;
      throw err;
    });
    return this.#plugin;
  }
}

/** The violations the post-renderer wrote, or undefined when it wrote none (helm failed for another reason). */
async function readViolations(file: string): Promise<PolicyViolationDetail[] | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const parsed = JSON.parse(text) as { violations?: PolicyViolationDetail[] };
  return Array.isArray(parsed.violations) && parsed.violations.length > 0 ? parsed.violations : undefined;
}

function errorContext(e: HelmError) {
  return {
    verb: e.verb,
    release: e.release,
    namespace: e.namespace,
    exitCode: e.exitCode,
    signal: e.signal,
    stderrTail: e.stderrTail,
  };
}

async function refuseChartCrds(req: UpgradeInstallRequest): Promise<void> {
  if (req.chart.kind !== 'local') return;
  const files = await chartCrdFiles(req.chart.path);
  if (files.length === 0) return;
  const violations = files.map((f) => ({
    reason: ViolationReason.ChartCrds,
    kind: 'CustomResourceDefinition',
    name: f,
    message: `CustomResourceDefinition/${f}: the chart ships CRDs in crds/, which a tenant may not install`,
  }));
  throw new HelmError({
    reason: HelmErrorReason.PolicyViolation,
    verb: 'upgrade',
    release: req.release,
    namespace: req.namespace,
    stderrTail: violations.map((v) => v.message).join('; '),
    violations,
  });
}

function signal(opts: CallOptions): { signal?: AbortSignal } {
  return opts.signal ? { signal: opts.signal } : {};
}
