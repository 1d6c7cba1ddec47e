// The Helm adapter against the shared local control plane with the helm of
// this run: Helm 4 by default, Helm 3 when CI re-runs helm-* files with
// CAELUS_HELM_MAJOR=3 HELM_BIN=<helm3>. Every test must pass with both.
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import type { ChartReference } from '../../src/domain/catalog.ts';
import { HelmError, HelmReleaseSecrets, type HelmRelease } from '../../src/helm/index.ts';
import { createMetrics } from '../../src/observability/metrics.ts';
import { eventually, helmBin, testHelmClient, testKubeConfig, uniqueName } from '../support/kube.ts';

const webapp: ChartReference = { kind: 'local', path: fileURLToPath(new URL('../../charts/webapp', import.meta.url)) };
const probeDir = fileURLToPath(new URL('../fixtures/charts/helm-probe', import.meta.url));
const probe: ChartReference = { kind: 'local', path: probeDir };
const expectedMajor = process.env['CAELUS_HELM_MAJOR'] === '3' ? 3 : 4;
const INSTANCE = 'caelus.io/instance';

type Obj = k8s.KubernetesObject & { items?: k8s.KubernetesObject[] };

function objects(manifest: string): k8s.KubernetesObject[] {
  return parseAllDocuments(manifest)
    .map((d) => d.toJSON() as Obj | null)
    .filter((o): o is Obj => !!o)
    .flatMap((o) => (o.kind?.endsWith('List') && o.items ? o.items : [o]));
}

async function caught(p: Promise<unknown>): Promise<HelmError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof HelmError)) throw new Error(`expected a HelmError, got ${String(err)}`);
  return err;
}

function report(line: string): void {
  process.stderr.write(`[helm ${expectedMajor}] ${line}\n`);
}

describe(`HelmClient (Helm ${expectedMajor})`, () => {
  const metrics = createMetrics();
  const helm = testHelmClient(metrics);
  const kc = testKubeConfig();
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const objectsApi = k8s.KubernetesObjectApi.makeApiClient(kc);
  const namespaces: string[] = [];
  const releases = new HelmReleaseSecrets(kc);

  // What the operator reads from helm's release Secrets must be what `helm status` says.
  async function expectStorageMatchesStatus(release: string, ns: string): Promise<HelmRelease | undefined> {
    const [fromHelm, fromStorage] = await Promise.all([helm.status(release, ns), releases.latest(release, ns)]);
    if (fromHelm === undefined) {
      expect(fromStorage).toBeUndefined();
      return undefined;
    }
    const { chart: _chart, ...comparable } = fromHelm;
    expect(fromStorage).toMatchObject(comparable);
    return fromStorage;
  }

  // The operator creates namespaces; helm never gets --create-namespace.
  async function namespace(prefix: string): Promise<string> {
    const name = uniqueName(prefix);
    await core.createNamespace({ body: { metadata: { name } } });
    namespaces.push(name);
    return name;
  }

  afterAll(async () => {
    for (const name of namespaces) await core.deleteNamespace({ name }).catch(() => undefined);
  });

  it('detects the helm major once per client', async () => {
    const before = helm.spawnedProcesses;
    const v = await helm.version();
    expect(v.major).toBe(expectedMajor);
    await helm.version();
    expect(helm.spawnedProcesses - before).toBeLessThanOrEqual(1);
  });

  it('installs and upgrades webapp with render-time labels on every object, values only from stdin', async () => {
    const ns = await namespace('helm-web');
    const labels = { [INSTANCE]: 'web-demo' };
    let t0 = performance.now();
    const installed = await helm.upgradeInstall({
      release: 'web',
      namespace: ns,
      chart: webapp,
      values: { message: 'first', replicaCount: 2 },
      timeoutSeconds: 60,
      labels,
      description: 'caelus install',
    });
    report(`upgrade --install webapp (install): ${Math.round(performance.now() - t0)} ms`);
    expect(installed).toMatchObject({
      name: 'web',
      namespace: ns,
      revision: 1,
      status: 'deployed',
      description: 'caelus install',
      chart: { name: 'webapp', version: '0.1.0', appVersion: '1.27' },
      values: { message: 'first', replicaCount: 2 },
    });

    const rendered = objects(installed.manifest);
    expect(rendered.map((o) => o.kind).sort()).toEqual(['ConfigMap', 'Deployment', 'PersistentVolumeClaim', 'Service']);
    for (const o of rendered) {
      expect(o.metadata?.labels?.[INSTANCE]).toBe('web-demo');
      const live = await objectsApi.read({ apiVersion: o.apiVersion!, kind: o.kind!, metadata: { name: o.metadata!.name!, namespace: ns } });
      expect(live.metadata?.labels?.[INSTANCE]).toBe('web-demo');
      // The chart's own labels survive.
      expect(live.metadata?.labels?.['app.kubernetes.io/managed-by']).toBe('Helm');
    }

    // Full values every time: {message} alone must not keep replicaCount: 2 from revision 1.
    t0 = performance.now();
    const upgraded = await helm.upgradeInstall({ release: 'web', namespace: ns, chart: webapp, values: { message: 'second' }, timeoutSeconds: 60, labels });
    report(`upgrade --install webapp (upgrade): ${Math.round(performance.now() - t0)} ms`);
    expect(upgraded.revision).toBe(2);
    expect(await helm.getValues('web', ns)).toEqual({ message: 'second' });
    expect((await helm.getValues('web', ns, { all: true }))['replicaCount']).toBe(1);
    const cm = await core.readNamespacedConfigMap({ name: 'web-config', namespace: ns });
    expect(cm.data?.['message']).toBe('second');

    const status = await helm.status('web', ns);
    expect(status).toMatchObject({ name: 'web', revision: 2, status: 'deployed' });
    // The stored release also names its chart, which `helm status` does not print.
    expect(await expectStorageMatchesStatus('web', ns)).toMatchObject({ revision: 2, status: 'deployed', chart: { name: 'webapp', version: '0.1.0' } });
    const history = await helm.history('web', ns);
    expect(history.map((h) => [h.revision, h.status, h.chart])).toEqual([
      [1, 'superseded', 'webapp-0.1.0'],
      [2, 'deployed', 'webapp-0.1.0'],
    ]);
    const manifest = await helm.getManifest('web', ns);
    expect(objects(manifest).every((o) => o.metadata?.labels?.[INSTANCE] === 'web-demo')).toBe(true);
  });

  it('labels objects inside a List and keeps the chart YAML intact', async () => {
    const ns = await namespace('helm-list');
    const r = await helm.upgradeInstall({ release: 'p', namespace: ns, chart: probe, values: {}, timeoutSeconds: 60, labels: { [INSTANCE]: 'p' } });
    const secret = await core.readNamespacedSecret({ name: 'p-probe', namespace: ns });
    expect(secret.metadata?.labels?.[INSTANCE]).toBe('p');
    expect(r.manifest).toContain('# Source: helm-probe/templates/configmap.yaml');
  });

  it('renders a chart without a cluster (template), with and without labels', async () => {
    const plain = await helm.template({ release: 'preview', namespace: 'any', chart: webapp, values: {} });
    expect(objects(plain).some((o) => o.metadata?.labels?.[INSTANCE])).toBe(false);
    const labelled = await helm.template({ release: 'preview', namespace: 'any', chart: webapp, values: {}, labels: { [INSTANCE]: 'preview' } });
    const objs = objects(labelled);
    expect(objs.length).toBe(4);
    expect(objs.every((o) => o.metadata?.labels?.[INSTANCE] === 'preview')).toBe(true);
  });

  it('classifies render failures and missing charts, and creates no revision', async () => {
    const ns = await namespace('helm-fail');
    const fail = await caught(helm.upgradeInstall({ release: 'f', namespace: ns, chart: probe, values: { fail: 'chart says no' }, timeoutSeconds: 30 }));
    expect(fail).toMatchObject({ reason: 'RenderFailed', verb: 'upgrade', release: 'f', namespace: ns, exitCode: 1 });
    expect(fail.message).toContain('chart says no');

    const schema = await caught(helm.template({ release: 'f', namespace: ns, chart: webapp, values: { replicaCount: 'many' } }));
    expect(schema.reason).toBe('RenderFailed');

    const missing = await caught(helm.upgradeInstall({ release: 'f', namespace: ns, chart: { kind: 'local', path: '/nonexistent/chart' }, values: {}, timeoutSeconds: 30 }));
    expect(missing.reason).toBe('ChartNotFound');
    expect(await helm.status('f', ns)).toBeUndefined();
    expect(await releases.latest('f', ns)).toBeUndefined();
    expect(await helm.history('f', ns)).toEqual([]);
  });

  describe('chart repository reference (--repo)', () => {
    let server: Server;
    let repoUrl: string;
    let repoDir: string;
    const run = promisify(execFile);

    beforeAll(async () => {
      repoDir = await mkdtemp(join(tmpdir(), 'caelus-helm-repo-'));
      await run(helmBin(), ['package', probeDir, '--destination', repoDir]);
      server = createServer((req, res) => {
        const file = join(repoDir, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).replace(/^\/+/, ''));
        readFile(file).then(
          (body) => res.writeHead(200).end(body),
          () => res.writeHead(404).end('not found'),
        );
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      repoUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      await run(helmBin(), ['repo', 'index', repoDir, '--url', repoUrl]);
      expect((await readdir(repoDir)).sort()).toEqual(['helm-probe-0.1.0.tgz', 'index.yaml']);
    });
    afterAll(async () => {
      await new Promise<void>((r) => server.close(() => r()));
      await rm(repoDir, { recursive: true, force: true });
    });

    it('installs from a repository URL + chart name and reports an unknown version as ChartNotFound', async () => {
      const ns = await namespace('helm-repo');
      const chart: ChartReference = { kind: 'repo', repoUrl, chart: 'helm-probe' };
      const r = await helm.upgradeInstall({ release: 'r', namespace: ns, chart, chartVersion: '0.1.0', values: {}, timeoutSeconds: 60 });
      expect(r.chart).toEqual({ name: 'helm-probe', version: '0.1.0', appVersion: '1.0' });
      const err = await caught(helm.upgradeInstall({ release: 'r', namespace: ns, chart, chartVersion: '9.9.9', values: {}, timeoutSeconds: 60 }));
      expect(err.reason).toBe('ChartNotFound');
      expect(err.message).toContain('9.9.9');
    });
  });

  it('times out on a hook that never completes (Timeout, release failed)', async () => {
    const ns = await namespace('helm-timeout');
    const err = await caught(helm.upgradeInstall({ release: 't', namespace: ns, chart: probe, values: { hookJob: true }, timeoutSeconds: 2 }));
    expect(err.reason).toBe('Timeout');
    expect((await helm.status('t', ns))?.status).toBe('failed');
    expect((await expectStorageMatchesStatus('t', ns))?.status).toBe('failed');
  });

  it('reports OperationInProgress while another upgrade holds the release, and a cancel leaves it failed, not pending', async () => {
    const ns = await namespace('helm-busy');
    const ac = new AbortController();
    const slow = caught(helm.upgradeInstall({ release: 'b', namespace: ns, chart: probe, values: { hookJob: true }, timeoutSeconds: 120, signal: ac.signal }));
    const pending = await eventually(async () => {
      const s = await helm.status('b', ns);
      return s?.status === 'pending-install' ? s : undefined;
    });
    expect(pending.revision).toBe(1);
    expect(await releases.latest('b', ns)).toMatchObject({ revision: 1, status: 'pending-install' });

    const busy = await caught(helm.upgradeInstall({ release: 'b', namespace: ns, chart: probe, values: {}, timeoutSeconds: 30 }));
    expect(busy.reason).toBe('OperationInProgress');

    const t0 = performance.now();
    ac.abort(new Error('operator shutting down'));
    const canceled = await slow;
    report(`cancel of an in-flight install took ${Math.round(performance.now() - t0)} ms`);
    expect(canceled.reason).toBe('Canceled');
    // helm caught SIGTERM and recorded the failure itself: nothing is left pending.
    expect((await helm.status('b', ns))?.status).toBe('failed');
    expect((await expectStorageMatchesStatus('b', ns))?.status).toBe('failed');
    // A failed install can be upgraded again.
    const next = await helm.upgradeInstall({ release: 'b', namespace: ns, chart: probe, values: {}, timeoutSeconds: 30 });
    expect(next).toMatchObject({ revision: 2, status: 'deployed' });
  });

  it('rolls back on failure when asked (--atomic / --rollback-on-failure)', async () => {
    const ns = await namespace('helm-atomic');
    await helm.upgradeInstall({ release: 'a', namespace: ns, chart: probe, values: { message: 'good' }, timeoutSeconds: 30 });
    const err = await caught(
      helm.upgradeInstall({ release: 'a', namespace: ns, chart: probe, values: { message: 'bad', hookJob: true }, timeoutSeconds: 3, rollbackOnFailure: true }),
    );
    expect(err.reason).toBe('Timeout');
    const history = await helm.history('a', ns);
    expect(history.at(-1)).toMatchObject({ revision: 3, status: 'deployed' });
    expect(await helm.getValues('a', ns)).toEqual({ message: 'good' });
  });

  it('rolls back to a revision, uninstalls, and treats a missing release as success', async () => {
    const ns = await namespace('helm-rb');
    const first: HelmRelease = await helm.upgradeInstall({ release: 'x', namespace: ns, chart: probe, values: { message: 'one' }, timeoutSeconds: 30 });
    await helm.upgradeInstall({ release: 'x', namespace: ns, chart: probe, values: { message: 'two' }, timeoutSeconds: 30 });
    await helm.rollback('x', ns, first.revision, { timeoutSeconds: 30 });
    expect(await helm.status('x', ns)).toMatchObject({ revision: 3, status: 'deployed', values: { message: 'one' } });
    await expectStorageMatchesStatus('x', ns);

    expect(await helm.uninstall('x', ns)).toBe(true);
    expect(await helm.uninstall('x', ns)).toBe(false);
    expect(await helm.status('x', ns)).toBeUndefined();
    expect(await releases.latest('x', ns)).toBeUndefined();
    expect(await helm.history('x', ns)).toEqual([]);
    const notFound = await caught(helm.getManifest('x', ns));
    expect(notFound.reason).toBe('ReleaseNotFound');
  });

  it('counts every helm process in the metric and on the client', async () => {
    const counted = (await metrics.helmInvocations.get()).values.reduce((n, v) => n + v.value, 0);
    expect(counted).toBe(helm.spawnedProcesses);
    expect(counted).toBeGreaterThan(20);
  });
});
