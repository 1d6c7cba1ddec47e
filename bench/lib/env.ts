// One local control plane (kube-apiserver + etcd, the test harness's
// src/k8s/testenv) with the CRDs installed, plus the helm binary and a
// private helm home: what every Kubernetes scenario starts from.
import { request } from 'node:https';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { KubeConfig } from '@kubernetes/client-node';
import { startControlPlane, type ControlPlane } from '../../src/k8s/testenv/control-plane.ts';
import { locateHelm } from '../../src/k8s/testenv/helm-binary.ts';
import { installCrds } from '../../src/k8s/crds.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { goHelperPath } from '../../src/helm/go-helpers.ts';
import { onCleanup } from './cleanup.ts';
import { groupBy, parseMetrics } from './prom.ts';
import { readCpu } from './proc.ts';

export interface BenchEnv {
  cp: ControlPlane;
  kc: KubeConfig;
  helm: string;
  helmVersion: string;
  /** HELM_*_HOME under the control plane's temp dir (hermetic, removed with it). */
  helmEnv: Record<string, string>;
  /** The compiled post-renderer client and spawner (hack/build-go-helpers.sh); the operator falls back to Node without them. */
  postRenderClient: string | undefined;
  spawner: string | undefined;
  /** apiserver_request_total summed by `verb resource`. */
  apiserverRequests(): Promise<Record<string, number>>;
  /** CPU seconds of etcd and kube-apiserver so far. */
  controlPlaneCpu(): { etcd: number; apiserver: number };
  stop(): Promise<void>;
}

const BUILD_GO_HELPERS = fileURLToPath(new URL('../../hack/build-go-helpers.sh', import.meta.url));

export function log(line: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 23)}] ${line}\n`);
}

export async function startBenchEnv(): Promise<BenchEnv> {
  const helm = await locateHelm();
  const helmVersion = (await execa(helm, ['version', '--short'])).stdout.trim();
  // The operator runs with HOME under the control plane's dir, where the cache lookup would miss: pass the path.
  const built = await execa('bash', [BUILD_GO_HELPERS], { env: { PATH: `${process.env['PATH'] ?? ''}:/usr/local/go/bin` }, reject: false, all: true });
  if (built.exitCode !== 0) log(`Go helpers not built, the operator runs the Node post-renderer and forks helm itself: ${built.all?.slice(-500)}`);
  const postRenderClient = goHelperPath('post-render');
  const spawner = goHelperPath('spawner');
  // No kube-controller-manager: nothing here needs namespace deletion or GC,
  // and its own API traffic would blur the request counts.
  const cp = await startControlPlane({ controllerManager: false, onProgress: (l) => log(`[controlplane build] ${l}`) });
  const stop = onCleanup('control plane', () => cp.stop());
  const kc = new KubeConfig();
  kc.loadFromFile(cp.kubeconfigPath);
  await installCrds(kc, silentLogger());
  const helmEnv = {
    HELM_CACHE_HOME: join(cp.dir, 'helm/cache'),
    HELM_CONFIG_HOME: join(cp.dir, 'helm/config'),
    HELM_DATA_HOME: join(cp.dir, 'helm/data'),
  };
  for (const d of Object.values(helmEnv)) mkdirSync(d, { recursive: true });
  log(`control plane ${cp.server} ready in ${cp.startMillis} ms (binaries from ${cp.binaries.source}); helm ${helmVersion} at ${helm}`);
  const [etcdPid, apiPid] = cp.pids;
  return {
    cp,
    kc,
    helm,
    helmVersion,
    helmEnv,
    postRenderClient,
    spawner,
    apiserverRequests: async () => groupBy(parseMetrics(await apiserverMetrics(cp)), 'apiserver_request_total', ['verb', 'resource']),
    controlPlaneCpu: () => ({ etcd: readCpu(etcdPid!).self, apiserver: readCpu(apiPid!).self }),
    stop,
  };
}

/** kube-apiserver's /metrics with the admin token (the serving cert is self-signed: local only). */
function apiserverMetrics(cp: ControlPlane): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(`${cp.server}/metrics`, { headers: { authorization: `Bearer ${cp.token}` }, rejectUnauthorized: false, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`apiserver /metrics: HTTP ${res.statusCode}`))));
    });
    req.on('timeout', () => req.destroy(new Error('apiserver /metrics timed out')));
    req.on('error', reject);
    req.end();
  });
}
