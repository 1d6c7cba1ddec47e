// `caelus dev` as a user runs it: a child process `node src/cli.ts dev` with
// its own data directory and free ports. It starts its own control plane
// (binaries from the shared cache), PGlite, the operator and the API; the test
// waits for the readiness line, creates an instance through the API with the
// printed token, sees it Running, reads /metrics after that real reconcile
// (and a corrected drift), then sends SIGINT and checks that the process
// exits 0 and leaves nothing behind: no descendant process, no open port.
// A second run on the same data directory registers nothing twice and finds
// its instance still there (the cluster's etcd persists next to the database).
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { execa, type ResultPromise } from 'execa';
import { parse } from 'yaml';
import { eventually } from '../support/kube.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(root, 'src/cli.ts');
const CATALOG = join(root, 'charts/catalog.yaml');

interface DevRun {
  child: ResultPromise;
  pid: number;
  output: () => string;
  api: string;
  metrics: string;
  kubeconfig: string;
  token: string;
}

/** Every process below pid, from /proc (ppid is the 4th field of /proc/<pid>/stat, after the parenthesised comm). */
function descendants(pid: number): Array<{ pid: number; comm: string }> {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parentOf.set(Number(entry), ppid);
    } catch {
      // exited while we read
    }
  }
  const out: Array<{ pid: number; comm: string }> = [];
  const walk = (p: number) => {
    for (const [child, parent] of parentOf) {
      if (parent !== p) continue;
      let comm = '?';
      try {
        comm = readFileSync(`/proc/${child}/comm`, 'utf8').trim();
      } catch {
        // gone
      }
      out.push({ pid: child, comm });
      walk(child);
    }
  };
  walk(pid);
  return out;
}

/** A live process, not a zombie waiting to be reaped. */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function portOpen(url: string): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: u.hostname, port: Number(u.port) });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function startDev(dataDir: string): Promise<DevRun> {
  // The child must start its own control plane and use PGlite: drop what the test env points at.
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'warn', CAELUS_SYNC_SWEEP_SECONDS: '5' };
  for (const k of ['KUBECONFIG', 'DATABASE_URL', 'CAELUS_CATALOG', 'CAELUS_DB_DIR', 'CAELUS_API_PORT', 'CAELUS_METRICS_PORT', 'CAELUS_ENCRYPTION_KEYS']) delete env[k];
  const child = execa(process.execPath, [CLI, 'dev', '--api-port', '0', '--metrics-port', '0', '--data-dir', dataDir], {
    env,
    extendEnv: false,
    reject: false,
    all: true,
    buffer: false,
    stdin: 'ignore',
  });
  let text = '';
  child.all?.setEncoding('utf8');
  child.all?.on('data', (c: string) => (text += c));
  return new Promise<DevRun>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no readiness line within 150 s:\n${text}`)), 150_000);
    void child.then((r) => {
      clearTimeout(timer);
      reject(new Error(`caelus dev exited (${String(r.exitCode)}) before it was ready:\n${text}`));
    });
    child.all?.on('data', () => {
      const ready = /^caelus dev ready: api=(\S+) metrics=(\S+) kubeconfig=(\S+)/m.exec(text);
      const token = /admin token\s+(caelus_[A-Za-z0-9_-]{43})/.exec(text);
      if (!ready || !token) return;
      clearTimeout(timer);
      resolve({ child, pid: child.pid!, output: () => text, api: ready[1]!, metrics: ready[2]!, kubeconfig: ready[3]!, token: token[1]! });
    });
  });
}

async function call(run: DevRun, method: string, path: string, body?: unknown, token = run.token): Promise<{ status: number; body: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any -- arbitrary JSON
  const res = await fetch(`${run.api}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text && res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text };
}

/** Stops the run with SIGINT the way Ctrl-C does; returns the exit code and what was still running afterwards. */
async function interrupt(run: DevRun): Promise<{ exitCode: number | undefined; leftovers: Array<{ pid: number; comm: string }> }> {
  const before = descendants(run.pid);
  run.child.kill('SIGINT');
  const result = await run.child;
  // Orphans would be re-parented to init; look for the recorded pids themselves.
  const leftovers = await eventually(async () => {
    const alive = before.filter((p) => running(p.pid));
    return alive.length === 0 ? alive : undefined;
  }, 10_000).catch(() => before.filter((p) => running(p.pid)));
  return { exitCode: result.exitCode, leftovers };
}

/** The Prometheus text's samples of one metric family: labels and value per line. */
function samples(text: string, name: string): Array<{ labels: Record<string, string>; value: number }> {
  const out: Array<{ labels: Record<string, string>; value: number }> = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ labels, value: Number(m[3]) });
  }
  return out;
}

describe('caelus dev (end to end, as a child process)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'caelus-dev-e2e-'));
  const catalog = parse(readFileSync(CATALOG, 'utf8')) as { templates: Array<{ name: string; versions: Array<{ version: string }> }> };
  let run: DevRun | undefined;
  let instance: { id: string; namespace: string } | undefined;

  afterAll(async () => {
    if (run && running(run.pid)) {
      run.child.kill('SIGKILL');
      for (const p of descendants(run.pid)) process.kill(p.pid, 'SIGKILL');
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('starts, prints the readiness line, what to do next and its progress', async () => {
    run = await startDev(dataDir);
    const text = run.output();
    expect(run.api).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(run.kubeconfig).toBe(join(dataDir, 'kubeconfig'));
    expect(existsSync(run.kubeconfig)).toBe(true);
    expect(text).toContain(`curl -s -H 'Authorization: Bearer ${run.token}' -H 'content-type: application/json' ${run.api}/instances -d '{"templateVersionId":"webapp@1.0.0"`);
    expect(text).toContain(`KUBECONFIG=${run.kubeconfig} kubectl get caelusinstances`);
    expect(text).toContain(`${run.api}/docs`);
    // Progress on stderr, plain lines (not a terminal), each step with its time.
    expect(text).toMatch(/caelus dev: starting kube-apiserver \+ etcd: done \(\d+\.\ds\)/);
    expect(text).toMatch(/caelus dev: starting the REST API: done/);
    expect(text).not.toContain('\r');
    // The process tree: its own control plane.
    expect(descendants(run.pid).map((p) => p.comm)).toEqual(expect.arrayContaining(['etcd', 'kube-apiserver']));
    expect((await fetch(`${run.api}/docs`)).status).toBe(200);
  });

  it('has every template of charts/catalog.yaml registered in the database', async () => {
    const res = await call(run!, 'GET', '/templates');
    expect(res.status).toBe(200);
    const items = (res.body.items ?? res.body) as Array<{ name: string }>;
    expect(items.map((t) => t.name).sort()).toEqual(catalog.templates.map((t) => t.name).sort());
    for (const t of catalog.templates) {
      const versions = await call(run!, 'GET', `/templates/${t.name}/versions`);
      expect(versions.status).toBe(200);
      const list = (versions.body.items ?? versions.body) as Array<{ version: string }>;
      expect(list.map((v) => v.version).sort()).toEqual(t.versions.map((v) => v.version).sort());
    }
  });

  it('prints the web console address, which serves the console', async () => {
    expect(run!.output()).toContain(`console      ${run!.api}/ui/`);
    const page = await fetch(`${run!.api}/ui/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toMatch(/<script type="module"[^>]* src="\/ui\/assets\/index-[\w-]+\.js"/);
  });

  it('creates an instance through the API with the printed token and sees it Running', async () => {
    const created = await call(run!, 'POST', '/instances', { templateVersionId: 'webapp@1.0.0', userId: 'dev', domainName: 'e2e.localhost' });
    expect(created.status).toBe(201);
    instance = { id: created.body.id, namespace: created.body.namespace };
    const running = await eventually(async () => {
      const got = await call(run!, 'GET', `/instances/${instance!.id}`);
      return got.body.status === 'Running' ? got.body : undefined;
    }, 90_000, 500);
    expect(running.statusSource).toBe('cluster');
    // What `kubectl get caelusinstances` with the printed kubeconfig shows.
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(run!.kubeconfig);
    const list = (await kc.makeApiClient(k8s.CustomObjectsApi).listClusterCustomObject({ group: 'caelus.io', version: 'v1', plural: 'caelusinstances' })) as {
      items: Array<{ metadata: { name: string }; status?: { phase?: string } }>;
    };
    expect(list.items.find((i) => i.metadata.name === instance!.namespace)?.status?.phase).toBe('Running');
  });

  it('/metrics exposes the named series after a real reconcile and a corrected drift', async () => {
    // A drift to correct: scale the release's Deployment behind Caelus's back.
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(run!.kubeconfig);
    const apps = kc.makeApiClient(k8s.AppsV1Api);
    const deployments = await apps.listNamespacedDeployment({ namespace: instance!.namespace });
    const dep = deployments.items[0]!;
    const replicas = dep.spec?.replicas ?? 1;
    await apps.patchNamespacedDeployment(
      { name: dep.metadata!.name!, namespace: instance!.namespace, body: { spec: { replicas: replicas + 3 } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    const text = await eventually(async () => {
      const t = await (await fetch(`${run!.metrics}/metrics`)).text();
      return samples(t, 'caelus_drift_corrections_total')[0]?.value ? t : undefined;
    }, 60_000, 500);

    const has = (name: string, labels: Record<string, string | RegExp> = {}) =>
      samples(text, name).some((s) => Object.entries(labels).every(([k, v]) => (typeof v === 'string' ? s.labels[k] === v : v.test(s.labels[k] ?? ''))));
    // Reconcile duration by result.
    expect(has('caelus_reconcile_duration_seconds_bucket', { result: /.+/, le: '+Inf' })).toBe(true);
    expect(samples(text, 'caelus_reconcile_duration_seconds_count').reduce((n, s) => n + s.value, 0)).toBeGreaterThan(0);
    // Work queue depth and latency.
    expect(samples(text, 'caelus_workqueue_depth')).toHaveLength(1);
    expect(samples(text, 'caelus_workqueue_queue_duration_seconds_count')[0]?.value).toBeGreaterThan(0);
    // Helm invocations by verb/result, and their duration by verb.
    expect(has('caelus_helm_invocations_total', { verb: 'upgrade', result: 'success' })).toBe(true);
    expect(has('caelus_helm_duration_seconds_count', { verb: 'upgrade' })).toBe(true);
    // Instances by phase: the Running one counted, every phase exported.
    expect(samples(text, 'caelus_instances').find((s) => s.labels['phase'] === 'Running')?.value).toBeGreaterThanOrEqual(1);
    expect(samples(text, 'caelus_instances').map((s) => s.labels['phase']).sort()).toEqual(
      ['Deleting', 'Failed', 'Hibernated', 'Installing', 'Pending', 'Running', 'Suspended', 'Upgrading'],
    );
    // Drift detected (by mode) and corrected.
    expect(has('caelus_drift_detections_total', { mode: /.+/ })).toBe(true);
    expect(samples(text, 'caelus_drift_corrections_total')[0]?.value).toBeGreaterThanOrEqual(1);
    // API request duration by route and status, with route templates (not raw URLs).
    expect(has('caelus_api_request_duration_seconds_count', { method: 'POST', route: '/instances', status: '201' })).toBe(true);
    expect(has('caelus_api_request_duration_seconds_count', { method: 'GET', route: '/instances/:id', status: '200' })).toBe(true);
    expect(samples(text, 'caelus_api_request_duration_seconds_count').some((s) => s.labels['route']?.includes(instance!.id))).toBe(false);
    // The API serves the same registry.
    expect(samples(await (await fetch(`${run!.api}/metrics`)).text(), 'caelus_instances').length).toBeGreaterThan(0);
  });

  it('stops everything on SIGINT and exits 0', async () => {
    const ports = [run!.api, run!.metrics, readKubeServer(run!.kubeconfig)];
    const { exitCode, leftovers } = await interrupt(run!);
    expect(leftovers).toEqual([]);
    expect(exitCode).toBe(0);
    for (const url of ports) expect(await portOpen(url)).toBe(false);
    expect(existsSync(run!.kubeconfig)).toBe(false);
    expect(run!.output()).toMatch(/caelus dev: stopped/);
  });

  it('runs again on the same data: nothing registered twice, the old token revoked, the instance still there', async () => {
    const first = run!;
    run = await startDev(dataDir);
    expect(run.output()).not.toMatch(/\(new\)/);
    const templates = await call(run, 'GET', '/templates');
    const items = (templates.body.items ?? templates.body) as Array<{ name: string }>;
    expect(items).toHaveLength(catalog.templates.length);
    expect((await call(run, 'GET', '/templates', undefined, first.token)).status).toBe(401);
    // The cluster (etcd under the data dir) outlived the run like the database did: the CR is
    // still there, so the sync does not mistake a fresh cluster for a deleted instance.
    const again = await eventually(async () => {
      const got = await call(run!, 'GET', `/instances/${instance!.id}`);
      return got.status === 200 && got.body.statusSource === 'cluster' ? got : undefined;
    }, 30_000, 500);
    expect(again.body.status).toBe('Running');
    await new Promise((r) => setTimeout(r, 6_000)); // one sync sweep (CAELUS_SYNC_SWEEP_SECONDS=5)
    expect((await call(run, 'GET', `/instances/${instance!.id}`)).status).toBe(200);
    const { exitCode, leftovers } = await interrupt(run);
    expect(leftovers).toEqual([]);
    expect(exitCode).toBe(0);
  });
});

function readKubeServer(kubeconfig: string): string {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfig);
  return kc.getCurrentCluster()!.server;
}
