// Typed failures of helm processes. The reason is classified from helm's
// stderr text, because helm's exit code is 1 for every failure. The patterns
// below were collected from real Helm 3.17 and Helm 4.1 runs (see
// errors.test.ts for the samples); anything unrecognised is `Unknown`, never a
// guess.

export const HelmErrorReason = {
  /** A Kubernetes operation or hook exceeded --timeout (or our process deadline). */
  Timeout: 'Timeout',
  /** The release is pending-install/-upgrade/-rollback: another operation holds it (or a dead one left it). */
  OperationInProgress: 'OperationInProgress',
  /** Templates, values schema, rendered YAML or the post-renderer failed. Retrying the same input will not help. */
  RenderFailed: 'RenderFailed',
  /** The chart (path, repository chart, version or OCI reference) could not be fetched. */
  ChartNotFound: 'ChartNotFound',
  /** The release (or the requested revision) does not exist. */
  ReleaseNotFound: 'ReleaseNotFound',
  /** helm could not reach the API server (or read its kubeconfig). */
  ClusterUnreachable: 'ClusterUnreachable',
  /** The post-renderer refused the manifest (kinds policy) or the chart ships crds/: see HelmError.violations. */
  PolicyViolation: 'PolicyViolation',
  /** The API server refused the identity helm acts as (the tenant): RBAC is the second wall behind the policy. */
  Forbidden: 'Forbidden',
  /** Our AbortSignal fired and the process was terminated. */
  Canceled: 'Canceled',
  Unknown: 'Unknown',
} as const;
export type HelmErrorReason = (typeof HelmErrorReason)[keyof typeof HelmErrorReason];

/** Ordered: the first matching rule wins, so specific texts come before generic ones. */
const RULES: ReadonlyArray<readonly [HelmErrorReason, RegExp]> = [
  // helm got SIGTERM/SIGINT and marked the release failed ("Release x has been cancelled.").
  [HelmErrorReason.Canceled, /context canceled|has been cancelled/i],
  [HelmErrorReason.OperationInProgress, /another operation \(install\/upgrade\/rollback\) is in progress/i],
  // Before Timeout: an unreachable cluster can also surface as a dial timeout.
  [HelmErrorReason.ClusterUnreachable, /kubernetes cluster unreachable/i],
  [HelmErrorReason.Timeout, /context deadline exceeded|timed out waiting/i],
  // Before RenderFailed: a forbidden `lookup` fails the render with the API server's message.
  [HelmErrorReason.Forbidden, /is forbidden: User "[^"]*" cannot/i],
  [
    HelmErrorReason.RenderFailed,
    new RegExp(
      [
        'parse error at',
        'execution error at',
        'template: \\S+:\\d+', // Helm 3 template runtime errors
        'executing "[^"]+" at <', // Helm 4 prints the same without the "template:" prefix
        'YAML parse error on',
        "values don't meet the specifications of the schema",
        'error while running post render',
        'unable to build kubernetes objects from (new )?release manifest',
      ].join('|'),
      'i',
    ),
  ],
  [HelmErrorReason.ReleaseNotFound, /release: not found|has no deployed releases|release has no \d+ version/i],
  [
    HelmErrorReason.ChartNotFound,
    new RegExp(
      [
        'path "[^"]*" not found',
        'chart "[^"]*" (version "[^"]*" )?not found',
        'Chart\\.yaml file is missing',
        'unable to detect chart at',
        'no such file or directory',
        'failed to download',
        'is not a valid chart repository or cannot be reached',
        'failed to perform "FetchReference"',
        'failed to do request',
        // OCI: "<registry>/<repo>:<tag>: not found"
        '\\S+/\\S+:[\\w.+-]+: not found',
      ].join('|'),
      'i',
    ),
  ],
];

/** Pure: classifies helm's stderr (the whole text or its tail). */
export function classifyHelmStderr(stderr: string): HelmErrorReason {
  for (const [reason, pattern] of RULES) if (pattern.test(stderr)) return reason;
  return HelmErrorReason.Unknown;
}

export const STDERR_TAIL_BYTES = 2048;

/**
 * The last `maxBytes` of stderr: helm prints the decisive `Error:` line last,
 * after warnings (e.g. Helm 4's `level=WARN` lines) that can be long.
 */
export function stderrTail(stderr: string, maxBytes = STDERR_TAIL_BYTES): string {
  const trimmed = stderr.trimEnd();
  const buf = Buffer.from(trimmed, 'utf8');
  if (buf.length <= maxBytes) return trimmed;
  // Cut on a byte boundary, then drop a possibly split leading character.
  return `…${buf.subarray(buf.length - maxBytes).toString('utf8').replace(/^\uFFFD+/, '')}`;
}

export interface HelmErrorContext {
  reason: HelmErrorReason;
  /** The helm verb (upgrade, uninstall, status, …). */
  verb: string;
  release?: string;
  namespace?: string;
  /** Exit code; undefined when the process was killed by a signal or never started. */
  exitCode?: number;
  /** Signal that ended the process (SIGTERM/SIGKILL after a cancel or deadline). */
  signal?: string;
  stderrTail: string;
  cause?: unknown;
  /** PolicyViolation: what was refused, each naming Kind/name. */
  violations?: readonly PolicyViolationDetail[];
}

/** One refused object, as the post-renderer reports it (domain/kinds-policy.ts Violation). */
export interface PolicyViolationDetail {
  reason: string;
  kind: string;
  name: string;
  message: string;
}

/** A helm process failed. `reason` is what callers branch on; the message is for humans and logs. */
export class HelmError extends Error {
  readonly reason: HelmErrorReason;
  readonly verb: string;
  readonly release: string | undefined;
  readonly namespace: string | undefined;
  readonly exitCode: number | undefined;
  readonly signal: string | undefined;
  readonly stderrTail: string;
  readonly violations: readonly PolicyViolationDetail[];

  constructor(ctx: HelmErrorContext) {
    const target = ctx.release ? ` ${ctx.namespace ? `${ctx.namespace}/` : ''}${ctx.release}` : '';
    const how = ctx.exitCode !== undefined ? `exit code ${ctx.exitCode}` : ctx.signal ? `signal ${ctx.signal}` : 'no exit code';
    const detail = ctx.stderrTail ? `: ${ctx.stderrTail}` : '';
    super(`helm ${ctx.verb}${target} failed (${ctx.reason}, ${how})${detail}`, ctx.cause === undefined ? undefined : { cause: ctx.cause });
    this.name = 'HelmError';
    this.reason = ctx.reason;
    this.verb = ctx.verb;
    this.release = ctx.release;
    this.namespace = ctx.namespace;
    this.exitCode = ctx.exitCode;
    this.signal = ctx.signal;
    this.stderrTail = ctx.stderrTail;
    this.violations = ctx.violations ?? [];
  }
}

export function isHelmError(err: unknown, reason?: HelmErrorReason): err is HelmError {
  return err instanceof HelmError && (reason === undefined || err.reason === reason);
}
