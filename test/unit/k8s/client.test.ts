import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { KubeConfigError, loadKubeConfig } from '../../../src/k8s/client.ts';

function kubeconfig(server: string, ctx = 'c'): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: ctx, cluster: { server } }],
    users: [{ name: ctx, user: { token: 't' } }],
    contexts: [{ name: ctx, context: { cluster: ctx, user: ctx } }],
    'current-context': ctx,
  });
}

describe('loadKubeConfig', () => {
  let dir: string;
  let home: string;
  let sa: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'caelus-kc-'));
    home = join(dir, 'home');
    sa = join(dir, 'var/run/secrets/kubernetes.io/serviceaccount');
    await mkdir(join(home, '.kube'), { recursive: true });
    await mkdir(sa, { recursive: true });
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('prefers an explicit path over everything else', async () => {
    const p = join(dir, 'explicit.yaml');
    await writeFile(p, kubeconfig('https://explicit:6443'));
    await writeFile(join(dir, 'env.yaml'), kubeconfig('https://env:6443'));
    const got = loadKubeConfig(p, { env: { KUBECONFIG: join(dir, 'env.yaml') }, homeDir: home });
    expect(got).toMatchObject({ source: 'explicit', location: p, server: 'https://explicit:6443' });
  });

  it('uses KUBECONFIG next, merging several files with the first one current', async () => {
    const a = join(dir, 'a.yaml');
    const b = join(dir, 'b.yaml');
    await writeFile(a, kubeconfig('https://a:6443', 'a'));
    await writeFile(b, kubeconfig('https://b:6443', 'b'));
    const got = loadKubeConfig(undefined, { env: { KUBECONFIG: `${a}:${b}` }, homeDir: home });
    expect(got.source).toBe('env');
    expect(got.server).toBe('https://a:6443');
    expect(got.kc.getContexts().map((c) => c.name).sort()).toEqual(['a', 'b']);
  });

  it('fails (does not fall through) when an explicit file is unreadable', () => {
    expect(() => loadKubeConfig(join(dir, 'missing.yaml'), { env: {}, homeDir: home })).toThrow(KubeConfigError);
  });

  it('uses the in-cluster service account when KUBERNETES_SERVICE_HOST and a token exist', async () => {
    await writeFile(join(sa, 'token'), 'tok');
    await writeFile(join(sa, 'ca.crt'), 'ca');
    await writeFile(join(sa, 'namespace'), 'caelus-system\n');
    await writeFile(join(home, '.kube', 'config'), kubeconfig('https://home:6443'));
    const got = loadKubeConfig(undefined, {
      env: { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' },
      homeDir: home,
      serviceAccountDir: sa,
    });
    expect(got).toMatchObject({ source: 'in-cluster', server: 'https://[fd00::1]:443' });
    expect(got.kc.getContextObject(got.kc.getCurrentContext())?.namespace).toBe('caelus-system');
  });

  it('falls back to ~/.kube/config', async () => {
    await writeFile(join(home, '.kube', 'config'), kubeconfig('https://home:6443'));
    const got = loadKubeConfig(undefined, { env: {}, homeDir: home, serviceAccountDir: sa });
    expect(got).toMatchObject({ source: 'default', server: 'https://home:6443' });
  });

  it('throws a KubeConfigError listing every attempt when nothing is found', () => {
    let caught: unknown;
    try {
      loadKubeConfig(undefined, { env: {}, homeDir: home, serviceAccountDir: sa });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(KubeConfigError);
    const err = caught as KubeConfigError;
    expect(err.attempts).toHaveLength(3);
    expect(err.message).toMatch(/KUBECONFIG: not set/);
    expect(err.message).toMatch(/KUBERNETES_SERVICE_HOST not set/);
    expect(err.message).toMatch(/does not exist/);
  });

  it('rejects a kubeconfig without a current cluster', async () => {
    const p = join(dir, 'empty.yaml');
    await writeFile(p, stringify({ apiVersion: 'v1', kind: 'Config', clusters: [], users: [], contexts: [] }));
    expect(() => loadKubeConfig(p, { env: {} })).toThrow(/no usable current cluster/);
  });
});
