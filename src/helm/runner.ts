// Spawns one helm process and turns its outcome into a result or a HelmError.
// The only place that starts helm, so counting (metrics + spawnedProcesses),
// logging and cancellation are uniform across verbs.
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import { classifyHelmStderr, HelmError, HelmErrorReason, stderrTail } from './errors.ts';
import { sharedLauncher, type Launcher } from './launcher.ts';

export interface RunnerOptions {
  binary: string;
  /** Environment for helm on top of process.env (HELM_*_HOME, HELM_PLUGINS, …). */
  env: Record<string, string | undefined>;
  metrics?: Pick<Metrics, 'helmInvocations' | 'helmDuration'>;
  logger?: Logger;
  /** After SIGTERM (cancel or deadline), how long helm gets before SIGKILL. */
  killGraceMs: number;
  /** How processes are started; default: this process's shared launcher (the spawner when built). */
  launcher?: Launcher;
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
  readonly #launcher: Launcher;
  #spawned = 0;

  constructor(opts: RunnerOptions) {
    this.#opts = opts;
    this.#launcher = opts.launcher ?? sharedLauncher(opts.logger);
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
    const result = await this.#launcher.launch({
      file: binary,
      args: req.args,
      env,
      input: req.input,
      // SIGTERM lets helm mark an in-flight release `failed` ("context canceled")
      // instead of leaving it pending-*; SIGKILL follows after the grace period.
      timeoutMs: req.deadlineMs,
      killGraceMs,
      signal: req.signal,
    });
    const durationMs = performance.now() - started;
    const { stdout, stderr } = result;

    let reason: HelmErrorReason | undefined;
    if (result.canceled) reason = HelmErrorReason.Canceled;
    else if (result.timedOut) reason = HelmErrorReason.Timeout;
    else if (result.startError !== undefined || result.exitCode !== 0) reason = classifyHelmStderr(stderr);

    metrics?.helmInvocations.inc({ verb: req.verb, result: reason ?? 'success' });
    metrics?.helmDuration.observe({ verb: req.verb }, durationMs / 1000);
    logger?.debug(
      { verb: req.verb, args: req.args, release: req.release, namespace: req.namespace, durationMs: Math.round(durationMs), exitCode: result.exitCode, reason },
      'helm process finished',
    );

    if (reason === undefined) return { stdout, stderr, durationMs };
    // A spawn failure (ENOENT, EACCES) has no stderr: the launcher says what happened.
    const tail = stderrTail(stderr) || (result.startError ?? '');
    throw new HelmError({
      reason,
      verb: req.verb,
      release: req.release,
      namespace: req.namespace,
      exitCode: result.exitCode,
      signal: result.signal,
      stderrTail: tail,
      cause: result.canceled ? req.signal?.reason : result.timedOut ? `process deadline ${req.deadlineMs} ms exceeded` : undefined,
    });
  }
}
