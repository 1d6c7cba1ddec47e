// `caelus operator` as a child process in its own process group, so a test can
// SIGKILL it together with the helm it is running (as a crashed pod would).
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { helmBin } from './kube.ts';
import { SHARD_LABEL, TEST_CATALOG } from './operator.ts';
import { spawnProcessGroup, type ProcessGroup } from './process-group.ts';

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));

export type OperatorProcess = ProcessGroup;

export function spawnOperator(shard: string, identity: string, env: Record<string, string> = {}): OperatorProcess {
  return spawnProcessGroup(process.execPath, [CLI, 'operator', '--instance-selector', `${SHARD_LABEL}=${shard}`], {
    logFile: join(tmpdir(), `caelus-${identity}.log`),
    env: {
      KUBECONFIG: process.env['CAELUS_TEST_KUBECONFIG']!,
      HELM_BIN: helmBin(),
      CAELUS_CATALOG: TEST_CATALOG,
      CAELUS_IDENTITY: identity,
      CAELUS_LEASE_NAME: `caelus-${shard}`,
      CAELUS_LEASE_NAMESPACE: 'caelus-test-leases',
      CAELUS_LEASE_DURATION_SECONDS: '3',
      CAELUS_METRICS_PORT: '0',
      CAELUS_METRICS_HOST: '127.0.0.1',
      CAELUS_BACKOFF_BASE_MS: '500',
      CAELUS_HELM_ROLLBACK_ON_FAILURE: 'false',
      LOG_LEVEL: 'debug',
      ...env,
    },
  });
}
