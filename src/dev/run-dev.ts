import { fileURLToPath } from 'node:url';
import { KubeConfig, CustomObjectsApi } from '@kubernetes/client-node';
import { startControlPlane, type ControlPlane } from '../k8s/testenv/control-plane.ts';
import { locateHelm } from '../k8s/testenv/helm-binary.ts';
import { installCrds } from '../k8s/crds.ts';
import { openMigratedDatabase } from '../db/commands.ts';
import type { DatabaseHandle } from '../db/connect.ts';
import { operatorConfig } from '../config/operator.ts';
import { API_VERSION, KIND, type CaelusInstance } from '../domain/instance.ts';
import { createLogger } from '../observability/logger.ts';
import { createMetrics } from '../observability/metrics.ts';
import { createOperatorRuntime, type OperatorRuntime } from '../operator/run-operator.ts';

export const DEV_CATALOG = fileURLToPath(new URL('../../charts/catalog.yaml', import.meta.url));

export interface DevOptions {
  out?: (line: string) => void;
  signal?: AbortSignal;
}

const SAMPLE: CaelusInstance = {
  apiVersion: API_VERSION,
  kind: KIND,
  metadata: { name: 'sample' },
  spec: { userId: 'dev', productTemplateVersion: 'webapp@1.0.0', domainName: 'sample.localhost', values: { message: 'hello from caelus dev' } },
};

/**
 * `caelus dev`: everything on this machine until Ctrl-C. A local control plane
 * (unless KUBECONFIG is set), the database (PGlite unless DATABASE_URL is
 * set), the CRD, and the operator with the example catalog; a sample
 * instance shows the loop working.
 */
export async function runDev(opts: DevOptions = {}): Promise<void> {
  const out = opts.out ?? ((l: string) => process.stdout.write(`${l}\n`));
  out('caelus dev: locating helm and the control-plane binaries (a first run builds them: many minutes)');
  const helm = await locateHelm();
  let cp: ControlPlane | undefined;
  let database: DatabaseHandle | undefined;
  let runtime: OperatorRuntime | undefined;
  try {
    database = await openMigratedDatabase(out);
    let kubeconfig = process.env['KUBECONFIG'];
    if (!kubeconfig) {
      cp = await startControlPlane({ onProgress: (l) => out(`  [build] ${l}`) });
      kubeconfig = cp.kubeconfigPath;
      out(`control plane ready at ${cp.server} in ${cp.startMillis} ms`);
    }
    const log = createLogger({ name: 'caelus-dev', level: process.env['LOG_LEVEL'] ?? 'warn' });
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    await installCrds(kc, log);
    const config = operatorConfig({
      kubeconfig,
      helmBin: helm,
      catalogFile: process.env['CAELUS_CATALOG'] ?? DEV_CATALOG,
      leaderElection: false,
      // No kubelet on the local control plane: never wait for pods.
      helmRollbackOnFailure: false,
      metricsPort: process.env['CAELUS_METRICS_PORT'] ?? '0',
      metricsHost: '127.0.0.1',
    });
    runtime = await createOperatorRuntime(config, { log, metrics: createMetrics() });
    await runtime.start();
    const api = kc.makeApiClient(CustomObjectsApi);
    await api
      .createClusterCustomObject({ group: 'caelus.io', version: 'v1', plural: 'caelusinstances', body: SAMPLE })
      .catch((err: unknown) => {
        if ((err as { code?: number }).code !== 409) throw err;
      });
    out(`operator running (metrics ${runtime.healthUrl}/metrics); sample CaelusInstance "sample" created`);
    out(`  export KUBECONFIG=${kubeconfig}`);
    out('  kubectl get caelusinstances');
    out('caelus dev is ready (Ctrl-C to stop)');
    await new Promise<void>((resolve) => {
      if (opts.signal?.aborted) return resolve();
      opts.signal?.addEventListener('abort', () => resolve(), { once: true });
    });
  } finally {
    await runtime?.stop();
    await cp?.stop();
    await database?.destroy();
    out('caelus dev stopped');
  }
}
