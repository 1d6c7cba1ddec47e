// The scale scenario with Flux instead of Caelus: helm-controller and
// source-controller on the same control plane, the same chart and values
// (bench/catalog.yaml) from a local Helm repository, one namespace and one
// HelmRelease per instance created at once → time until all Ready, CPU and
// peak RSS of each controller, API-server requests; measured as runScale does.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { parse } from 'yaml';
import type { BenchEnv } from '../lib/env.ts';
import { log } from '../lib/env.ts';
import { applyFluxCrds, fluxBinaries, FLUX_NAMESPACE, serveChartRepo, startFluxController, type FluxController } from '../lib/flux.ts';
import { instanceNames, trackReady, type TrackedResource } from '../lib/instances.ts';
import { pool } from '../lib/load.ts';
import { BENCH_LABEL, CATALOG } from '../lib/operator.ts';
import { diffCounts } from '../lib/prom.ts';
import { roundSummary, summarize } from '../lib/stats.ts';
import { formatDuration, formatPairs, formatTable } from '../lib/table.ts';
import { MiB, round, topCounts } from './common.ts';
import { TEMPLATE } from './scale.ts';

export interface FluxOptions {
  n: number;
  concurrency: number;
  logDir: string;
  timeoutMs?: number;
}

const HELMRELEASES: TrackedResource = { group: 'helm.toolkit.fluxcd.io', version: 'v2', plural: 'helmreleases' };
const REPO = 'bench';

/** The chart directory and default values of TEMPLATE in bench/catalog.yaml, so both sides install the same thing. */
export function catalogEntry(catalogText: string, catalogDir: string, template = TEMPLATE): { name: string; version: string; chartDir: string; values: Record<string, unknown> } {
  const [name, version] = template.split('@') as [string, string];
  const doc = parse(catalogText) as { templates?: Array<{ name: string; versions?: Array<{ version: string; chart: string; defaultValues?: Record<string, unknown> }> }> };
  const v = doc.templates?.find((t) => t.name === name)?.versions?.find((x) => x.version === version);
  if (!v) throw new Error(`template ${template} is not in the bench catalog`);
  return { name, version, chartDir: resolve(catalogDir, v.chart), values: v.defaultValues ?? {} };
}

function helmRelease(name: string, run: string, chart: string, version: string, values: Record<string, unknown>) {
  return {
    apiVersion: `${HELMRELEASES.group}/${HELMRELEASES.version}`,
    kind: 'HelmRelease',
    metadata: { name, namespace: name, labels: { [BENCH_LABEL]: run } },
    spec: {
      interval: '10m',
      chart: { spec: { chart, version, interval: '10m', sourceRef: { kind: 'HelmRepository', name: REPO, namespace: FLUX_NAMESPACE } } },
      values,
      // No kubelets here: a readiness wait would never end (Caelus runs without one too).
      install: { disableWait: true },
      upgrade: { disableWait: true },
    },
  };
}

async function waitRepoReady(kc: k8s.KubeConfig, timeoutMs = 60_000): Promise<void> {
  const api = kc.makeApiClient(k8s.CustomObjectsApi);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const repo = (await api.getNamespacedCustomObject({ group: 'source.toolkit.fluxcd.io', version: 'v1', namespace: FLUX_NAMESPACE, plural: 'helmrepositories', name: REPO })) as {
      status?: { conditions?: Array<{ type: string; status: string; message?: string }> };
    };
    const ready = repo.status?.conditions?.find((c) => c.type === 'Ready');
    if (ready?.status === 'True') return;
    if (Date.now() > deadline) throw new Error(`HelmRepository ${REPO} not Ready within ${timeoutMs} ms: ${ready?.message ?? 'no status'}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function runFlux(env: BenchEnv, o: FluxOptions) {
  const bins = await fluxBinaries();
  const crds = await applyFluxCrds(env.kc, bins.crdDirs);
  const core = env.kc.makeApiClient(k8s.CoreV1Api);
  const custom = env.kc.makeApiClient(k8s.CustomObjectsApi);
  await core.createNamespace({ body: { metadata: { name: FLUX_NAMESPACE } } });
  const entry = catalogEntry(readFileSync(CATALOG, 'utf8'), dirname(CATALOG));
  // The catalog's version is the template's; the HelmRelease asks for the chart's own.
  const chart = parse(readFileSync(join(entry.chartDir, 'Chart.yaml'), 'utf8')) as { name: string; version: string };
  const repo = await serveChartRepo(env, entry.chartDir);
  const source = await startFluxController(env, {
    name: 'source-controller',
    binary: bins.sourceController,
    logFile: join(o.logDir, 'source-controller.log'),
    args: (p) => {
      const storage = join(env.cp.dir, 'flux-storage');
      mkdirSync(storage, { recursive: true });
      return ['--watch-all-namespaces', '--enable-leader-election=false', `--storage-path=${storage}`, `--storage-addr=127.0.0.1:${p.storage}`, `--storage-adv-addr=127.0.0.1:${p.storage}`, `--metrics-addr=127.0.0.1:${p.metrics}`, `--health-addr=127.0.0.1:${p.health}`];
    },
  });
  const helm = await startFluxController(env, {
    name: 'helm-controller',
    binary: bins.helmController,
    logFile: join(o.logDir, 'helm-controller.log'),
    args: (p) => ['--watch-all-namespaces', '--enable-leader-election=false', `--concurrent=${o.concurrency}`, `--metrics-addr=127.0.0.1:${p.metrics}`, `--health-addr=127.0.0.1:${p.health}`],
  });
  await custom.createNamespacedCustomObject({
    group: 'source.toolkit.fluxcd.io',
    version: 'v1',
    namespace: FLUX_NAMESPACE,
    plural: 'helmrepositories',
    body: { apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'HelmRepository', metadata: { name: REPO, namespace: FLUX_NAMESPACE }, spec: { url: repo.url, interval: '10m' } },
  });
  await waitRepoReady(env.kc);

  const run = `f${randomBytes(3).toString('hex')}`;
  const names = instanceNames(run, o.n);
  const controllers: FluxController[] = [helm, source];
  const idle = controllers.map((c) => ({ cpu: c.cpu(), mem: c.memory() }));
  const apiBefore = await env.apiserverRequests();
  const cpBefore = env.controlPlaneCpu();
  let t0 = Date.now();
  const tracker = await trackReady(env.kc, run, () => t0, HELMRELEASES);
  log(`flux: creating ${o.n} namespaces + HelmReleases (helm-controller pid ${helm.pid} --concurrent=${o.concurrency}, source-controller pid ${source.pid})`);
  t0 = Date.now();
  await pool(names, 32, async (name) => {
    await core.createNamespace({ body: { metadata: { name, labels: { [BENCH_LABEL]: run } } } });
    await custom.createNamespacedCustomObject({ ...HELMRELEASES, namespace: name, body: helmRelease(name, run, chart.name, chart.version, entry.values) });
  });
  const created = 2 * o.n;
  const createdMs = Date.now() - t0;
  const progress = setInterval(() => log(`flux: ${tracker.readyAt.size}/${o.n} Ready after ${formatDuration(Date.now() - t0)}`), 10_000);
  try {
    await tracker.waitAll(names, o.timeoutMs ?? Math.max(600_000, o.n * 3_000));
  } finally {
    clearInterval(progress);
  }
  const wallMs = Date.now() - t0;
  const after = controllers.map((c) => ({ cpu: c.cpu(), mem: c.memory() }));
  const cpAfter = env.controlPlaneCpu();
  const apiAfter = await env.apiserverRequests();
  tracker.stop();
  const api = diffCounts(apiBefore, apiAfter);
  const apiTotal = Object.values(api).reduce((a, b) => a + b, 0);
  const benchOwn = created + tracker.requests + 1; // namespaces + HelmReleases, list+watch, one /metrics read
  const readySeconds = [...tracker.readyAt.values()].map((ms) => ms / 1000);
  const perController = Object.fromEntries(
    controllers.map((c, i) => [
      c.name,
      {
        peakRssMiB: round(after[i]!.mem.peakRssBytes / MiB, 1),
        idleRssMiB: round(idle[i]!.mem.rssBytes / MiB, 1),
        cpuSeconds: round(after[i]!.cpu.self + after[i]!.cpu.children - idle[i]!.cpu.self - idle[i]!.cpu.children, 2),
        startupCpuSeconds: round(idle[i]!.cpu.self, 2),
      },
    ]),
  ) as Record<'helm-controller' | 'source-controller', { peakRssMiB: number; idleRssMiB: number; cpuSeconds: number; startupCpuSeconds: number }>;
  const hc = perController['helm-controller'];
  const sc = perController['source-controller'];
  const result = {
    n: o.n,
    concurrency: o.concurrency,
    template: TEMPLATE,
    versions: bins.versions,
    crds,
    wallSeconds: round(wallMs / 1000, 2),
    createSeconds: round(createdMs / 1000, 2),
    instancesPerSecond: round(o.n / (wallMs / 1000), 2),
    readySeconds: roundSummary(summarize(readySeconds), 2),
    /** When each instance became Ready, in order (instances Ready over time). */
    readyTimeline: readySeconds.map((x) => round(x, 2)).sort((a, b) => a - b),
    controllers: perController,
    total: { cpuSeconds: round(hc.cpuSeconds + sc.cpuSeconds, 2), peakRssMiB: round(hc.peakRssMiB + sc.peakRssMiB, 1) },
    controlPlaneCpuSeconds: { apiserver: round(cpAfter.apiserver - cpBefore.apiserver, 2), etcd: round(cpAfter.etcd - cpBefore.etcd, 2) },
    apiserverRequests: { total: apiTotal, benchOwn, flux: apiTotal - benchOwn, perInstance: round((apiTotal - benchOwn) / o.n, 1), byVerbResource: topCounts(api, 15) },
  };
  const table = formatPairs([
    ['instances (namespace + HelmRelease)', o.n],
    ['helm-controller --concurrent', o.concurrency],
    ['all Ready after', formatDuration(wallMs)],
    ['instances/s', result.instancesPerSecond],
    ['first / median / last Ready (s)', `${result.readySeconds.min} / ${result.readySeconds.p50} / ${result.readySeconds.max}`],
    ['helm-controller peak RSS (MiB)', hc.peakRssMiB],
    ['source-controller peak RSS (MiB)', sc.peakRssMiB],
    ['helm-controller CPU (s)', hc.cpuSeconds],
    ['source-controller CPU (s)', sc.cpuSeconds],
    ['kube-apiserver / etcd CPU (s)', `${result.controlPlaneCpuSeconds.apiserver} / ${result.controlPlaneCpuSeconds.etcd}`],
    ['API-server requests (Flux)', `${result.apiserverRequests.flux} (${result.apiserverRequests.perInstance}/instance)`],
  ]);
  const verbs = formatTable(['API-server requests by verb/resource', 'count'], result.apiserverRequests.byVerbResource.map(([k, v]) => [k, v]));
  const stop = async () => {
    for (const c of controllers) await c.stop();
    await repo.stop();
  };
  return { result, table: `${table}\n\n${verbs}`, stop };
}
