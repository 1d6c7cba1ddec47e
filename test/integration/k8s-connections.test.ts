// Requests through clients built from one loaded KubeConfig reuse keep-alive
// connections to the API server instead of TLS-handshaking a new one each.
import { channel } from 'node:diagnostics_channel';
import * as k8s from '@kubernetes/client-node';
import { loadKubeConfig } from '../../src/k8s/client.ts';

const REQUESTS = 20;

describe('API-server connections of a loaded KubeConfig', () => {
  const connected = channel('undici:client:connected');
  let count = 0;
  const onConnected = (): void => {
    count++;
  };
  beforeAll(() => connected.subscribe(onConnected));
  afterAll(() => connected.unsubscribe(onConnected));

  async function connectionsFor(kc: k8s.KubeConfig): Promise<number> {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
    count = 0;
    for (let i = 0; i < REQUESTS; i++) {
      await core.readNamespace({ name: 'default' });
      await objects.read({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kube-system' } });
    }
    return count;
  }

  // If a client-node release starts reusing connections itself, this fails: shareConnections can then go.
  it('opens a connection per request with client-node alone (what the fix is for)', async () => {
    const plain = new k8s.KubeConfig();
    plain.loadFromFile(process.env['CAELUS_TEST_KUBECONFIG']!);
    expect(await connectionsFor(plain)).toBeGreaterThanOrEqual(2 * REQUESTS);
  });

  it('reuses connections across requests and API clients', async () => {
    const { kc } = loadKubeConfig(process.env['CAELUS_TEST_KUBECONFIG']);
    // Sequential requests need one connection; allow one more for a server-side close.
    expect(await connectionsFor(kc)).toBeLessThanOrEqual(2);
  });
});
