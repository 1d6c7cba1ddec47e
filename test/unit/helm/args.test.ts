import {
  chartArgs,
  postRendererArgs,
  rollbackArgs,
  statusArgs,
  templateArgs,
  uninstallArgs,
  upgradeInstallArgs,
  type PostRendererSpec,
} from '../../../src/helm/args.ts';

const pr: PostRendererSpec = { command: '/opt/node/bin/node', args: ['--no-warnings', '/app/src/helm/post-render/main.ts'], pluginName: 'caelus-labels' };
const compiled: PostRendererSpec = { command: '/cache/caelus-post-render', args: ['/tmp/caelus-helm-x/post-render.sock'], pluginName: 'caelus-labels' };
const base = {
  release: 'web',
  namespace: 'team-a',
  chart: { kind: 'local' as const, path: 'charts/webapp' },
  timeoutSeconds: 120,
  postRenderer: pr,
};

describe('chartArgs', () => {
  it.each([
    [{ kind: 'local', path: 'charts/webapp' }, '1.0.0', ['charts/webapp']],
    [{ kind: 'local', path: '/srv/charts/webapp-1.0.0.tgz' }, undefined, ['/srv/charts/webapp-1.0.0.tgz']],
    [{ kind: 'local', path: '-evil' }, undefined, ['./-evil']],
    [{ kind: 'oci', ref: 'oci://ghcr.io/acme/charts/webapp' }, '1.2.3', ['oci://ghcr.io/acme/charts/webapp', '--version', '1.2.3']],
    [{ kind: 'repo', repoUrl: 'https://charts.example.com', chart: 'webapp' }, '^1', ['--repo', 'https://charts.example.com', 'webapp', '--version', '^1']],
    [{ kind: 'repo', repoUrl: 'https://charts.example.com', chart: 'webapp' }, undefined, ['--repo', 'https://charts.example.com', 'webapp']],
  ] as const)('%j @ %s', (chart, version, expected) => {
    expect(chartArgs(chart, version)).toEqual(expected);
  });

  it.each([
    [{ kind: 'oci', ref: 'ghcr.io/acme/webapp' }],
    [{ kind: 'repo', repoUrl: 'file:///etc', chart: 'webapp' }],
    [{ kind: 'repo', repoUrl: 'https://x', chart: '--set=a' }],
    [{ kind: 'local', path: '' }],
  ] as const)('rejects %j', (chart) => {
    expect(() => chartArgs(chart)).toThrow(TypeError);
  });
});

describe('upgradeInstallArgs', () => {
  it('Helm 3: values on stdin, reset values, timeout, no wait, no --create-namespace, JSON output', () => {
    expect(upgradeInstallArgs(3, { ...base, kubeconfigPath: '/kc' })).toEqual([
      'upgrade', '--install', 'web', 'charts/webapp',
      '--namespace', 'team-a', '--kubeconfig', '/kc',
      '--values', '-', '--reset-values', '--timeout=120s',
      '--disable-openapi-validation', '--skip-crds',
      '--output', 'json',
    ]);
  });

  it('Helm 4 takes fields the chart sets from other field managers (--force-conflicts); Helm 3 has no such flag', () => {
    expect(upgradeInstallArgs(4, base)).toContain('--force-conflicts');
    expect(upgradeInstallArgs(3, base)).not.toContain('--force-conflicts');
  });

  it('Helm 4 without a kubeconfig uses in-cluster config (no --kubeconfig)', () => {
    const args = upgradeInstallArgs(4, base);
    expect(args).not.toContain('--kubeconfig');
    expect(args).not.toContain('--create-namespace');
    expect(args.some((a) => a.startsWith('--wait'))).toBe(false);
  });

  it.each([
    [3, ['--wait', '--atomic']],
    [4, ['--wait=watcher', '--rollback-on-failure']],
  ] as const)('Helm %i wait and rollback-on-failure flags', (major, flags) => {
    const args = upgradeInstallArgs(major, { ...base, wait: true, rollbackOnFailure: true, description: 'v2 of webapp' });
    for (const f of flags) expect(args).toContain(f);
    expect(args).toEqual(expect.arrayContaining(['--description', 'v2 of webapp']));
  });

  it('never puts values on the command line', () => {
    const args = upgradeInstallArgs(4, base);
    expect(args.filter((a) => a === '--set' || a.startsWith('--set'))).toEqual([]);
    expect(args[args.indexOf('--values') + 1]).toBe('-');
  });

  it.each(['Web', '-rf', 'a'.repeat(54), ''])('rejects release name %j', (release) => {
    expect(() => upgradeInstallArgs(4, { ...base, release })).toThrow(TypeError);
  });

  it.each([0, -1, 1.5])('rejects timeout %d', (timeoutSeconds) => {
    expect(() => upgradeInstallArgs(4, { ...base, timeoutSeconds })).toThrow(TypeError);
  });
});

describe('postRendererArgs', () => {
  const labels = { 'caelus.io/instance': 'demo', 'caelus.io/tenant': 'acme' };

  it('Helm 3 runs node with our script as the executable', () => {
    expect(postRendererArgs(3, pr, labels)).toEqual([
      '--post-renderer', '/opt/node/bin/node',
      '--post-renderer-args=--no-warnings',
      '--post-renderer-args=/app/src/helm/post-render/main.ts',
      '--post-renderer-args=caelus.io/instance=demo',
      '--post-renderer-args=caelus.io/tenant=acme',
    ]);
  });

  it('Helm 3 runs the compiled client with its socket, then the run token, then ours', () => {
    expect(postRendererArgs(3, compiled, labels, undefined, '--token=abc_D-9')).toEqual([
      '--post-renderer', '/cache/caelus-post-render',
      '--post-renderer-args=/tmp/caelus-helm-x/post-render.sock',
      '--post-renderer-args=--token=abc_D-9',
      '--post-renderer-args=caelus.io/instance=demo',
      '--post-renderer-args=caelus.io/tenant=acme',
    ]);
  });

  it('Helm 4 passes the run token first to the plugin', () => {
    expect(postRendererArgs(4, compiled, labels, undefined, '--token=abc')).toEqual([
      '--post-renderer', 'caelus-labels',
      '--post-renderer-args=--token=abc',
      '--post-renderer-args=caelus.io/instance=demo',
      '--post-renderer-args=caelus.io/tenant=acme',
    ]);
    expect(() => postRendererArgs(4, compiled, labels, undefined, '--token=$HOME')).toThrow(TypeError);
  });

  it('Helm 4 names the postrenderer/v1 plugin', () => {
    expect(postRendererArgs(4, pr, labels)).toEqual([
      '--post-renderer', 'caelus-labels',
      '--post-renderer-args=caelus.io/instance=demo',
      '--post-renderer-args=caelus.io/tenant=acme',
    ]);
  });

  it('adds nothing without labels', () => {
    expect(postRendererArgs(4, pr, {})).toEqual([]);
  });

  it('rejects labels the API server would reject', () => {
    expect(() => postRendererArgs(4, pr, { 'caelus.io/instance': '$(rm -rf /)' })).toThrow(/invalid labels/);
  });

  it('passes the kinds policy as the post-renderer\'s own flags, before the labels', () => {
    const policy = {
      namespace: 'team-a',
      allowedKinds: ['monitoring.coreos.com/ServiceMonitor'],
      allowedClusterRoles: ['view'],
      reserved: [{ kind: 'Secret', name: 'web-secrets' }],
      reportFile: '/tmp/caelus-policy-x/violations.json',
    };
    expect(postRendererArgs(4, pr, { 'caelus.io/instance': 'demo' }, policy)).toEqual([
      '--post-renderer', 'caelus-labels',
      '--post-renderer-args=--namespace=team-a',
      '--post-renderer-args=--allow-kind=monitoring.coreos.com/ServiceMonitor',
      '--post-renderer-args=--allow-cluster-role=view',
      '--post-renderer-args=--reserve=Secret/web-secrets',
      '--post-renderer-args=--report=/tmp/caelus-policy-x/violations.json',
      '--post-renderer-args=caelus.io/instance=demo',
    ]);
    // A policy alone still runs the post-renderer.
    expect(postRendererArgs(3, pr, {}, policy)).toContain('--post-renderer-args=--namespace=team-a');
    expect(() => postRendererArgs(4, pr, {}, { ...policy, allowedKinds: ['$(id)'] })).toThrow(/kinds-policy entry/);
    expect(() => postRendererArgs(4, pr, {}, { ...policy, reportFile: '/tmp/$HOME/v.json' })).toThrow(/report file/);
  });

  it('is wired into upgrade and template', () => {
    expect(upgradeInstallArgs(4, { ...base, labels })).toContain('caelus-labels');
    expect(templateArgs(3, { ...base, labels })).toContain('/opt/node/bin/node');
  });
});

describe('other verbs', () => {
  const conn = { namespace: 'team-a', kubeconfigPath: '/kc' };

  it('template needs no cluster', () => {
    expect(templateArgs(4, { ...base, includeCrds: true, kubeVersion: '1.35.0' })).toEqual([
      'template', 'web', 'charts/webapp', '--namespace', 'team-a', '--values', '-', '--include-crds', '--kube-version', '1.35.0',
    ]);
  });

  it('acts as the tenant ServiceAccount with --kube-as-user on every verb that reaches the cluster', () => {
    const tenant = { ...conn, asUser: 'system:serviceaccount:team-a:caelus-tenant' };
    for (const args of [
      upgradeInstallArgs(4, { ...base, ...tenant }),
      upgradeInstallArgs(3, { ...base, ...tenant }),
      uninstallArgs('web', tenant),
      statusArgs('web', tenant),
      rollbackArgs(4, { ...tenant, release: 'web', revision: 1 }),
    ]) {
      expect(args).toContain('--kube-as-user=system:serviceaccount:team-a:caelus-tenant');
    }
    expect(() => statusArgs('web', { ...conn, asUser: 'admin' })).toThrow(/ServiceAccount user/);
  });

  it('uninstall never waits', () => {
    expect(uninstallArgs('web', conn)).toEqual(['uninstall', 'web', '--namespace', 'team-a', '--kubeconfig', '/kc']);
    expect(uninstallArgs('web', conn, 30)).toContain('--timeout=30s');
  });

  it('status asks for JSON', () => {
    expect(statusArgs('web', conn)).toEqual(['status', 'web', '--namespace', 'team-a', '--kubeconfig', '/kc', '--output', 'json']);
  });

  it.each([
    [3, ['--wait']],
    [4, ['--wait=watcher']],
  ] as const)('rollback (Helm %i)', (major, wait) => {
    expect(rollbackArgs(major, { ...conn, release: 'web', revision: 2, timeoutSeconds: 60, wait: true })).toEqual([
      'rollback', 'web', '2', '--namespace', 'team-a', '--kubeconfig', '/kc', '--timeout=60s', ...wait,
    ]);
    expect(rollbackArgs(major, { ...conn, release: 'web' })).toEqual(['rollback', 'web', '--namespace', 'team-a', '--kubeconfig', '/kc']);
    expect(() => rollbackArgs(major, { ...conn, release: 'web', revision: 0 })).toThrow(TypeError);
  });

  it('rejects a namespace that is not a DNS label', () => {
    expect(() => statusArgs('web', { namespace: '--all-namespaces' })).toThrow(TypeError);
  });
});
