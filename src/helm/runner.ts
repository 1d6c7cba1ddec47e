// Spawns one helm process and turns its outcome into a result or a HelmError.
// The only place that starts helm, so counting (metrics + spawnedProcesses),
// logging and cancellation are uniform across verbs.
import { execa } from 'execa';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import { classifyHelmStderr, HelmError, HelmErrorReason, stderrTail } from './errors.ts';

export interface RunnerOptions {
  binary: string;
  /** Environment for helm on top of process.env (HELM_*_HOME, HELM_PLUGINS, …). */
  env: Record<string, string | undefined>;
  metrics?: Pick<Metrics, 'helmInvocations' | 'helmDuration'>;
  logger?: Logger;
  /** After SIGTERM (cancel or deadline), how long helm gets before SIGKILL. */
  killGraceMs: number;
}

export interface RunRequest {
  /** Metric/log label: upgrade, uninstall, status, history, get-manifest, get-values, rollback, template, version. */
  verb: string;
  args: string[];
  /** Written to helm's stdin (values for `--values -`); stdin is closed otherwise. */
  input?: string;
  release?: string;
  namespace?: string;
  signal?: AbortSignal;
  /** Hard deadline for the process, beyond helm's own --timeout. */
  deadlineMs: number;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  durationMs: number;
}

export class HelmRunner {
  readonly #opts: RunnerOptions;
  #spawned = 0;

  constructor(opts: RunnerOptions) {
    this.#opts = opts;
  }

  /** helm processes started by this runner (tests assert "zero helm processes" with it or the metric). */
  get spawnedProcesses(): number {
    return this.#spawned;
  }

  async run(req: RunRequest): Promise<RunResult> {
    const { binary, env, metrics, logger, killGraceMs } = this.#opts;
    if (req.signal?.aborted) {
      // Never start a process for an already cancelled reconcile.
      throw new HelmError({
        reason: HelmErrorReason.Canceled,
        verb: req.verb,
        release: req.release,
        namespace: req.namespace,
        stderrTail: 'canceled before helm was started',
        cause: req.signal.reason,
      });
    }
    const started = performance.now();
    this.#spawned++;
    const result = await execa(binary, req.args, {
      env,
      extendEnv: true,
      ...(req.input !== undefined ? { input: req.input } : { stdin: 'ignore' as const }),
      reject: false,
      // SIGTERM lets helm mark an in-flight release `failed` ("context canceled")
      // instead of leaving it pending-*; SIGKILL follows after the grace period.
      killSignal: 'SIGTERM',
      forceKillAfterDelay: killGraceMs,
      timeout: req.deadlineMs,
      ...(req.signal ? { cancelSignal: req.signal } : {}),
      stripFinalNewline: false,
      maxBuffer: 256 * 1024 * 1024,
    });
    const durationMs = performance.now() - started;
    const stderr = typeof result.stderr === 'string' ? result.stderr : '';
    const stdout = typeof result.stdout === 'string' ? result.stdout : '';

    let reason: HelmErrorReason | undefined;
    if (result.isCanceled) reason = HelmErrorReason.Canceled;
    else if (result.timedOut) reason = HelmErrorReason.Timeout;
    else if (result.failed) reason = classifyHelmStderr(stderr);

    metrics?.helmInvocations.inc({ verb: req.verb, result: reason ?? 'success' });
    metrics?.helmDuration.observe({ verb: req.verb }, durationMs / 1000);
    logger?.debug(
      { verb: req.verb, args: req.args, release: req.release, namespace: req.namespace, durationMs: Math.round(durationMs), exitCode: result.exitCode, reason },
      'helm process finished',
    );

    if (reason === undefined) return { stdout, stderr, durationMs };
    // A spawn failure (ENOENT, EACCES) has no stderr: execa's message says what happened.
    const tail = stderrTail(stderr) || (result.exitCode === undefined ? (result.originalMessage ?? result.shortMessage ?? '') : '');
    throw new HelmError({
      reason,
      verb: req.verb,
      release: req.release,
      namespace: req.namespace,
      exitCode: result.exitCode,
      signal: result.signal,
      stderrTail: tail,
      cause: result.isCanceled ? req.signal?.reason : result.timedOut ? `process deadline ${req.deadlineMs} ms exceeded` : undefined,
    });
  }
}
