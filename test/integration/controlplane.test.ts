import { access } from 'node:fs/promises';
import * as k8s from '@kubernetes/client-node';
import { startControlPlane, type ControlPlane } from '../../src/k8s/testenv/control-plane.ts';
import { testKubeConfig, uniqueName } from '../support/kube.ts';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('local control plane', () => {
  it('serves the shared test run: namespaces can be listed and created', async () => {
    const core = testKubeConfig().makeApiClient(k8s.CoreV1Api);
    const name = uniqueName('cp');
    await core.createNamespace({ body: { metadata: { name } } });
    const list = await core.listNamespace();
    const names = list.items.map((n) => n.metadata?.name);
    expect(names).toEqual(expect.arrayContaining(['default', 'kube-system', name]));
  });

  it('starts its own instance, accepts a CRD and a custom resource, and stops leaving nothing behind', async () => {
    let cp: ControlPlane | undefined = await startControlPlane({ controllerManager: false });
    try {
      const kc = new k8s.KubeConfig();
      kc.loadFromFile(cp.kubeconfigPath);
      const ready = await fetchReadyz(cp);
      expect(ready).toBe('ok');

      const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
      await ext.createCustomResourceDefinition({
        body: {
          metadata: { name: 'widgets.test.caelus.io' },
          spec: {
            group: 'test.caelus.io',
            scope: 'Namespaced',
            names: { plural: 'widgets', singular: 'widget', kind: 'Widget' },
            versions: [
              {
                name: 'v1',
                served: true,
                storage: true,
                schema: {
                  openAPIV3Schema: {
                    type: 'object',
                    properties: { spec: { type: 'object', properties: { size: { type: 'integer' } } } },
                  },
                },
              },
            ],
          },
        },
      });
      const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
      // The CRD is served a moment after it is Established.
      let created: k8s.KubernetesObject | undefined;
      for (let i = 0; i < 100 && !created; i++) {
        try {
          created = await objects.create({
            apiVersion: 'test.caelus.io/v1',
            kind: 'Widget',
            metadata: { name: 'w1', namespace: 'default' },
            spec: { size: 3 },
          } as k8s.KubernetesObject);
        } catch {
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      expect(created).toBeDefined();
      const read = (await objects.read({
        apiVersion: 'test.caelus.io/v1',
        kind: 'Widget',
        metadata: { name: 'w1', namespace: 'default' },
      })) as k8s.KubernetesObject & { spec: { size: number } };
      expect(read.spec.size).toBe(3);

      const { pids, dir } = cp;
      await cp.stop();
      cp = undefined;
      for (const pid of pids) expect(alive(pid)).toBe(false);
      await expect(access(dir)).rejects.toThrow();
    } finally {
      await cp?.stop();
    }
  });
});

async function fetchReadyz(cp: ControlPlane): Promise<string> {
  const { Agent, request } = await import('node:https');
  const agent = new Agent({ rejectUnauthorized: false });
  return new Promise((resolve, reject) => {
    const req = request(`${cp.server}/readyz`, { agent, headers: { authorization: `Bearer ${cp.token}` } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
}
