// Flux's helm-controller and source-controller on the bench's control plane,
// for the side-by-side benchmark: the binaries built from Go modules
// (hack/build-flux.sh), their CRDs, the two controllers as child processes
// (their RSS and CPU from /proc like the operator's) and the bench chart
// served from a local Helm repository over HTTP.
import { createServer, type Server } from 'node:http';
import { createReadStream, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { loadAllYaml, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { ObjectClient } from '../../src/k8s/apply.ts';
import { waitUntilUsable } from '../../src/k8s/crds.ts';
import { cacheRoot } from '../../src/k8s/testenv/cache.ts';
import { freePort } from '../../src/k8s/testenv/free-port.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { onCleanup } from './cleanup.ts';
import { startChild } from './child.ts';
import type { BenchEnv } from './env.ts';
import { log } from './env.ts';
import { readCpu, readMemory, type ProcCpu, type ProcMemory } from './proc.ts';

const HACK = fileURLToPath(new URL('../../hack/', import.meta.url));
export const FLUX_NAMESPACE = 'flux-system';

/** `KEY=value` lines (comments and blanks skipped), as in hack/flux/versions.env. */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) throw new Error(`unexpected line in versions.env: ${JSON.stringify(raw)}`);
    out[m[1]!] = m[2]!.replace(/^(["'])(.*)\1$/, '$2');
  }
  return out;
}

export interface FluxVersions {
  helmController: string;
  sourceController: string;
}

/** The pinned versions (hack/flux/versions.env is the one place they are set). */
export function fluxVersions(): FluxVersions {
  const env = parseEnvFile(readFileSync(join(HACK, 'flux/versions.env'), 'utf8'));
  const helmController = env['HELM_CONTROLLER_VERSION'];
  const sourceController = env['SOURCE_CONTROLLER_VERSION'];
  if (!helmController || !sourceController) throw new Error('hack/flux/versions.env must set HELM_CONTROLLER_VERSION and SOURCE_CONTROLLER_VERSION');
  return { helmController, sourceController };
}

export interface FluxBinaries {
  versions: FluxVersions;
  dir: string;
  helmController: string;
  sourceController: string;
  /** Directories of CRD YAML, helm-controller's and source-controller's. */
  crdDirs: string[];
}

/** Where hack/build-flux.sh puts the controllers; builds them first when they are not there (minutes, cold). */
export async function fluxBinaries(): Promise<FluxBinaries> {
  const versions = fluxVersions();
  const dir = join(cacheRoot(), 'flux', `${versions.helmController}-${versions.sourceController}`);
  const b: FluxBinaries = {
    versions,
    dir,
    helmController: join(dir, 'helm-controller'),
    sourceController: join(dir, 'source-controller'),
    crdDirs: [join(dir, 'crds/helm-controller'), join(dir, 'crds/source-controller')],
  };
  if (![b.helmController, b.sourceController, ...b.crdDirs].every((p) => existsSync(p))) {
    log(`flux: building helm-controller ${versions.helmController} and source-controller ${versions.sourceController} (hack/build-flux.sh; minutes when cold)`);
    const path = ['/usr/local/go/bin', process.env['PATH'] ?? ''].join(':');
    const r = await execa('bash', [join(HACK, 'build-flux.sh')], { env: { PATH: path }, reject: false, all: true });
    if (r.exitCode !== 0) throw new Error(`hack/build-flux.sh failed (exit ${r.exitCode}):\n${r.all?.slice(-2000)}`);
  }
  return b;
}

/** Server-side applies every CRD in the directories and waits until each is Established and takes writes. */
export async function applyFluxCrds(kc: KubeConfig, dirs: readonly string[], timeoutMs = 30_000): Promise<number> {
  const client = new ObjectClient(kc, { logger: silentLogger() });
  const names: string[] = [];
  for (const dir of dirs) {
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.yaml')).sort()) {
      // loadAllYaml goes through client-node's typed model (see src/k8s/crds.ts for why).
      for (const crd of loadAllYaml(await readFile(join(dir, f), 'utf8')) as KubernetesObject[]) {
        if (!crd?.kind) continue;
        await client.apply(crd, { fieldManager: 'caelus-bench', force: true });
        names.push(crd.metadata!.name!);
      }
    }
  }
  // The same wait as Caelus's own CRDs get (src/k8s/crds.ts): neither side's clock includes the API server's.
  const deadline = Date.now() + timeoutMs;
  for (const name of names) await waitUntilUsable(kc, name, Math.max(1, deadline - Date.now()));
  return names.length;
}

export interface FluxController {
  name: string;
  pid: number;
  logFile: string;
  cpu(): ProcCpu;
  memory(): ProcMemory;
  /** SIGTERM, SIGKILL after 10 s. */
  stop(): Promise<void>;
}

/** Free ports on 127.0.0.1 (Flux's defaults :8080/:9440/:9090 collide with other things); storage: source-controller's artifact server. */
export interface FluxPorts {
  metrics: number;
  health: number;
  storage: number;
}

/** Starts one controller with the control plane's kubeconfig and waits for its /readyz. */
export async function startFluxController(
  env: BenchEnv,
  o: { name: string; binary: string; args: (ports: FluxPorts) => string[]; logFile: string; extraEnv?: Record<string, string> },
): Promise<FluxController> {
  const ports: FluxPorts = { metrics: await freePort(), health: await freePort(), storage: await freePort() };
  const { pid, stop } = await startChild({
    label: o.name,
    file: o.binary,
    args: o.args(ports),
    env: { HOME: env.cp.dir, PATH: process.env['PATH'] ?? '', KUBECONFIG: env.cp.kubeconfigPath, RUNTIME_NAMESPACE: FLUX_NAMESPACE, ...o.extraEnv },
    logFile: o.logFile,
    readyUrl: `http://127.0.0.1:${ports.health}/readyz`,
    killGraceMs: 10_000,
  });
  return { name: o.name, pid, logFile: o.logFile, cpu: () => readCpu(pid), memory: () => readMemory(pid), stop };
}

export interface ChartRepo {
  url: string;
  stop(): Promise<void>;
}

/**
 * `helm package` + `helm repo index` (without `--url`: entries stay relative,
 * Helm 4.1 mangles an http:// base) into a directory served over HTTP on 127.0.0.1.
 */
export async function serveChartRepo(env: BenchEnv, chartDir: string): Promise<ChartRepo> {
  const dir = join(env.cp.dir, 'flux-chart-repo');
  mkdirSync(dir, { recursive: true });
  const helmEnv = { ...env.helmEnv, HOME: env.cp.dir, PATH: process.env['PATH'] ?? '' };
  await execa(env.helm, ['package', chartDir, '--destination', dir], { env: helmEnv, extendEnv: false });
  await execa(env.helm, ['repo', 'index', dir], { env: helmEnv, extendEnv: false });
  const files = new Set(readdirSync(dir));
  const server: Server = createServer((req, res) => {
    const name = basename(new URL(req.url ?? '/', 'http://x').pathname);
    if (req.method !== 'GET' || !files.has(name)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': name.endsWith('.yaml') ? 'application/x-yaml' : 'application/gzip' });
    createReadStream(join(dir, name)).pipe(res);
  });
  const port = await freePort();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const stop = onCleanup('chart repository', () => new Promise<void>((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${port}`, stop };
}
