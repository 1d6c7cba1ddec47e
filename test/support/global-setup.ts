// Starts the one control plane shared by every integration test file of a run
// and hands its coordinates to the test workers through the environment.
import { startControlPlane, type ControlPlane } from '../../src/k8s/testenv/control-plane.ts';
import { locateHelm } from '../../src/k8s/testenv/helm-binary.ts';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { KubeConfig } from '@kubernetes/client-node';
import { installCrds } from '../../src/k8s/crds.ts';
import { silentLogger } from '../../src/observability/logger.ts';

declare global {
  var __CAELUS_CONTROL_PLANE__: ControlPlane | undefined;
}

export default async function globalSetup(): Promise<void> {
  const t0 = Date.now();
  const helm = await locateHelm();
  const { stdout: helmVersion } = await execa(helm, ['version', '--short']);
  // The compiled post-renderer client and spawner every HelmClient uses when built (seconds; a no-op when cached).
  await execa('bash', [fileURLToPath(new URL('../../hack/build-go-helpers.sh', import.meta.url))], {
    env: { PATH: `${process.env['PATH'] ?? ''}:/usr/local/go/bin` },
  });
  const cp = await startControlPlane({ onProgress: (l) => process.stderr.write(`[controlplane build] ${l}\n`) });
  globalThis.__CAELUS_CONTROL_PLANE__ = cp;
  process.env['KUBECONFIG'] = cp.kubeconfigPath;
  process.env['CAELUS_TEST_KUBECONFIG'] = cp.kubeconfigPath;
  process.env['HELM_BIN'] = helm;
  const kc = new KubeConfig();
  kc.loadFromFile(cp.kubeconfigPath);
  await installCrds(kc, silentLogger());
  // Helm keeps caches and its repository config under HOME; keep tests hermetic.
  process.env['HELM_CACHE_HOME'] = `${cp.dir}/helm/cache`;
  process.env['HELM_CONFIG_HOME'] = `${cp.dir}/helm/config`;
  process.env['HELM_DATA_HOME'] = `${cp.dir}/helm/data`;
  process.stderr.write(
    `\n[caelus test env] control plane ${cp.server} (binaries from ${cp.binaries.source}) ready in ${cp.startMillis} ms; ` +
      `helm ${helmVersion.trim()} at ${helm}; setup ${Date.now() - t0} ms\n`,
  );
}
