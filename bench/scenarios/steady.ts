// Steady state: the instances of a finished scale run, nothing changed, every
// one reconciled again. Twice: warm (every CR annotated, the running operator
// reconciles each once) and cold (the operator restarted, as after a crash or
// a leader hand-over). Goal: zero helm processes.
import { join } from 'node:path';
import type { BenchEnv } from '../lib/env.ts';
import { log } from '../lib/env.ts';
import { annotateAll } from '../lib/instances.ts';
import { operatorCounters, startOperator, type BenchOperator, type OperatorCounters } from '../lib/operator.ts';
import { diffCounts } from '../lib/prom.ts';
import { formatTable } from '../lib/table.ts';
import { MiB, round, topCounts } from './common.ts';
import type { Fleet } from './scale.ts';

export interface SteadyOptions {
  concurrency: number;
  logDir: string;
  cpuProf?: boolean;
  timeoutMs?: number;
}

/** Polls the operator's /metrics until `want` more reconciles finished and the queue is empty. */
async function waitReconciles(op: BenchOperator, base: number, want: number, timeoutMs: number): Promise<OperatorCounters> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const c = operatorCounters(await op.metrics());
    if (c.reconciles - base >= want && c.queueDepth === 0) return c;
    if (Date.now() > deadline) throw new Error(`only ${c.reconciles - base} of ${want} reconciles within ${timeoutMs} ms (queue depth ${c.queueDepth})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function phase(name: string, n: number, wallMs: number, before: OperatorCounters, after: OperatorCounters, cpuSeconds: number, api: Record<string, number>, benchOwn: number) {
  const reconciles = after.reconciles - before.reconciles;
  const apiTotal = Object.values(api).reduce((a, b) => a + b, 0);
  return {
    trigger: name,
    instances: n,
    wallSeconds: round(wallMs / 1000, 2),
    reconciles,
    reconcileErrors: after.reconcileErrors - before.reconcileErrors,
    meanReconcileMs: round(((after.reconcileSeconds - before.reconcileSeconds) / Math.max(1, reconciles)) * 1000, 1),
    helmProcesses: after.helmProcesses - before.helmProcesses,
    helmByVerb: diffCounts(before.helmByVerb, after.helmByVerb),
    operatorCpuSeconds: round(cpuSeconds, 2),
    apiserverRequests: { operator: apiTotal - benchOwn, perInstance: round((apiTotal - benchOwn) / n, 1), byVerbResource: topCounts(api, 10) },
  };
}

export async function runSteady(env: BenchEnv, fleet: Fleet, o: SteadyOptions) {
  const n = fleet.names.length;
  const timeoutMs = o.timeoutMs ?? Math.max(300_000, n * 1_000);
  // Let the scale run's last events settle (drift watches, status writes).
  await new Promise((r) => setTimeout(r, 2_000));

  log(`steady: warm resync of ${n} instances (annotating every CR)`);
  const op1 = fleet.operator;
  const before = operatorCounters(await op1.metrics());
  const cpu0 = op1.cpu().self;
  const api0 = await env.apiserverRequests();
  const t0 = Date.now();
  const patches = await annotateAll(env.kc, fleet.names, 'bench.caelus.io/resync', String(t0));
  const after = await waitReconciles(op1, before.reconciles, n, timeoutMs);
  const warmMs = Date.now() - t0;
  const warm = phase('warm: every CR annotated', n, warmMs, before, after, op1.cpu().self - cpu0, diffCounts(api0, await env.apiserverRequests()), patches + 1);
  const peakRssMiB = round(op1.memory().peakRssBytes / MiB, 1);

  log('steady: cold resync (operator restarted)');
  await op1.stop();
  const api1 = await env.apiserverRequests();
  const t1 = Date.now();
  const op2 = await startOperator(env, {
    run: fleet.run,
    concurrency: o.concurrency,
    logFile: join(o.logDir, 'operator-steady.log'),
    ...(o.cpuProf ? { cpuProfDir: join(o.logDir, 'cpuprofile') } : {}),
  });
  const zero = operatorCounters([]);
  const after2 = await waitReconciles(op2, 0, n, timeoutMs);
  const coldMs = Date.now() - t1;
  const cold = phase('cold: operator restarted (CPU incl. its start)', n, coldMs, zero, after2, op2.cpu().self, diffCounts(api1, await env.apiserverRequests()), 1);
  await op2.stop();

  const result = { instances: n, concurrency: o.concurrency, operatorPeakRssMiB: peakRssMiB, phases: [warm, cold] };
  const table = formatTable(
    ['resync', 'wall (s)', 'reconciles', 'errors', 'mean reconcile (ms)', 'helm processes', 'operator CPU (s)', 'API req/instance'],
    [warm, cold].map((p) => [p.trigger, p.wallSeconds, p.reconciles, p.reconcileErrors, p.meanReconcileMs, p.helmProcesses, p.operatorCpuSeconds, p.apiserverRequests.perInstance]),
  );
  return { result, table };
}
