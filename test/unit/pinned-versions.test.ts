import { readFile } from 'node:fs/promises';
import { ETCD_VERSION, KUBERNETES_VERSION } from '../../src/k8s/testenv/versions.ts';

const read = (p: string) => readFile(new URL(`../../${p}`, import.meta.url), 'utf8');

describe('pinned control-plane versions', () => {
  it('agree between versions.ts, versions.env and the Go module', async () => {
    const env = await read('hack/controlplane/versions.env');
    expect(env).toContain(`KUBERNETES_VERSION=${KUBERNETES_VERSION}`);
    expect(env).toContain(`ETCD_VERSION=${ETCD_VERSION}`);
    const gomod = await read('hack/controlplane/go.mod');
    expect(gomod).toContain(`k8s.io/kubernetes v${KUBERNETES_VERSION}`);
    expect(gomod).toContain(`go.etcd.io/etcd/server/v3 v${ETCD_VERSION}`);
  });
});
