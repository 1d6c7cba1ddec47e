// CPU and memory of a process from Linux /proc: utime/stime of the process
// itself, cutime/cstime of its reaped children (helm, and the post-renderer
// node processes helm runs, are counted there once they exit), VmHWM (peak
// RSS) and VmRSS. Parsing is pure and unit-tested (test/unit/bench-proc.test.ts).
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

export interface ProcCpu {
  /** CPU seconds of the process itself (user + system). */
  self: number;
  /** CPU seconds of children it has waited for (user + system), descendants included. */
  children: number;
}

export interface ProcMemory {
  /** Peak resident set size (VmHWM), bytes. */
  peakRssBytes: number;
  /** Current resident set size (VmRSS), bytes. */
  rssBytes: number;
}

/** Parses /proc/<pid>/stat: the command name may contain spaces and ')', so fields are counted from the last ')'. */
export function parseStat(text: string, ticksPerSecond: number): ProcCpu {
  const rest = text.slice(text.lastIndexOf(')') + 2).trim().split(/\s+/);
  // rest[0] is field 3 (state); utime, stime, cutime, cstime are fields 14..17.
  const n = (field: number) => Number(rest[field - 3]);
  const [utime, stime, cutime, cstime] = [n(14), n(15), n(16), n(17)];
  if (![utime, stime, cutime, cstime].every(Number.isFinite)) throw new Error(`unexpected /proc stat line: ${text.slice(0, 120)}`);
  return { self: (utime + stime) / ticksPerSecond, children: (cutime + cstime) / ticksPerSecond };
}

/** Parses VmHWM and VmRSS (kB) out of /proc/<pid>/status. */
export function parseStatus(text: string): ProcMemory {
  const kb = (key: string) => {
    const m = new RegExp(`^${key}:\\s+(\\d+)\\s+kB`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : NaN;
  };
  return { peakRssBytes: kb('VmHWM'), rssBytes: kb('VmRSS') };
}

let ticks: number | undefined;
/** USER_HZ (`getconf CLK_TCK`), 100 on every common Linux. */
export function clockTicks(): number {
  if (ticks === undefined) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

export function readCpu(pid: number): ProcCpu {
  return parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'), clockTicks());
}

export function readMemory(pid: number): ProcMemory {
  return parseStatus(readFileSync(`/proc/${pid}/status`, 'utf8'));
}

/** CPU seconds used by the whole machine so far (all cores, from /proc/stat), to tell how busy the box was. */
export function machineCpuSeconds(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return { busy: (total - idle) / clockTicks(), total: total / clockTicks() };
}
