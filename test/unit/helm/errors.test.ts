// Classification of real stderr texts, captured from Helm 3.17.3 and Helm 4.1.4
// against the local control plane (and a local chart repository).
import { classifyHelmStderr, HelmError, HelmErrorReason, isHelmError, stderrTail, type HelmErrorReason as Reason } from '../../../src/helm/errors.ts';

const samples: Array<[string, string, Reason]> = [
  // OperationInProgress: a second upgrade while the first holds pending-install (both majors print the same).
  ['3+4 concurrent upgrade', 'Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress', 'OperationInProgress'],
  // Timeout
  ['3 hook timeout', 'Release "s" does not exist. Installing it now.\nError: failed pre-install: 1 error occurred:\n\t* timed out waiting for the condition\n\n', 'Timeout'],
  [
    '4 hook timeout',
    'Release "s" does not exist. Installing it now.\nError: failed pre-install: resource Job/t4/s-hook not ready. status: InProgress, message: Job in progress\ncontext deadline exceeded',
    'Timeout',
  ],
  ['3 atomic timeout', 'Error: release at failed, and has been uninstalled due to atomic being set: context deadline exceeded', 'Timeout'],
  [
    '4 rollback-on-failure timeout',
    'Error: release at failed, and has been uninstalled due to rollback-on-failure being set: resource PersistentVolumeClaim/e4/at-data not ready. status: InProgress, message: PVC is not Bound. phase: Pending\nresource Deployment/e4/at not ready. status: InProgress, message: Replicas: 0/1\ncontext deadline exceeded',
    'Timeout',
  ],
  // Canceled: helm received SIGTERM.
  ['3 SIGTERM install', 'Release "k" does not exist. Installing it now.\nRelease k has been cancelled.\nError: context canceled', 'Canceled'],
  ['4 SIGTERM upgrade', 'Release k has been cancelled.\nlevel=WARN msg="upgrade failed" name=k error="context canceled"\nError: UPGRADE FAILED: context canceled', 'Canceled'],
  // RenderFailed
  ['3+4 parse error', 'Error: parse error at (bad/templates/cm.yaml:2): unclosed action started at bad/templates/cm.yaml:1\n\nUse --debug flag to render out invalid YAML', 'RenderFailed'],
  ['3+4 fail()', 'Error: execution error at (slow/templates/cm.yaml:1:25): boom\n\nUse --debug flag to render out invalid YAML', 'RenderFailed'],
  ['3+4 required()', 'Error: execution error at (slow/templates/cm.yaml:12:8): value r is required', 'RenderFailed'],
  ['3 nil pointer', 'Error: template: bad2/templates/cm.yaml:2:13: executing "bad2/templates/cm.yaml" at <.Values.a.b.c>: nil pointer evaluating interface {}.b', 'RenderFailed'],
  ['4 nil pointer', 'Error: bad2/templates/cm.yaml:2:13\n  executing "bad2/templates/cm.yaml" at <.Values.a.b.c>:\n    nil pointer evaluating interface {}.b', 'RenderFailed'],
  ['3+4 invalid YAML', 'Error: YAML parse error on bad2/templates/cm.yaml: error converting YAML to JSON: yaml: line 4: did not find expected key', 'RenderFailed'],
  [
    '3 schema',
    "Release \"x\" does not exist. Installing it now.\nError: values don't meet the specifications of the schema(s) in the following chart(s):\nwebapp:\n- replicaCount: Invalid type. Expected: integer, given: string\n",
    'RenderFailed',
  ],
  ['4 schema', "Error: values don't meet the specifications of the schema(s) in the following chart(s):\nwebapp:\n- at '/replicaCount': got string, want integer\n", 'RenderFailed'],
  [
    '3 post-renderer',
    'Error: error while running post render on files: error while running command /usr/bin/node. error output:\ncaelus post-renderer: invalid labels: label key "bad key": name must be …\n: exit status 1',
    'RenderFailed',
  ],
  ['4 post-renderer', 'Error: error while running post render on files: failed to invoke post-renderer plugin "caelus-labels": plugin "caelus-labels" exited with error', 'RenderFailed'],
  // ReleaseNotFound
  ['3+4 forbidden lookup (tenant identity)', 'Error: template: loot/templates/objects.yaml:1:12: executing "loot/templates/objects.yaml" at <lookup "v1" "Secret" .Values.sourceNamespace .Values.sourceName>: error calling lookup: secrets "db" is forbidden: User "system:serviceaccount:t:caelus-tenant" cannot get resource "secrets" in API group "" in the namespace "victim"', 'Forbidden'],
  ['4 forbidden apply (tenant identity)', 'Error: failed to create resource: clusterrolebindings.rbac.authorization.k8s.io "w-wall" is forbidden: User "system:serviceaccount:t:caelus-tenant" cannot patch resource "clusterrolebindings" in API group "rbac.authorization.k8s.io" at the cluster scope', 'Forbidden'],
  ['3+4 status/history/get', 'Error: release: not found', 'ReleaseNotFound'],
  ['3+4 uninstall', 'Error: uninstall: Release not loaded: nope: release: not found', 'ReleaseNotFound'],
  ['3+4 rollback without a previous revision', 'Error: release has no 0 version', 'ReleaseNotFound'],
  // ChartNotFound
  ['3+4 local path', 'Release "x" does not exist. Installing it now.\nError: path "/nonexist/chart" not found', 'ChartNotFound'],
  ['3 not a chart', 'Error: Chart.yaml file is missing', 'ChartNotFound'],
  ['4 not a chart', 'Error: unable to detect chart at /tmp/x/Chart.yaml: open /tmp/x/Chart.yaml: no such file or directory', 'ChartNotFound'],
  ['3+4 repo chart', 'Error: chart "nothere" not found in http://127.0.0.1:18765 repository', 'ChartNotFound'],
  ['3+4 repo version', 'Error: chart "slow" version "9.9.9" not found in http://127.0.0.1:18765 repository', 'ChartNotFound'],
  [
    '3+4 repo 404',
    'Error: looks like "http://127.0.0.1:18765/nope" is not a valid chart repository or cannot be reached: failed to fetch http://127.0.0.1:18765/nope/index.yaml : 404 File not found',
    'ChartNotFound',
  ],
  ['3 oci missing', 'Error: 127.0.0.1:18765/slow:0.1.0: not found', 'ChartNotFound'],
  ['4 oci missing', 'Error: failed to perform "FetchReference" on source: 127.0.0.1:18765/slow:0.1.0: not found', 'ChartNotFound'],
  ['3 oci unreachable', 'Error: failed to do request: Head "http://127.0.0.1:1/v2/charts/foo/manifests/1.0.0": dial tcp 127.0.0.1:1: connect: connection refused', 'ChartNotFound'],
  // ClusterUnreachable (must win over "no such file or directory")
  ['3 no kubeconfig', 'Error: Kubernetes cluster unreachable: stat /nonexistent: no such file or directory', 'ClusterUnreachable'],
  ['4 apiserver down', 'Error: kubernetes cluster unreachable: Get "https://127.0.0.1:1/version": dial tcp 127.0.0.1:1: connect: connection refused', 'ClusterUnreachable'],
  // Unknown: an apply error is neither a render failure nor transient.
  ['4 SSA rejects a field', 'Error: failed to create typed patch object (e4/f-x; /v1, Kind=ConfigMap): .spec: field not declared in schema', 'Unknown'],
  ['3 namespace missing', 'Error: create: failed to create: namespaces "nonexist" not found', 'Unknown'],
  ['empty', '', 'Unknown'],
];

describe('classifyHelmStderr', () => {
  it.each(samples)('%s', (_name, stderr, reason) => {
    expect(classifyHelmStderr(stderr)).toBe(reason);
  });

  it('covers every reason except the ones the runner decides', () => {
    const seen = new Set(samples.map(([, , r]) => r));
    // PolicyViolation comes from the post-renderer's report file, not from stderr.
    for (const r of Object.values(HelmErrorReason)) if (r !== HelmErrorReason.PolicyViolation) expect(seen.has(r)).toBe(true);
  });
});

describe('stderrTail', () => {
  it('keeps short stderr whole and trims trailing whitespace', () => {
    expect(stderrTail('Error: x\n\n')).toBe('Error: x');
  });

  it('keeps the last bytes, where helm prints the Error line', () => {
    const noise = 'level=WARN msg=noise\n'.repeat(500);
    const tail = stderrTail(`${noise}Error: UPGRADE FAILED: context canceled`);
    expect(Buffer.byteLength(tail)).toBeLessThanOrEqual(2048 + 3);
    expect(tail.startsWith('…')).toBe(true);
    expect(tail.endsWith('Error: UPGRADE FAILED: context canceled')).toBe(true);
  });

  it('never splits a multi-byte character into garbage', () => {
    const tail = stderrTail('é'.repeat(3000), 1001);
    expect(tail).toMatch(/^…é+$/);
  });
});

describe('HelmError', () => {
  it('carries verb, release, exit code and the stderr tail in the message', () => {
    const err = new HelmError({
      reason: 'Timeout',
      verb: 'upgrade',
      release: 'web',
      namespace: 'team-a',
      exitCode: 1,
      stderrTail: 'Error: context deadline exceeded',
    });
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('HelmError');
    expect(err.message).toBe('helm upgrade team-a/web failed (Timeout, exit code 1): Error: context deadline exceeded');
    expect(isHelmError(err)).toBe(true);
    expect(isHelmError(err, 'Timeout')).toBe(true);
    expect(isHelmError(err, 'Canceled')).toBe(false);
    expect(isHelmError(new Error('x'))).toBe(false);
  });
});
