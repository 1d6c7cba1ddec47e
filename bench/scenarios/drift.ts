// Drift latency: edits, scales and deletes of managed objects, spread over
// the instances; each timed from our write until a watch shows the object
// back in its desired state.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import type { BenchEnv } from '../lib/env.ts';
import { log } from '../lib/env.ts';
import { createInstances, instanceBody, instanceNames, trackReady } from '../lib/instances.ts';
import { operatorCounters, startOperator } from '../lib/operator.ts';
import { roundSummary, summarize } from '../lib/stats.ts';
import { formatDuration, formatTable } from '../lib/table.ts';
import { round } from './common.ts';
import { TEMPLATE } from './scale.ts';
import { INSTANCE_LABEL } from '../../src/domain/instance.ts';

export interface DriftOptions {
  instances: number;
  ops: number;
  concurrency: number;
  logDir: string;
  /** Give up on one correction after this long (counted as a failure). */
  opTimeoutMs?: number;
}

export const DriftOp = { Edit: 'edit', Scale: 'scale', Delete: 'delete' } as const;
export type DriftOp = (typeof DriftOp)[keyof typeof DriftOp];
const OPS: readonly DriftOp[] = [DriftOp.Edit, DriftOp.Scale, DriftOp.Delete];

type Obj = k8s.KubernetesObject & { data?: Record<string, string>; spec?: { replicas?: number } };
type Waiter = { kind: string; ns: string; name: string; ok: (phase: string, obj: Obj) => boolean; done: (at: number) => void };

/** Which object an op touches and when it counts as corrected (charts/webapp names: <release>-config, <release>). */
function plan(op: DriftOp, release: string, uid: string | undefined) {
  switch (op) {
    case DriftOp.Edit:
      return { kind: 'ConfigMap', name: `${release}-config`, ok: (p: string, o: Obj) => p !== 'DELETED' && o.data?.['message'] === 'bench' };
    case DriftOp.Scale:
      return { kind: 'Deployment', name: release, ok: (p: string, o: Obj) => p !== 'DELETED' && o.spec?.replicas === 1 };
    case DriftOp.Delete:
      return { kind: 'Service', name: release, ok: (p: string, o: Obj) => p !== 'DELETED' && o.metadata?.uid !== uid };
  }
}

export async function runDrift(env: BenchEnv, o: DriftOptions) {
  const run = `d${randomBytes(3).toString('hex')}`;
  const names = instanceNames(run, o.instances);
  const operator = await startOperator(env, { run, concurrency: o.concurrency, logFile: join(o.logDir, 'operator-drift.log') });
  let t0 = Date.now();
  const tracker = await trackReady(env.kc, run, () => t0);
  log(`drift: ${o.instances} instances, then ${o.ops} edits/scales/deletes`);
  t0 = Date.now();
  await createInstances(env.kc, names.map((n) => instanceBody(n, run, TEMPLATE)));
  await tracker.waitAll(names, Math.max(300_000, o.instances * 3_000));
  tracker.stop();
  log(`drift: ${o.instances} instances Ready after ${formatDuration(Date.now() - t0)}`);
  await new Promise((r) => setTimeout(r, 2_000));

  // One watch per kind over every managed object: corrections show up as events.
  let waiters: Waiter[] = [];
  const watches: AbortController[] = [];
  const paths = { ConfigMap: '/api/v1/configmaps', Deployment: '/apis/apps/v1/deployments', Service: '/api/v1/services' };
  for (const [kind, path] of Object.entries(paths)) {
    watches.push(
      await new k8s.Watch(env.kc).watch(
        path,
        { labelSelector: INSTANCE_LABEL },
        (phase, obj: Obj) => {
          const at = performance.now();
          for (const w of waiters) {
            if (w.kind === kind && w.ns === obj.metadata?.namespace && w.name === obj.metadata?.name && w.ok(phase, obj)) w.done(at);
          }
        },
        () => undefined,
      ),
    );
  }
  const core = env.kc.makeApiClient(k8s.CoreV1Api);
  const apps = env.kc.makeApiClient(k8s.AppsV1Api);
  const before = operatorCounters(await operator.metrics());
  const cpu0 = operator.cpu().self;
  const latencies: Record<DriftOp, number[]> = { edit: [], scale: [], delete: [] };
  const failures: string[] = [];
  const merge = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
  const tStart = Date.now();
  for (let i = 0; i < o.ops; i++) {
    const op = OPS[i % OPS.length]!;
    // Round-robin over instances so no instance trips the correction-loop guard (10 per minute).
    const instance = names[Math.floor(i / OPS.length) % names.length]!;
    const ns = instance;
    const uid = op === DriftOp.Delete ? (await core.readNamespacedService({ name: instance, namespace: ns })).metadata?.uid : undefined;
    const p = plan(op, instance, uid);
    let resolveDone!: (at: number) => void;
    const corrected = new Promise<number>((r) => (resolveDone = r));
    // Our own write arrives as an event too; only a later event can satisfy ok().
    let armed = false;
    const waiter: Waiter = { kind: p.kind, ns, name: p.name, ok: (ph, obj) => armed && p.ok(ph, obj), done: (at) => resolveDone(at) };
    waiters.push(waiter);
    const written = performance.now();
    if (op === DriftOp.Edit) {
      await core.patchNamespacedConfigMap({ name: p.name, namespace: ns, body: { data: { message: `drifted-${i}` } } }, merge);
    } else if (op === DriftOp.Scale) {
      await apps.patchNamespacedDeployment({ name: p.name, namespace: ns, body: { spec: { replicas: 3 } } }, merge);
    } else {
      await core.deleteNamespacedService({ name: p.name, namespace: ns });
    }
    armed = true;
    const timeout = new Promise<undefined>((r) => setTimeout(() => r(undefined), o.opTimeoutMs ?? 60_000));
    const at = await Promise.race([corrected, timeout]);
    waiters = waiters.filter((w) => w !== waiter);
    if (at === undefined) failures.push(`${op} ${ns}/${p.name}`);
    else latencies[op].push(at - written);
    if ((i + 1) % 25 === 0) log(`drift: ${i + 1}/${o.ops} operations`);
  }
  const opsMs = Date.now() - tStart;
  for (const w of watches) w.abort();
  const after = operatorCounters(await operator.metrics());
  const cpu = operator.cpu().self - cpu0;
  await operator.stop();

  const all = Object.values(latencies).flat();
  const perKind = Object.fromEntries(Object.entries(latencies).map(([k, xs]) => [k, roundSummary(summarize(xs), 0)]));
  const corrections = after.driftCorrections - before.driftCorrections;
  const result = {
    instances: o.instances,
    operations: o.ops,
    concurrency: o.concurrency,
    /** Milliseconds from our write to the watch event showing the object corrected. */
    latencyMs: roundSummary(summarize(all), 0),
    latencyMsByOperation: perKind,
    failures,
    operatorCorrections: corrections,
    /** The operator's own detection → correction time (caelus_drift_correction_latency_seconds), mean. */
    operatorDetectToCorrectMeanMs: round(((after.driftCorrectionSeconds - before.driftCorrectionSeconds) / Math.max(1, corrections)) * 1000, 1),
    helmProcesses: after.helmProcesses - before.helmProcesses,
    operatorCpuSeconds: round(cpu, 2),
    wallSeconds: round(opsMs / 1000, 1),
  };
  const s = (x: ReturnType<typeof summarize>) => [x.count, x.p50, x.p90, x.p99, x.max] as const;
  const table = formatTable(
    ['operation', 'count', 'p50 (ms)', 'p90 (ms)', 'p99 (ms)', 'max (ms)'],
    [...Object.entries(perKind).map(([k, x]) => [k, ...s(x)]), ['all', ...s(result.latencyMs)]],
    0,
  );
  const notes = `failures: ${failures.length}; helm processes during the operations: ${result.helmProcesses}; operator corrections: ${corrections} (its detect→correct mean ${result.operatorDetectToCorrectMeanMs} ms)`;
  return { result, table: `${table}\n${notes}` };
}
