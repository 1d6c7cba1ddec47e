import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { addLabels, PostRenderError } from '../../../src/helm/post-render/add-labels.ts';
import { nodePostRenderer, pluginManifest } from '../../../src/helm/post-render/setup.ts';
import { policyArgs } from '../../../src/helm/args.ts';
import { kindsPolicyFor } from '../../../src/operator/kinds-policy.ts';

const labels = { 'caelus.io/instance': 'demo', 'caelus.io/flag': 'true' };

// The shape helm hands a post-renderer: `---` separated documents with `# Source:` comments.
const rendered = `---
# Source: webapp/templates/configmap.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
  labels:
    app.kubernetes.io/name: webapp
    caelus.io/instance: chart-set-this
data:
  mode: 0777
  enabled: yes
  quoted: "0777"
  text: |
    line one
      indented
---
# Source: webapp/templates/empty.yaml
---
# Source: webapp/templates/service.yaml
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  ports: [{port: 80}]
---
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Secret
    metadata: {name: s}
    stringData: {k: v}
`;

// Loosely typed on purpose: the tests index into arbitrary manifests.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = Record<string, any>;

function objects(stream: string): Loose[] {
  // Read back the way Kubernetes tooling would (YAML 1.1 like Go's parser).
  return parseAllDocuments(stream, { version: '1.1' })
    .map((d) => d.toJSON() as Loose | null)
    .filter((o): o is Loose => o !== null);
}

describe('addLabels', () => {
  const out = addLabels(rendered, labels);
  const objs = objects(out);

  it('labels every object, overriding a chart value for our key and keeping the chart’s own labels', () => {
    expect(objs.map((o) => o['kind'])).toEqual(['ConfigMap', 'Service', 'List']);
    expect(objs[0]!['metadata'].labels).toEqual({ 'app.kubernetes.io/name': 'webapp', ...labels });
    expect(objs[1]!['metadata'].labels).toEqual(labels);
    expect(objs[2]!['items'][0].metadata.labels).toEqual(labels);
  });

  it('keeps label values strings ("true" stays a string)', () => {
    expect(objs[1]!['metadata'].labels['caelus.io/flag']).toBe('true');
  });

  it('leaves every other scalar exactly as helm wrote it (YAML 1.1 octal and booleans survive)', () => {
    expect(out).toContain('  mode: 0777\n');
    expect(out).toContain('  enabled: yes\n');
    expect(out).toContain('  quoted: "0777"\n');
    expect(out).toContain('  text: |\n    line one\n      indented\n');
    expect(out).toContain('# Source: webapp/templates/configmap.yaml');
    expect(objs[0]!['data']).toEqual({ mode: 511, enabled: true, quoted: '0777', text: 'line one\n  indented\n' });
  });

  it('drops empty documents and returns an empty stream for empty input', () => {
    expect(out.match(/^---$/gm)).toHaveLength(3);
    expect(addLabels('', labels)).toBe('');
    expect(addLabels('---\n# nothing\n', labels)).toBe('');
  });

  it('creates metadata and labels when missing or null', () => {
    const o = objects(addLabels('apiVersion: v1\nkind: ConfigMap\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  labels:\n', { a: 'b' }));
    expect(o[0]!['metadata']).toEqual({ labels: { a: 'b' } });
    expect(o[1]!['metadata']).toEqual({ name: 'a', labels: { a: 'b' } });
  });

  it.each([
    ['- a\n- b\n', /not a mapping/],
    ['kind: X\nmetadata: [1]\n', /metadata is not a mapping/],
    ['kind: X\nmetadata:\n  labels: [1]\n', /labels is not a mapping/],
    ['kind: X\nmetadata: {name: [unclosed\n', /document 1/],
  ])('refuses %j', (input, message) => {
    expect(() => addLabels(input, labels)).toThrow(PostRenderError);
    expect(() => addLabels(input, labels)).toThrow(message);
  });
});

describe('post-render entry point (the process helm runs)', () => {
  const pr = nodePostRenderer();
  const run = (args: string[], input: string) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(pr.command, [...pr.args, ...args], (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
      child.stdin!.end(input);
    });

  it('reads stdin, writes labelled manifests to stdout', async () => {
    const r = await run(['caelus.io/instance=demo'], 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n');
    expect(r.code).toBe(0);
    expect(objects(r.stdout)[0]!['metadata'].labels).toEqual({ 'caelus.io/instance': 'demo' });
  });

  it('exits non-zero with a message for an invalid label, so helm aborts', async () => {
    const r = await run(['bad key=x'], 'kind: X\n');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^caelus post-renderer: invalid labels/);
  });

  it('refuses a manifest the kinds policy forbids: exit 3, violations in the report file, nothing on stdout', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'caelus-pr-test-'));
    const report = join(dir, 'violations.json');
    const manifest = [
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fine\n',
      'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: everything\n',
      'apiVersion: v1\nkind: Secret\nmetadata:\n  name: sh.helm.release.v1.web.v99\n  labels:\n    owner: helm\n',
      'apiVersion: v1\nkind: Secret\nmetadata:\n  name: web-secrets\n',
    ].join('---\n');
    const r = await run(['--namespace=team-a', '--reserve=Secret/web-secrets', `--report=${report}`, 'caelus.io/instance=demo'], manifest);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('ClusterRole/everything');
    const { violations } = JSON.parse(readFileSync(report, 'utf8')) as { violations: Array<{ reason: string; kind: string; name: string }> };
    expect(violations.map((v) => [v.reason, `${v.kind}/${v.name}`])).toEqual([
      ['ClusterScoped', 'ClusterRole/everything'],
      ['HelmStorage', 'Secret/sh.helm.release.v1.web.v99'],
      ['Reserved', 'Secret/web-secrets'],
    ]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses RoleBinding subjects outside the namespace and Caelus\'s own accounts, with the arguments the operator passes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'caelus-pr-test-'));
    const report = join(dir, 'violations.json');
    // The policy exactly as the release step builds it: the reserved ServiceAccounts come from domain/tenant.ts.
    const policy = kindsPolicyFor({}, { metadata: { name: 'web' } }, 'team-a');
    const args = policyArgs({ namespace: 'team-a', allowedKinds: [], allowedClusterRoles: [], reserved: policy.reserved ?? [], reportFile: report });
    const binding = (name: string, subject: string) =>
      `apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: ${name}\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: Role\n  name: r\nsubjects:\n${subject}`;
    const manifest = [
      binding('own', '  - kind: ServiceAccount\n    name: app\n'),
      binding('everyone', '  - kind: Group\n    apiGroup: rbac.authorization.k8s.io\n    name: system:authenticated\n'),
      binding('widen', '  - kind: ServiceAccount\n    name: caelus-tenant-reader\n'),
    ].join('---\n');
    const r = await run([...args, 'caelus.io/instance=demo'], manifest);
    expect(r.code).toBe(3);
    const { violations } = JSON.parse(readFileSync(report, 'utf8')) as { violations: Array<{ reason: string; kind: string; name: string }> };
    expect(violations.map((v) => [v.reason, `${v.kind}/${v.name}`])).toEqual([
      ['ForeignSubject', 'RoleBinding/everyone'],
      ['ForeignSubject', 'RoleBinding/widen'],
    ]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('passes and labels a manifest the policy allows', async () => {
    const r = await run(['--namespace=team-a', '--report=/nonexistent/never-written.json', 'caelus.io/instance=demo'], 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n');
    expect(r.code).toBe(0);
    expect(objects(r.stdout)[0]!['metadata'].labels).toEqual({ 'caelus.io/instance': 'demo' });
  });

  it('is described by a Helm 4 postrenderer/v1 plugin manifest', () => {
    const m = pluginManifest(pr);
    expect(m).toContain('type: postrenderer/v1');
    expect(m).toContain('runtime: subprocess');
    expect(m).toContain(pr.args[1]);
    expect(() => pluginManifest({ ...pr, command: '/opt/$HOME/node' })).toThrow(TypeError);
    expect(() => pluginManifest({ ...pr, args: ['/tmp/$X/post-render.sock'] })).toThrow(TypeError);
  });

});
