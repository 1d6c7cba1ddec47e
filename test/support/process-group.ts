// A child process in its own process group, its output (stdout and stderr
// interleaved) written to a log file. Signals go to the whole group, so a
// test or a bench stops (or SIGKILLs, as a crashed pod would be) the process
// together with the helm it is running. Shared by test/support/operator-process.ts
// and bench/lib/child.ts.
import { createWriteStream } from 'node:fs';
import { execa } from 'execa';

export interface GroupSpawnOptions {
  env: Record<string, string>;
  /** false: the child sees only `env` (a bench measures a known environment); default true. */
  extendEnv?: boolean;
  logFile: string;
  /** Append to the log file instead of truncating it. */
  appendLog?: boolean;
}

export interface ProcessGroup {
  pid: number;
  log: string;
  /** Settles once the process has exited and its output is flushed to the log; never rejects. */
  exited: Promise<void>;
  hasExited(): boolean;
  /** Signals the whole group; a group already gone is not an error. */
  kill(signal: NodeJS.Signals): void;
}

export function spawnProcessGroup(file: string, args: readonly string[], o: GroupSpawnOptions): ProcessGroup {
  const out = createWriteStream(o.logFile, { flags: o.appendLog ? 'a' : 'w' });
  const child = execa(file, args, {
    env: o.env,
    extendEnv: o.extendEnv ?? true,
    detached: true,
    reject: false,
    all: true,
    buffer: false,
    stdin: 'ignore',
  });
  child.all?.pipe(out);
  const pid = child.pid!;
  let done = false;
  const exited = child.then(async () => {
    done = true;
    await new Promise<void>((r) => out.end(r));
  });
  return {
    pid,
    log: o.logFile,
    exited,
    hasExited: () => done,
    kill(signal) {
      try {
        process.kill(-pid, signal);
      } catch {
        // already gone
      }
    },
  };
}
