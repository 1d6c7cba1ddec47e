// The compiled post-renderer client (hack/post-render/main.go) and its server
// in the operator process (src/helm/post-render/server.ts) against the Node
// post-renderer it replaces: same bytes out, same refusals, only for helm runs
// this process started, and a real `helm upgrade --install` through each
// stores the same manifest. Runs with Helm 4, and with Helm 3 in the Helm 3 pass.
import { execFile } from 'node:child_process';
import { lstatSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import type { ChartReference } from '../../src/domain/catalog.ts';
import { HelmClient } from '../../src/helm/index.ts';
import { PostRenderServer } from '../../src/helm/post-render/server.ts';
import { goHelperPath } from '../../src/helm/go-helpers.ts';
import { nodePostRenderer, privateWorkDir, sharedPostRenderer } from '../../src/helm/post-render/setup.ts';
import { helmBin, testKubeConfig, uniqueName } from '../support/kube.ts';

const webapp: ChartReference = { kind: 'local', path: fileURLToPath(new URL('../../charts/webapp', import.meta.url)) };
const expectedMajor = process.env['CAELUS_HELM_MAJOR'] === '3' ? 3 : 4;

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], input: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = execFile(command, args, (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
    child.stdin!.end(input);
  });
}

// What helm hands a post-renderer, with the scalars a YAML 1.2 round trip would change.
const manifest = [
  '# Source: demo/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  labels:\n    tier: "web"\ndata:\n  mode: 0777\n  enabled: yes\n',
  'apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: Service\n    metadata:\n      name: s\n',
  '',
].join('---\n');
const forbidden = 'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: everything\n';

describe(`compiled post-renderer client (Helm ${expectedMajor})`, () => {
  const client = goHelperPath('post-render');
  const node = nodePostRenderer();
  let server: PostRenderServer;

  beforeAll(async () => {
    if (client === undefined) throw new Error('the post-renderer client is not built: run hack/build-go-helpers.sh (test/support/global-setup.ts does)');
    server = await PostRenderServer.start(join(privateWorkDir(), 'test-post-render.sock'));
  });
  afterAll(() => server.close());

  const viaNode = (args: string[], input: string) => run(node.command, [...node.args, ...args], input);
  const viaClient = (token: string | undefined, args: string[], input: string) =>
    run(client!, [server.socketPath, ...(token !== undefined ? [token] : []), ...args], input);

  it.each([
    ['labels only', ['caelus.io/instance=demo', 'caelus.io/tenant=acme'], manifest],
    ['an allowed manifest under the policy', ['--namespace=team-a', '--allow-kind=Service', 'caelus.io/instance=demo'], manifest],
    ['an invalid label', ['bad key=x'], manifest],
    ['a document that is not an object', ['caelus.io/instance=demo'], '- a\n- b\n'],
    ['an empty stream', ['caelus.io/instance=demo'], ''],
  ])('prints byte for byte what the Node post-renderer prints: %s', async (_name, args, input) => {
    const grant = server.grant();
    try {
      const [fromNode, fromClient] = await Promise.all([viaNode(args, input), viaClient(grant.arg, args, input)]);
      expect(fromClient).toEqual(fromNode);
    } finally {
      grant.revoke();
    }
  });

  it('refuses what the kinds policy forbids like the Node post-renderer: exit 3, the same report, nothing on stdout', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'caelus-pr-client-'));
    const args = (file: string) => ['--namespace=team-a', `--report=${join(dir, file)}`, 'caelus.io/instance=demo'];
    const grant = server.grant();
    const [fromNode, fromClient] = await Promise.all([viaNode(args('node.json'), forbidden), viaClient(grant.arg, args('client.json'), forbidden)]);
    grant.revoke();
    expect(fromClient).toEqual(fromNode);
    expect(fromClient.code).toBe(3);
    expect(fromClient.stdout).toBe('');
    expect(readFileSync(join(dir, 'client.json'), 'utf8')).toBe(readFileSync(join(dir, 'node.json'), 'utf8'));
    expect(readFileSync(join(dir, 'client.json'), 'utf8')).toContain('ClusterRole/everything');
  });

  it('renders nothing for a call that is not a helm run this process started', async () => {
    const grant = server.grant();
    grant.revoke();
    for (const token of [undefined, '--token=guessed', grant.arg]) {
      const r = await viaClient(token, ['caelus.io/instance=demo'], manifest);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^caelus post-renderer: refused: not a helm run this operator started/);
    }
  });

  it('fails, so helm aborts, when the operator cannot be reached', async () => {
    const r = await run(client!, [join(privateWorkDir(), 'no-such.sock'), 'caelus.io/instance=demo'], manifest);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^caelus post-renderer: cannot reach the operator/);
  });

  it('listens only where our own user can reach it', () => {
    const dir = lstatSync(privateWorkDir());
    expect(dir.mode & 0o777).toBe(0o700);
    expect(dir.uid).toBe(process.getuid!());
    expect(lstatSync(server.socketPath).mode & 0o077).toBe(0);
  });

  describe('through a real helm upgrade --install', () => {
    const kc = testKubeConfig();
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const namespaces: string[] = [];
    const env = {
      HELM_CACHE_HOME: process.env['HELM_CACHE_HOME'],
      HELM_CONFIG_HOME: process.env['HELM_CONFIG_HOME'],
      HELM_DATA_HOME: process.env['HELM_DATA_HOME'],
    };
    const kubeconfigPath = process.env['CAELUS_TEST_KUBECONFIG']!;
    afterAll(async () => {
      for (const name of namespaces) await core.deleteNamespace({ name }).catch(() => undefined);
    });

    it('stores the same manifest as with the Node post-renderer, and the default is the compiled client', async () => {
      const shared = await sharedPostRenderer();
      expect(shared.spec.command).toBe(client);
      const withClient = new HelmClient({ binary: helmBin(), kubeconfigPath, env });
      const withNode = new HelmClient({ binary: helmBin(), kubeconfigPath, env, postRenderer: node, pluginsDir: join(privateWorkDir(), 'node-plugins') });
      const manifests: string[] = [];
      for (const helm of [withClient, withNode]) {
        const ns = uniqueName('pr-client');
        await core.createNamespace({ body: { metadata: { name: ns } } });
        namespaces.push(ns);
        const release = await helm.upgradeInstall({
          release: 'web',
          namespace: ns,
          chart: webapp,
          values: { message: 'same', persistence: { enabled: false } },
          timeoutSeconds: 60,
          labels: { 'caelus.io/instance': 'web-demo' },
          policy: { allowedKinds: [], allowedClusterRoles: [], reserved: [] },
        });
        expect(release.status).toBe('deployed');
        manifests.push(release.manifest.replaceAll(ns, '<ns>'));
      }
      expect(manifests[0]).toContain('"caelus.io/instance": "web-demo"');
      expect(manifests[0]).toBe(manifests[1]);
    });
  });
});
