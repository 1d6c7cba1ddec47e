import { HttpMethod, KubeConfig, RequestContext } from '@kubernetes/client-node';
import type { Dispatcher } from 'undici';
import { shareConnections } from '../../../src/k8s/connections.ts';

const SERVER = 'https://127.0.0.1:6443';

function config(caData: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: SERVER, caData }],
    users: [{ name: 'u', certData: Buffer.from('cert').toString('base64'), keyData: Buffer.from('key').toString('base64') }],
    contexts: [{ name: 'ctx', cluster: 'c', user: 'u' }],
    currentContext: 'ctx',
  });
  return kc;
}

async function dispatcherOf(kc: KubeConfig): Promise<Dispatcher | undefined> {
  const ctx = new RequestContext(`${SERVER}/api/v1/namespaces`, HttpMethod.GET);
  await kc.applySecurityAuthentication(ctx);
  return ctx.getDispatcher();
}

describe('shareConnections', () => {
  it('client-node alone gives every request its own Agent (the behaviour replaced)', async () => {
    const kc = config(Buffer.from('ca-1').toString('base64'));
    const a = await dispatcherOf(kc);
    expect(a).toBeDefined();
    expect(await dispatcherOf(kc)).not.toBe(a);
  });

  it('gives every request of the same TLS identity the same Agent', async () => {
    const kc = shareConnections(config(Buffer.from('ca-1').toString('base64')));
    const a = await dispatcherOf(kc);
    expect(a).toBeDefined();
    expect(await dispatcherOf(kc)).toBe(a);
    expect(shareConnections(kc)).toBe(kc);
    expect(await dispatcherOf(kc)).toBe(a);
  });

  it('builds a new Agent once the TLS material changed (rotation, noticed within 5 s) and closes the old one', async () => {
    let now = 0;
    const kc = shareConnections(config(Buffer.from('ca-1').toString('base64')), () => now);
    const before = await dispatcherOf(kc);
    const rotated = config(Buffer.from('ca-2').toString('base64')).getCluster('c')!;
    kc.clusters = [rotated];
    now = 4_999;
    expect(await dispatcherOf(kc)).toBe(before);
    now = 5_000;
    const after = await dispatcherOf(kc);
    expect(after).toBeDefined();
    expect(after).not.toBe(before);
    expect(await dispatcherOf(kc)).toBe(after);
    expect((before as unknown as { closed: boolean }).closed).toBe(true);
  });
});
