import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { startControlPlane, type ControlPlane } from '../k8s/testenv/control-plane.ts';
import { locateHelm } from '../k8s/testenv/helm-binary.ts';
import { openMigratedDatabase } from '../db/commands.ts';
import type { DatabaseHandle } from '../db/connect.ts';

export const SAMPLE_CHART = fileURLToPath(new URL('../../charts/webapp', import.meta.url));

export interface DevOptions {
  out?: (line: string) => void;
  signal?: AbortSignal;
}

/**
 * `caelus dev`: a local control plane with a sample release, up until the
 * signal aborts (Ctrl-C). Later stages add the database, operator and API.
 */
export async function runDev(opts: DevOptions = {}): Promise<void> {
  const out = opts.out ?? ((l: string) => process.stdout.write(`${l}\n`));
  out('caelus dev: locating helm and the control-plane binaries (a first run builds them: many minutes)');
  const helm = await locateHelm();
  let cp: ControlPlane | undefined;
  let database: DatabaseHandle | undefined;
  try {
    // PGlite under .caelus/db unless DATABASE_URL is set; always at the latest schema.
    database = await openMigratedDatabase(out);
    cp = await startControlPlane({ onProgress: (l) => out(`  [build] ${l}`) });
    out(`control plane ready at ${cp.server} in ${cp.startMillis} ms`);
    await execa(helm, [
      'upgrade', '--install', 'sample', SAMPLE_CHART,
      '--namespace', 'caelus-sample', '--create-namespace',
      '--kubeconfig', cp.kubeconfigPath,
    ]);
    out('sample chart installed as release "sample" in namespace caelus-sample');
    out(`export KUBECONFIG=${cp.kubeconfigPath}`);
    out('caelus dev is ready (Ctrl-C to stop)');
    await new Promise<void>((resolve) => {
      if (opts.signal?.aborted) return resolve();
      opts.signal?.addEventListener('abort', () => resolve(), { once: true });
    });
  } finally {
    await cp?.stop();
    await database?.destroy();
    out('caelus dev stopped');
  }
}
