// How a helm process is started. Node starts children with fork(), whose cost
// grows with the parent's memory: at the 250–330 MiB an operator holds while it
// installs a fleet, each helm start costs ~12 ms of CPU and blocks the event
// loop for 20–40 ms. The spawner (hack/spawner, Go) starts them instead with a
// copy-free clone from a process of a few MiB. Without it (no Go toolchain at
// build time) Node forks, as before.
import { spawn, type ChildProcess } from 'node:child_process';
import { execa } from 'execa';
import type { Logger } from '../observability/logger.ts';
import { goHelperPath } from './go-helpers.ts';

export interface LaunchRequest {
  file: string;
  args: readonly string[];
  /** On top of process.env. */
  env: Record<string, string | undefined>;
  /** Written to stdin; stdin is /dev/null otherwise. */
  input?: string | undefined;
  /** SIGTERM at this deadline, SIGKILL killGraceMs later. */
  timeoutMs: number;
  killGraceMs: number;
  /** Aborting it ends the process the same way (SIGTERM, then SIGKILL). */
  signal?: AbortSignal | undefined;
}

export interface LaunchOutcome {
  stdout: string;
  stderr: string;
  /** Undefined when a signal ended the process or it never started. */
  exitCode: number | undefined;
  signal: string | undefined;
  timedOut: boolean;
  canceled: boolean;
  /** Why the process could not be started (ENOENT, EACCES, the spawner gone). */
  startError: string | undefined;
}

export interface Launcher {
  readonly kind: 'spawner' | 'fork';
  launch(req: LaunchRequest): Promise<LaunchOutcome>;
}

/** Node's own child_process (through execa). */
export const forkLauncher: Launcher = {
  kind: 'fork',
  async launch(req) {
    const result = await execa(req.file, req.args, {
      env: req.env,
      extendEnv: true,
      ...(req.input !== undefined ? { input: req.input } : { stdin: 'ignore' as const }),
      reject: false,
      killSignal: 'SIGTERM',
      forceKillAfterDelay: req.killGraceMs,
      timeout: req.timeoutMs,
      ...(req.signal ? { cancelSignal: req.signal } : {}),
      stripFinalNewline: false,
      maxBuffer: 256 * 1024 * 1024,
    });
    return {
      stdout: typeof result.stdout === 'string' ? result.stdout : '',
      stderr: typeof result.stderr === 'string' ? result.stderr : '',
      exitCode: result.exitCode,
      signal: result.signal,
      timedOut: result.timedOut,
      canceled: result.isCanceled,
      // A spawn failure has no exit code: execa's message says what happened.
      startError: result.exitCode === undefined && !result.signal ? (result.originalMessage ?? result.shortMessage) : undefined,
    };
  },
};

interface SpawnerResult {
  id: number;
  exitCode: number | null;
  signal?: string;
  stdout: string | null;
  stderr: string | null;
  timedOut?: boolean;
  canceled?: boolean;
  error?: string;
}

/**
 * One long-lived caelus-spawner child, started on first use and again after
 * it dies. Requests and results are JSON lines (protocol in
 * hack/spawner/main.go). While nothing runs, neither the child nor its pipes
 * keep this process alive; when this process ends, the spawner reads end of
 * input and ends too.
 */
export class SpawnerLauncher implements Launcher {
  readonly kind = 'spawner';
  readonly #path: string;
  readonly #log: Logger | undefined;
  readonly #pending = new Map<number, (r: LaunchOutcome) => void>();
  #child: ChildProcess | undefined;
  #nextId = 1;
  #partial = '';

  constructor(path: string, log?: Logger) {
    this.#path = path;
    this.#log = log;
  }

  /** The spawner's pid while it runs (tests kill it by this). */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  launch(req: LaunchRequest): Promise<LaunchOutcome> {
    const child = this.#running();
    const id = this.#nextId++;
    const env = Object.entries({ ...process.env, ...req.env })
      .filter((e): e is [string, string] => e[1] !== undefined)
      .map(([k, v]) => `${k}=${v}`);
    return new Promise<LaunchOutcome>((resolve) => {
      const cancel = () => this.#send(child, { id, cancel: true });
      req.signal?.addEventListener('abort', cancel, { once: true });
      this.#pending.set(id, (outcome) => {
        req.signal?.removeEventListener('abort', cancel);
        resolve(outcome);
      });
      if (this.#pending.size === 1) this.#hold(child, true);
      this.#send(child, {
        id,
        path: req.file,
        args: req.args,
        env,
        stdin: req.input === undefined ? null : Buffer.from(req.input, 'utf8').toString('base64'),
        timeoutMs: req.timeoutMs,
        killGraceMs: req.killGraceMs,
      });
      if (req.signal?.aborted) cancel();
    });
  }

  #running(): ChildProcess {
    if (this.#child) return this.#child;
    const child = spawn(this.#path, [], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.#child = child;
    this.#partial = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => this.#read(chunk));
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (text: string) => this.#log?.error({ spawner: this.#path, stderr: text.trim() }, 'helm spawner wrote to stderr'));
    // A write after the spawner died; its 'exit' settles what was pending.
    child.stdin!.on('error', () => undefined);
    child.on('error', (err) => this.#gone(child, `helm spawner ${this.#path} failed: ${err.message}`));
    child.on('exit', (code, signal) => this.#gone(child, `helm spawner exited (${signal ?? `code ${code}`})`));
    this.#hold(child, false);
    return child;
  }

  /** Keeps this process alive while a helm process runs, and only then. */
  #hold(child: ChildProcess, on: boolean): void {
    // The pipes are net.Sockets at run time, which Node's stream types do not say.
    for (const handle of [child, child.stdin, child.stdout, child.stderr] as ({ ref?(): void; unref?(): void } | null)[]) {
      if (on) handle?.ref?.();
      else handle?.unref?.();
    }
  }

  #send(child: ChildProcess, message: Record<string, unknown>): void {
    child.stdin!.write(`${JSON.stringify(message)}\n`);
  }

  #read(chunk: string): void {
    const lines = (this.#partial + chunk).split('\n');
    this.#partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line) continue;
      let r: SpawnerResult;
      try {
        r = JSON.parse(line) as SpawnerResult;
      } catch {
        // Not the protocol: nothing it says can be trusted. Its exit settles what was pending.
        this.#log?.error({ spawner: this.#path, line: line.slice(0, 200) }, 'helm spawner wrote something that is not a result; restarting it');
        this.#child?.kill('SIGKILL');
        return;
      }
      const done = this.#pending.get(r.id);
      if (!done) continue;
      this.#pending.delete(r.id);
      if (this.#pending.size === 0 && this.#child) this.#hold(this.#child, false);
      done({
        stdout: r.stdout ? Buffer.from(r.stdout, 'base64').toString('utf8') : '',
        stderr: r.stderr ? Buffer.from(r.stderr, 'base64').toString('utf8') : '',
        exitCode: r.exitCode ?? undefined,
        signal: r.signal || undefined,
        timedOut: r.timedOut ?? false,
        canceled: r.canceled ?? false,
        startError: r.error || undefined,
      });
    }
  }

  /** The spawner is gone: what it was running is reported as not run, and the next launch starts a new one. */
  #gone(child: ChildProcess, why: string): void {
    if (this.#child !== child) return;
    this.#child = undefined;
    if (this.#pending.size > 0) this.#log?.error({ spawner: this.#path, pending: this.#pending.size }, why);
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const done of pending) {
      done({ stdout: '', stderr: '', exitCode: undefined, signal: undefined, timedOut: false, canceled: false, startError: why });
    }
  }
}

let shared: Launcher | undefined;

/** The launcher every helm process of this process goes through, decided once: the spawner when built, else fork. */
export function sharedLauncher(log?: Logger): Launcher {
  if (shared) return shared;
  const path = goHelperPath('spawner');
  if (path === undefined) {
    log?.warn({ fallback: 'fork' }, 'helm spawner not built (hack/build-go-helpers.sh needs Go): the operator forks every helm process itself');
    shared = forkLauncher;
  } else {
    log?.info({ spawner: path }, 'helm processes are started by the spawner');
    shared = new SpawnerLauncher(path, log);
  }
  return shared;
}
