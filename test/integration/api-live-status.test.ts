// The API's live status against the real API server: answers come from a
// watch of CaelusInstances once it is live (no request per read), follow
// status changes and deletes, and ignore a CR that is not the instance's.
import * as k8s from '@kubernetes/client-node';
import { ClusterLiveStatusReader } from '../../src/api/live-status.ts';
import type { TenantInstance } from '../../src/db/repositories/tenant-instances.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { eventually, testKubeConfig, uniqueName } from '../support/kube.ts';
import { SHARD_LABEL } from '../support/operator.ts';

const GVP = { group: 'caelus.io', version: 'v1', plural: 'caelusinstances' };

/** The test kubeconfig, recording the method and path of every request made with it. */
function recording(kc: k8s.KubeConfig): { kc: k8s.KubeConfig; requests: string[] } {
  const requests: string[] = [];
  const wrapped = Object.create(kc) as k8s.KubeConfig;
  wrapped.applySecurityAuthentication = async (ctx: k8s.RequestContext) => {
    const url = new URL(ctx.getUrl());
    requests.push(`${ctx.getHttpMethod()} ${url.pathname}${url.searchParams.get('watch') ? '?watch' : ''}`);
    await kc.applySecurityAuthentication(ctx);
  };
  return { kc: wrapped, requests };
}

describe('ClusterLiveStatusReader against the control plane', () => {
  const kc = testKubeConfig();
  const objects = kc.makeApiClient(k8s.CustomObjectsApi);
  const name = uniqueName('live');
  const instance = { id: 'i-1', userId: 'dora', namespace: name } as unknown as TenantInstance;
  let reader: ClusterLiveStatusReader | undefined;

  async function setPhase(phase: string, userId = 'dora'): Promise<void> {
    await objects.patchClusterCustomObject({ ...GVP, name, body: { spec: { userId } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
    await objects.patchClusterCustomObjectStatus(
      { ...GVP, name, body: { status: { phase, conditions: [{ type: 'Ready', status: 'True', reason: 'InstallSucceeded', message: phase, lastTransitionTime: new Date().toISOString() }] } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
  }

  beforeAll(async () => {
    await objects.createClusterCustomObject({
      ...GVP,
      // A shard no operator watches: this CR is only read, never reconciled.
      body: { apiVersion: 'caelus.io/v1', kind: 'CaelusInstance', metadata: { name, labels: { [SHARD_LABEL]: uniqueName('none') } }, spec: { userId: 'dora', productTemplateVersion: 'webapp@1.0.0' } },
    });
    await setPhase('Running');
  });
  afterAll(async () => {
    await reader?.close();
    await objects.deleteClusterCustomObject({ ...GVP, name }).catch(() => undefined);
  });

  test('reads from the watch once it is live, follows changes, and ignores a CR of another user', async () => {
    const { kc: counted, requests } = recording(kc);
    reader = new ClusterLiveStatusReader(counted, silentLogger());
    // Before the watch has listed, a read asks the server: the answer is never missing for lack of a cache.
    expect(await reader.read(instance)).toMatchObject({ phase: 'Running', conditions: [{ type: 'Ready', reason: 'InstallSucceeded' }] });
    expect(requests).toContain(`GET /apis/caelus.io/v1/caelusinstances/${name}`);

    // Once live, reads make no request at all.
    await eventually(async () => {
      const before = requests.length;
      await reader!.read(instance);
      return requests.length === before ? true : undefined;
    }, 10_000, 50);
    const before = requests.length;
    for (let i = 0; i < 50; i++) expect(await reader.read(instance)).toMatchObject({ phase: 'Running' });
    expect(requests.slice(before)).toEqual([]);

    await setPhase('Failed');
    await eventually(async () => ((await reader!.read(instance))?.phase === 'Failed' ? true : undefined), 5_000, 20);

    // Same name, another user's CR: not this instance's.
    await setPhase('Running', 'mallory');
    await eventually(async () => ((await reader!.read(instance)) === undefined ? true : undefined), 5_000, 20);

    await setPhase('Running');
    await eventually(async () => ((await reader!.read(instance))?.phase === 'Running' ? true : undefined), 5_000, 20);
    await objects.deleteClusterCustomObject({ ...GVP, name });
    await eventually(async () => ((await reader!.read(instance)) === undefined ? true : undefined), 5_000, 20);
    expect(requests.slice(before).filter((r) => r.startsWith('GET /apis/caelus.io/v1/caelusinstances/'))).toEqual([]);

    // Closed: the watch stops, and reads go back to asking the server.
    await reader.close();
    const afterClose = requests.length;
    expect(await reader.read(instance)).toBeUndefined();
    expect(requests.slice(afterClose)).toEqual([`GET /apis/caelus.io/v1/caelusinstances/${name}`]);
  });
});
