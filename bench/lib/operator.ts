// `caelus operator` as a child process, so its RSS and CPU (and, through
// cutime/cstime, that of the helm processes it reaps) are its own. Its helm
// spawner (hack/spawner) is part of it: the spawner's CPU, that of the helm
// processes the spawner reaps, and its peak RSS are added.
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { freePort } from '../../src/k8s/testenv/free-port.ts';
import type { BenchEnv } from './env.ts';
import { startChild } from './child.ts';
import { parseMetrics, sumOf, groupBy, type Sample } from './prom.ts';
import { readCpu, readMemory, type ProcCpu, type ProcMemory } from './proc.ts';

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
export const CATALOG = fileURLToPath(new URL('../catalog.yaml', import.meta.url));
export const BENCH_LABEL = 'caelus.io/bench-run';
const CHART_VALUES = fileURLToPath(new URL('../../deploy/caelus/values.yaml', import.meta.url));
const CHART_NODE_OPTIONS = (parse(readFileSync(CHART_VALUES, 'utf8')) as { operator: { nodeOptions?: string } }).operator.nodeOptions ?? '';

export interface OperatorOptions {
  /** Only instances with `caelus.io/bench-run=<run>` are reconciled. */
  run: string;
  concurrency: number;
  logFile: string;
  /** Write a V8 CPU profile of the operator into this directory when it exits. */
  cpuProfDir?: string;
  /** Heap snapshots on SIGUSR2 (bench/lib/heap.ts) go into this directory. */
  heapSnapshotDir?: string;
  env?: Record<string, string>;
}

export interface BenchOperator {
  pid: number;
  metricsUrl: string;
  logFile: string;
  metrics(): Promise<Sample[]>;
  cpu(): ProcCpu;
  memory(): ProcMemory;
  /** SIGTERM (graceful: in-flight reconciles finish), SIGKILL of the group after 30 s. */
  stop(): Promise<void>;
}

export async function startOperator(env: BenchEnv, o: OperatorOptions): Promise<BenchOperator> {
  // node writes heap snapshots only into a directory that exists.
  if (o.heapSnapshotDir) mkdirSync(o.heapSnapshotDir, { recursive: true });
  const port = await freePort();
  const nodeArgs = [
    ...(o.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${o.cpuProfDir}`] : []),
    ...(o.heapSnapshotDir ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${o.heapSnapshotDir}`] : []),
    // Diagnostics such as --trace-gc, written to the operator's log.
    ...(process.env['BENCH_OPERATOR_NODE_ARGS']?.split(' ').filter(Boolean) ?? []),
  ];
  const metricsUrl = `http://127.0.0.1:${port}/metrics`;
  const { pid, stop } = await startChild({
    label: 'caelus operator',
    file: process.execPath,
    args: [...nodeArgs, CLI, 'operator', '--no-leader-election', '--instance-selector', `${BENCH_LABEL}=${o.run}`, '--concurrency', String(o.concurrency)],
    env: {
      ...env.helmEnv,
      // helm keeps its discovery cache under $HOME/.kube: without HOME it lands in the working directory.
      HOME: env.cp.dir,
      PATH: process.env['PATH'] ?? '',
      KUBECONFIG: env.cp.kubeconfigPath,
      HELM_BIN: env.helm,
      CAELUS_CATALOG: CATALOG,
      CAELUS_METRICS_PORT: String(port),
      CAELUS_METRICS_HOST: '127.0.0.1',
      // No kubelets here: a readiness wait would never end.
      CAELUS_HELM_ROLLBACK_ON_FAILURE: 'false',
      LOG_LEVEL: process.env['BENCH_OPERATOR_LOG_LEVEL'] ?? 'info',
      ...(env.postRenderClient ? { CAELUS_POST_RENDER_CLIENT: env.postRenderClient } : {}),
      ...(env.spawner ? { CAELUS_HELM_SPAWNER: env.spawner } : {}),
      // What the Helm chart deploys the operator with: the bench measures that operator.
      ...(CHART_NODE_OPTIONS ? { NODE_OPTIONS: CHART_NODE_OPTIONS } : {}),
      ...o.env,
    },
    logFile: o.logFile,
    readyUrl: `http://127.0.0.1:${port}/readyz`,
    killGraceMs: 30_000,
  });
  return {
    pid,
    metricsUrl,
    logFile: o.logFile,
    metrics: async () => parseMetrics(await (await fetch(metricsUrl)).text()),
    cpu: () => withSpawner(pid, readCpu, (a, b) => ({ self: a.self, children: a.children + b.self + b.children })),
    memory: () => withSpawner(pid, readMemory, (a, b) => ({ peakRssBytes: a.peakRssBytes + b.peakRssBytes, rssBytes: a.rssBytes + b.rssBytes })),
    stop,
  };
}

/** The operator's figure with its live spawner's added (a spawner that has exited is in the operator's cutime already). */
function withSpawner<T>(pid: number, read: (pid: number) => T, add: (operator: T, spawner: T) => T): T {
  let total = read(pid);
  for (const child of liveChildren(pid)) {
    try {
      if (readFileSync(`/proc/${child}/comm`, 'utf8').trim() !== 'caelus-spawner') continue;
      total = add(total, read(child));
    } catch {
      // It exited between the listing and the read: then it is counted in cutime.
    }
  }
  return total;
}

function liveChildren(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).flatMap((task) =>
    readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number),
  );
}

/** The operator figures the scenarios report, from one /metrics scrape. */
export function operatorCounters(samples: readonly Sample[]) {
  return {
    helmProcesses: sumOf(samples, 'caelus_helm_invocations_total'),
    helmByVerb: groupBy(samples, 'caelus_helm_invocations_total', ['verb']),
    helmSecondsByVerb: groupBy(samples, 'caelus_helm_duration_seconds_sum', ['verb']),
    reconciles: sumOf(samples, 'caelus_reconcile_duration_seconds_count'),
    reconcileErrors: sumOf(samples, 'caelus_reconcile_duration_seconds_count', { result: 'error' }),
    reconcileSeconds: sumOf(samples, 'caelus_reconcile_duration_seconds_sum'),
    queueDepth: sumOf(samples, 'caelus_workqueue_depth'),
    driftCorrections: sumOf(samples, 'caelus_drift_corrections_total'),
    driftCorrectionSeconds: sumOf(samples, 'caelus_drift_correction_latency_seconds_sum'),
    heapUsedBytes: sumOf(samples, 'nodejs_heap_size_used_bytes'),
  };
}
export type OperatorCounters = ReturnType<typeof operatorCounters>;
