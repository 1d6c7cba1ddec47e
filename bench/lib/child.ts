// A measured process of a bench run (the Caelus operator, a Flux controller):
// its own process group, output appended to a log file, started once its
// /readyz answers 200, stopped with SIGTERM then SIGKILL of the whole group.
import { spawnProcessGroup } from '../../test/support/process-group.ts';
import { onCleanup } from './cleanup.ts';

export interface ChildOptions {
  /** Names the process in errors and in the cleanup list. */
  label: string;
  file: string;
  args: string[];
  env: Record<string, string>;
  logFile: string;
  readyUrl: string;
  /** Between SIGTERM and SIGKILL of the group when stopping. */
  killGraceMs: number;
}

export interface BenchChild {
  pid: number;
  stop(): Promise<void>;
}

export async function startChild(o: ChildOptions): Promise<BenchChild> {
  // Its own process group: Ctrl-C reaches the bench, which stops it (and its children) in order.
  const child = spawnProcessGroup(o.file, o.args, { env: o.env, extendEnv: false, logFile: o.logFile, appendLog: true });
  const stop = onCleanup(`${o.label} ${child.pid}`, async () => {
    if (!child.hasExited()) child.kill('SIGTERM');
    const timer = setTimeout(() => !child.hasExited() && child.kill('SIGKILL'), o.killGraceMs);
    await child.exited;
    clearTimeout(timer);
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.hasExited()) throw new Error(`${o.label} exited during start; see ${o.logFile}`);
    try {
      if ((await fetch(o.readyUrl)).status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${o.label} not ready within 60 s; see ${o.logFile}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { pid: child.pid, stop };
}
