// Scale: N instances created at once → time until all are Ready, with the
// operator's peak RSS and CPU, helm processes and API-server requests.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { BenchEnv } from '../lib/env.ts';
import { log } from '../lib/env.ts';
import { createInstances, instanceBody, instanceNames, trackReady } from '../lib/instances.ts';
import { operatorCounters, startOperator, type BenchOperator } from '../lib/operator.ts';
import { takeHeapSnapshot } from '../lib/heap.ts';
import { diffCounts } from '../lib/prom.ts';
import { summarize, roundSummary } from '../lib/stats.ts';
import { formatDuration, formatPairs, formatTable } from '../lib/table.ts';
import { MiB, round, topCounts } from './common.ts';

export const TEMPLATE = 'webapp@1.0.0';

export interface ScaleOptions {
  n: number;
  concurrency: number;
  logDir: string;
  cpuProf?: boolean;
  /** Take a heap snapshot once all are Ready and report its largest groups. */
  heapSnapshot?: boolean;
  timeoutMs?: number;
}

/** What later scenarios (steady state) reuse: the Ready instances and the operator that made them. */
export interface Fleet {
  run: string;
  names: string[];
  operator: BenchOperator;
}

export async function runScale(env: BenchEnv, o: ScaleOptions) {
  const run = `b${randomBytes(3).toString('hex')}`;
  const names = instanceNames(run, o.n);
  const operator = await startOperator(env, {
    run,
    concurrency: o.concurrency,
    logFile: join(o.logDir, 'operator-scale.log'),
    ...(o.cpuProf ? { cpuProfDir: join(o.logDir, 'cpuprofile') } : {}),
    ...(o.heapSnapshot ? { heapSnapshotDir: join(o.logDir, 'heap') } : {}),
  });
  const idle = { cpu: operator.cpu(), mem: operator.memory(), heapUsedBytes: operatorCounters(await operator.metrics()).heapUsedBytes };
  // Peak heap in use, sampled: /proc has the peak RSS, only the process knows its heap.
  let peakHeapBytes = idle.heapUsedBytes;
  const heapSampler = setInterval(() => {
    operator
      .metrics()
      .then((m) => (peakHeapBytes = Math.max(peakHeapBytes, operatorCounters(m).heapUsedBytes)))
      .catch(() => undefined);
  }, 2_000);
  const apiBefore = await env.apiserverRequests();
  const cpBefore = env.controlPlaneCpu();
  let t0 = Date.now();
  const tracker = await trackReady(env.kc, run, () => t0);
  log(`scale: creating ${o.n} instances (operator pid ${operator.pid}, concurrency ${o.concurrency})`);
  t0 = Date.now();
  const created = await createInstances(env.kc, names.map((n) => instanceBody(n, run, TEMPLATE)));
  const createdMs = Date.now() - t0;
  const progress = setInterval(() => log(`scale: ${tracker.readyAt.size}/${o.n} Ready after ${formatDuration(Date.now() - t0)}`), 10_000);
  try {
    await tracker.waitAll(names, o.timeoutMs ?? Math.max(600_000, o.n * 3_000));
  } finally {
    clearInterval(progress);
    clearInterval(heapSampler);
  }
  const wallMs = Date.now() - t0;
  const cpu = operator.cpu();
  const mem = operator.memory();
  const counters = operatorCounters(await operator.metrics());
  peakHeapBytes = Math.max(peakHeapBytes, counters.heapUsedBytes);
  const heap = o.heapSnapshot ? await takeHeapSnapshot(operator.pid, join(o.logDir, 'heap')) : undefined;
  const cpAfter = env.controlPlaneCpu();
  const apiAfter = await env.apiserverRequests();
  tracker.stop();
  const api = diffCounts(apiBefore, apiAfter);
  const apiTotal = Object.values(api).reduce((a, b) => a + b, 0);
  const benchOwn = created + tracker.requests + 1; // creates, list+watch, one /metrics read
  const helmSeconds = Object.values(counters.helmSecondsByVerb).reduce((a, b) => a + b, 0);
  const readySeconds = [...tracker.readyAt.values()].map((ms) => ms / 1000);

  const result = {
    n: o.n,
    concurrency: o.concurrency,
    template: TEMPLATE,
    wallSeconds: round(wallMs / 1000, 2),
    createSeconds: round(createdMs / 1000, 2),
    instancesPerSecond: round(o.n / (wallMs / 1000), 2),
    readySeconds: roundSummary(summarize(readySeconds), 2),
    /** When each instance became Ready, in order (instances Ready over time). */
    readyTimeline: readySeconds.map((x) => round(x, 2)).sort((a, b) => a - b),
    operator: {
      peakRssMiB: round(mem.peakRssBytes / MiB, 1),
      idleRssMiB: round(idle.mem.rssBytes / MiB, 1),
      /** V8 heap in use: at start, the highest 2-second sample, once all are Ready. */
      heapUsedMiB: { idle: round(idle.heapUsedBytes / MiB, 1), peak: round(peakHeapBytes / MiB, 1), allReady: round(counters.heapUsedBytes / MiB, 1) },
      ...(heap ? { heapSnapshot: heap } : {}),
      cpuSeconds: round(cpu.self - idle.cpu.self, 2),
      startupCpuSeconds: round(idle.cpu.self, 2),
      /** helm processes and the post-renderer node processes they ran (reaped children). */
      helmChildrenCpuSeconds: round(cpu.children - idle.cpu.children, 2),
    },
    controlPlaneCpuSeconds: { apiserver: round(cpAfter.apiserver - cpBefore.apiserver, 2), etcd: round(cpAfter.etcd - cpBefore.etcd, 2) },
    helm: {
      processes: counters.helmProcesses,
      perInstance: round(counters.helmProcesses / o.n, 2),
      byVerb: counters.helmByVerb,
      wallSecondsByVerb: Object.fromEntries(Object.entries(counters.helmSecondsByVerb).map(([k, v]) => [k, round(v, 1)])),
      /** Sum of helm process wall time over (wall time × concurrency): how much of the workers' time went to waiting on helm. */
      shareOfWorkerTime: round(helmSeconds / ((wallMs / 1000) * o.concurrency), 3),
    },
    reconciles: { count: counters.reconciles, errors: counters.reconcileErrors, meanSeconds: round(counters.reconcileSeconds / Math.max(1, counters.reconciles), 3) },
    apiserverRequests: { total: apiTotal, benchOwn, operator: apiTotal - benchOwn, perInstance: round((apiTotal - benchOwn) / o.n, 1), byVerbResource: topCounts(api, 15) },
  };
  const table = formatPairs([
    ['instances', o.n],
    ['operator concurrency', o.concurrency],
    ['all Ready after', formatDuration(wallMs)],
    ['instances/s', result.instancesPerSecond],
    ['first / median / last Ready (s)', `${result.readySeconds.min} / ${result.readySeconds.p50} / ${result.readySeconds.max}`],
    ['operator peak RSS (MiB)', result.operator.peakRssMiB],
    ['operator heap used idle / peak / all Ready (MiB)', `${result.operator.heapUsedMiB.idle} / ${result.operator.heapUsedMiB.peak} / ${result.operator.heapUsedMiB.allReady}`],
    ['operator CPU (s)', result.operator.cpuSeconds],
    ['helm + post-renderer CPU (s)', result.operator.helmChildrenCpuSeconds],
    ['kube-apiserver / etcd CPU (s)', `${result.controlPlaneCpuSeconds.apiserver} / ${result.controlPlaneCpuSeconds.etcd}`],
    ['helm processes', `${counters.helmProcesses} (${result.helm.perInstance}/instance: ${Object.entries(counters.helmByVerb).map(([k, v]) => `${k.trim()} ${v}`).join(', ')})`],
    ['helm share of worker time', `${(result.helm.shareOfWorkerTime * 100).toFixed(0)} %`],
    ['reconciles (errors)', `${counters.reconciles} (${counters.reconcileErrors})`],
    ['API-server requests (operator)', `${result.apiserverRequests.operator} (${result.apiserverRequests.perInstance}/instance)`],
  ]);
  const verbs = formatTable(
    ['API-server requests by verb/resource', 'count'],
    result.apiserverRequests.byVerbResource.map(([k, v]) => [k, v]),
  );
  const heapTable = heap
    ? `\n\n${formatTable([`heap snapshot (${heap.totalMiB} MiB): largest groups`, 'objects', 'self MiB'], heap.groups.map((g) => [g.name, g.count, g.selfMiB]))}`
    : '';
  return { result, table: `${table}\n\n${verbs}${heapTable}`, fleet: { run, names, operator } satisfies Fleet };
}
