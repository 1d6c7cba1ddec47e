// A measured process of a bench run (the Caelus operator, a Flux controller):
// its own process group, output appended to a log file, started once its
// /readyz answers 200, stopped with SIGTERM then SIGKILL of the whole group.
import { createWriteStream } from 'node:fs';
import { execa, type ResultPromise } from 'execa';
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
  const out = createWriteStream(o.logFile, { flags: 'a' });
  const child: ResultPromise = execa(o.file, o.args, {
    env: o.env,
    extendEnv: false,
    // Its own process group: Ctrl-C reaches the bench, which stops it (and its children) in order.
    detached: true,
    reject: false,
    all: true,
    buffer: false,
    stdin: 'ignore',
  });
  child.all?.pipe(out);
  const pid = child.pid!;
  let exited = false;
  void child.then(() => (exited = true));
  const kill = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      // already gone
    }
  };
  const stop = onCleanup(`${o.label} ${pid}`, async () => {
    if (!exited) {
      kill('SIGTERM');
      const timer = setTimeout(() => kill('SIGKILL'), o.killGraceMs);
      await child;
      clearTimeout(timer);
    }
    await new Promise<void>((r) => out.end(r));
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited) throw new Error(`${o.label} exited during start; see ${o.logFile}`);
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
  return { pid, stop };
}
