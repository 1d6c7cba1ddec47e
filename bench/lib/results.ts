// Where figures go: a JSON file per run under bench/results/, with enough
// about the machine and its load to judge the figures later.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';

export const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));

export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  platform: string;
  gitCommit: string | undefined;
  /** 1/5/15-minute load averages when the scenario started and ended: above ~1 on 2 cores means other work competed. */
  loadAverageStart: number[];
  loadAverageEnd?: number[];
}

export function machineInfo(): MachineInfo {
  let gitCommit: string | undefined;
  try {
    gitCommit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    gitCommit = undefined;
  }
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    gitCommit,
    loadAverageStart: loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

export function finishMachineInfo(m: MachineInfo): MachineInfo {
  return { ...m, loadAverageEnd: loadavg().map((x) => Math.round(x * 100) / 100) };
}

/** A filesystem-safe UTC timestamp, e.g. 20250101T120000Z. */
export function stamp(d = new Date()): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

/** Writes bench/results/<scenario>-<timestamp>.json (or into `dir`) and returns the path. */
export function writeResult(scenario: string, result: unknown, dir = RESULTS_DIR): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${scenario}-${stamp()}.json`);
  writeFileSync(path, JSON.stringify(result, null, 2) + '\n');
  return path;
}

/** bench/results/logs/<scenario>-<timestamp>/: operator and API logs of one run (kept; ignored by git). */
export function logDir(scenario: string, dir = RESULTS_DIR): string {
  const path = join(dir, 'logs', `${scenario}-${stamp()}`);
  mkdirSync(path, { recursive: true });
  return path;
}
