// Fleet rollouts end to end (issue 15): the real REST API in process, real
// PostgreSQL, `caelus operator` as a child process (so it can be killed)
// with the database as its catalog — the sync, the reconciler and the
// rollout runner all in it — real helm and the local control plane.
//
// One fleet of 30 API instances (plus a hibernated one, a GitOps one and one
// already at the target) goes through four runs in order:
//   A  v1 → v2, default waves (1, 2, 4, 8, 15) with a short bake
//   B  v2 → v3 where v3's chart refuses one instance's values: Failed after wave 3, rollback
//   C  v2 → v4, paused in wave 3, operator killed and restarted, resumed
// and a tenant token is refused on every rollout route.
import { cp, mkdtemp, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { execa } from 'execa';
import { WEBAPP_CHART, startApi, type ApiHarness, type ApiResponse } from '../support/api-server.ts';
import { testDatabases, type TestDatabase } from '../support/database.ts';
import { eventually, helmBin, testKubeConfig, uniqueName } from '../support/kube.ts';
import { spawnOperator, type OperatorProcess } from '../support/operator-process.ts';
import { createInstance, customObjects, getInstance, instanceBody } from '../support/operator.ts';

const postgres = testDatabases().find((c) => c.name === 'postgres');
if (!postgres) throw new Error('DATABASE_URL is not set: the rollout tests need PostgreSQL (the operator child process opens its own connection)');

const FLEET = 30;
const BAKE = 2;
const shard = uniqueName('ro');
const template = uniqueName('roweb');
const core = () => testKubeConfig().makeApiClient(k8s.CoreV1Api);

async function waitFor<T>(what: string, probe: (note: (seen: unknown) => void) => Promise<T | undefined>, timeoutMs = 240_000): Promise<T> {
  let seen: unknown = 'nothing yet';
  try {
    return await eventually(() => probe((s) => (seen = s)), timeoutMs, 500);
  } catch (err) {
    throw new Error(`${what}: not reached within ${timeoutMs} ms; last seen: ${JSON.stringify(seen)} (${(err as Error).message})`, { cause: err });
  }
}

function expectStatus(res: ApiResponse, status: number, what: string): void {
  if (res.status !== status) throw new Error(`${what}: expected HTTP ${status}, got ${res.status} ${JSON.stringify(res.body)}`);
}

async function helmRevision(ns: string): Promise<number | undefined> {
  const r = await execa(helmBin(), ['status', ns, '-n', ns, '-o', 'json', '--kubeconfig', process.env['CAELUS_TEST_KUBECONFIG']!], { reject: false });
  if (r.exitCode !== 0) return undefined;
  return (JSON.parse(r.stdout) as { version: number }).version;
}

interface RolloutRow {
  instanceId: string;
  namespace: string;
  wave: number | null;
  state: string;
  reason: string | null;
  startedAt: string | null;
  bakingSince: string | null;
  finishedAt: string | null;
}

describe('fleet rollouts (API + operator child process + helm + PostgreSQL)', () => {
  let db: TestDatabase;
  let api: ApiHarness;
  let op: OperatorProcess;
  let generation = 0;
  const fleet: Array<{ id: string; ns: string }> = [];
  const extras: Record<'hibernated' | 'gitops' | 'current', { id: string; ns: string }> = {} as never;
  const versions: Record<string, string> = {};

  const startOperator = () => {
    op = spawnOperator(shard, `${shard}-op${++generation}`, {
      CAELUS_CATALOG: '',
      DATABASE_URL: db.url!,
      CAELUS_DB_POOL_MAX: '4',
      CAELUS_ROLLOUT_TICK_MS: '500',
      // Two cores shared with other suites: a 3 s lease is lost under load (and a lost term does not hand the reconciler back).
      CAELUS_LEASE_DURATION_SECONDS: '15',
      CAELUS_HELM_TIMEOUT_SECONDS: '60',
      LOG_LEVEL: 'info',
    });
  };
  const stopOperator = async () => {
    op?.kill('SIGTERM');
    await op?.exited;
  };

  const rollout = async (id: string) => {
    const res = await api.call('GET', `/rollouts/${id}`, { token: api.admin });
    expectStatus(res, 200, `GET /rollouts/${id}`);
    return res.body as { state: string; currentWave: number; waves: number[]; counts: Record<string, number>; total: number; instances: RolloutRow[]; message: string | null };
  };
  const waitState = (id: string, states: string[], timeoutMs?: number) =>
    waitFor(
      `rollout ${id} in ${states.join('|')}`,
      async (note) => {
        const r = await rollout(id);
        note({ state: r.state, wave: r.currentWave, counts: r.counts, message: r.message });
        return states.includes(r.state) ? r : undefined;
      },
      timeoutMs,
    );
  const instanceRows = async () => {
    const res = await api.call('GET', '/instances?limit=500', { token: api.admin });
    expectStatus(res, 200, 'GET /instances');
    return res.body.items as Array<{ id: string; status: string; helmRevision: number | null; templateVersion: { version: string }; source: string; state: string }>;
  };
  const waitAllRunning = (what: string, ids: string[], version: string) =>
    waitFor(what, async (note) => {
      const rows = (await instanceRows()).filter((r) => ids.includes(r.id));
      const done = rows.filter((r) => r.status === 'Running' && r.templateVersion.version === version);
      note({ done: done.length, of: ids.length, other: rows.filter((r) => !done.includes(r)).map((r) => `${r.status}@${r.templateVersion.version}`).slice(0, 5) });
      return done.length === ids.length ? rows : undefined;
    });
  const rolloutAudits = async (rolloutId: string) =>
    db.db.selectFrom('audit_event').select(['instance_id']).where('actor', '=', `rollout:${rolloutId}`).where('action', '=', 'instance.spec').execute();

  beforeAll(async () => {
    db = await postgres.create();
    api = await startApi(db, { maxInstancesPerUser: 100 });
    // v3's chart is webapp plus one template that refuses `failRender: true` (set on one instance):
    // v1 and v2 ignore the value, so only the v3 upgrade of that instance fails to render.
    const strict = await mkdtemp(join(tmpdir(), 'caelus-strict-webapp-'));
    await cp(WEBAPP_CHART, strict, { recursive: true });
    await writeFile(join(strict, 'templates', 'refuse.yaml'), '{{- if .Values.failRender }}{{ fail "failRender is set: this instance cannot run v3" }}{{- end }}\n');
    const t = await api.call('POST', '/templates', { token: api.admin, body: { name: template, description: 'rollout fleet' } });
    expectStatus(t, 201, 'POST /templates');
    for (const [version, chart] of [['1.0.0', WEBAPP_CHART], ['2.0.0', WEBAPP_CHART], ['3.0.0', strict], ['4.0.0', WEBAPP_CHART]] as const) {
      const v = await api.call('POST', `/templates/${t.body.id}/versions`, {
        token: api.admin,
        body: { version, chart: { kind: 'local', path: chart }, defaultValues: { message: `v${version}`, persistence: { enabled: true, size: '1Gi' } } },
      });
      expectStatus(v, 201, `POST version ${version}`);
      versions[version] = v.body.id;
    }
    startOperator();
  });

  afterAll(async () => {
    await stopOperator();
    await api?.close();
    await db?.destroy();
  });

  it('sets up a fleet of 30 on v1, one hibernated, one GitOps-owned and one already on v2', async () => {
    for (let i = 0; i < FLEET; i++) {
      const res = await api.call('POST', '/instances', {
        token: api.admin,
        body: { templateVersionId: `${template}@1.0.0`, userId: `u${i % 5}`, values: i === 4 ? { failRender: true } : {} },
      });
      expectStatus(res, 201, `POST /instances #${i}`);
      fleet.push({ id: res.body.id, ns: res.body.namespace });
    }
    const hib = await api.call('POST', '/instances', { token: api.admin, body: { templateVersionId: `${template}@1.0.0`, userId: 'sleepy' } });
    expectStatus(hib, 201, 'POST hibernated instance');
    extras.hibernated = { id: hib.body.id, ns: hib.body.namespace };
    const cur = await api.call('POST', '/instances', { token: api.admin, body: { templateVersionId: `${template}@2.0.0`, userId: 'early' } });
    expectStatus(cur, 201, 'POST current instance');
    extras.current = { id: cur.body.id, ns: cur.body.namespace };
    const gitopsName = uniqueName('rogit');
    await createInstance(instanceBody(gitopsName, shard, { userId: 'git', productTemplateVersion: `${template}@1.0.0` }));

    await waitAllRunning('fleet Running on 1.0.0', [...fleet.map((f) => f.id), extras.hibernated.id], '1.0.0');
    const adopted = await waitFor('GitOps CR adopted as a row', async () => (await instanceRows()).find((r) => r.source === 'cluster'));
    extras.gitops = { id: adopted.id, ns: gitopsName };
    expectStatus(await api.call('POST', `/instances/${extras.hibernated.id}/hibernate`, { token: api.admin }), 202, 'hibernate');
    await waitFor('hibernated', async () => (await instanceRows()).find((r) => r.id === extras.hibernated.id && r.status === 'Hibernated'));
  }, 900_000);

  it('A: v1 → v2 with the default strategy: waves 1, 2, 4, 8, 15 separated by the bake; all on v2, PVCs kept; the left-out listed with reasons', async () => {
    const pvcs = new Map<string, string>();
    const revisions = new Map<string, number | undefined>();
    for (const f of fleet) {
      pvcs.set(f.ns, (await core().readNamespacedPersistentVolumeClaim({ name: `${f.ns}-data`, namespace: f.ns })).metadata!.uid!);
      // Usually 1; an install interrupted by a lost lease (a loaded machine) leaves a higher one.
      revisions.set(f.ns, await helmRevision(f.ns));
    }

    const created = await api.call('POST', '/rollouts', { token: api.admin, body: { templateVersionId: `${template}@2.0.0`, strategy: { bakeSeconds: BAKE } } });
    expectStatus(created, 201, 'POST /rollouts');
    expect(created.headers.get('location')).toBe(`/rollouts/${created.body.id}`);
    expect(created.body).toMatchObject({ state: 'Pending', waves: [1, 2, 4, 8, 15], total: FLEET + 3, strategy: { canary: 1, growth: 2, maxFailures: 1, bakeSeconds: BAKE, approval: 'auto', onFailure: 'pause' } });
    const id = created.body.id as string;

    const done = await waitState(id, ['Succeeded', 'Failed']);
    expect(done.state).toBe('Succeeded');
    expect(done.counts).toMatchObject({ Succeeded: FLEET, Failed: 0, Deferred: 1, Skipped: 2 });
    const byNs = new Map(done.instances.map((x) => [x.namespace, x]));
    expect(byNs.get(extras.hibernated.ns)).toMatchObject({ state: 'Deferred', wave: null, reason: expect.stringMatching(/hibernated/) });
    expect(byNs.get(extras.gitops.ns)).toMatchObject({ state: 'Skipped', reason: expect.stringMatching(/owned by Git/) });
    expect(byNs.get(extras.current.ns)).toMatchObject({ state: 'Skipped', reason: expect.stringMatching(/already at the target/) });

    // Wave sizes as run, and each wave started only after the previous one baked.
    const waved = done.instances.filter((x) => x.wave !== null);
    expect([1, 2, 3, 4, 5].map((w) => waved.filter((x) => x.wave === w).length)).toEqual([1, 2, 4, 8, 15]);
    for (let w = 2; w <= 5; w++) {
      const firstStart = Math.min(...waved.filter((x) => x.wave === w).map((x) => Date.parse(x.startedAt!)));
      const lastBakeStart = Math.max(...waved.filter((x) => x.wave === w - 1).map((x) => Date.parse(x.bakingSince!)));
      expect(firstStart - lastBakeStart).toBeGreaterThanOrEqual(BAKE * 1000);
    }

    await waitAllRunning('fleet Running on 2.0.0', fleet.map((f) => f.id), '2.0.0');
    for (const f of fleet) {
      expect(await helmRevision(f.ns)).toBe(revisions.get(f.ns)! + 1);
      const pvc = await core().readNamespacedPersistentVolumeClaim({ name: `${f.ns}-data`, namespace: f.ns });
      expect(pvc.metadata!.uid).toBe(pvcs.get(f.ns));
    }
    // Exactly one desired-state write per upgraded instance.
    const audits = await rolloutAudits(id);
    expect(audits.length).toBe(FLEET);
    expect(new Set(audits.map((a) => a.instance_id)).size).toBe(FLEET);

    // Visible to kubectl users and in Events.
    const mirror = (await customObjects().getClusterCustomObject({ group: 'caelus.io', version: 'v1', plural: 'caelusrollouts', name: id })) as { spec: { target: string }; status: Record<string, unknown> };
    expect(mirror.spec.target).toBe(`${template}@2.0.0`);
    expect(mirror.status).toMatchObject({ state: 'Succeeded', wave: 5, succeeded: FLEET, failed: 0, total: FLEET + 3 });
    const events = await core().listNamespacedEvent({ namespace: 'default', fieldSelector: `involvedObject.name=${fleet[0]!.ns},reason=RolloutUpgrade` });
    expect(events.items.length).toBeGreaterThanOrEqual(1);
    // Metrics of the runner, scraped from the operator.
    const health = /"health":"(http:\/\/[^"]+)"/.exec(readFileSync(op.log, 'utf8'))?.[1];
    expect(health).toBeDefined();
    const metrics = await (await fetch(`${health}/metrics`)).text();
    expect(metrics).toContain(`caelus_rollout_instances{rollout="${id}",state="Succeeded"} ${FLEET}`);
    expect(metrics).toContain(`caelus_rollout_wave{rollout="${id}"} 5`);

    // The deferred instance is upgraded when it wakes.
    expectStatus(await api.call('POST', `/instances/${extras.hibernated.id}/wake`, { token: api.admin }), 202, 'wake');
    await waitFor('woken instance upgraded by the run', async (note) => {
      const r = await rollout(id);
      const row = r.instances.find((x) => x.namespace === extras.hibernated.ns);
      note(row);
      return row?.state === 'Succeeded' ? row : undefined;
    });
    await waitAllRunning('woken instance Running on 2.0.0', [extras.hibernated.id], '2.0.0');
  }, 900_000);

  it('B: v2 → v3 that fails on 1 of 30 with maxFailures 1: Failed after wave 3, later waves untouched, rollback by desired state', async () => {
    const before = new Map<string, number | undefined>();
    for (const f of fleet) before.set(f.ns, await helmRevision(f.ns));
    const created = await api.call('POST', '/rollouts', {
      token: api.admin,
      body: { templateVersionId: `${template}@3.0.0`, selector: { instanceIds: fleet.map((f) => f.id) }, strategy: { bakeSeconds: BAKE, maxFailures: 1, progressDeadlineSeconds: 120 } },
    });
    expectStatus(created, 201, 'POST /rollouts (v3)');
    const id = created.body.id as string;
    const failed = await waitState(id, ['Failed', 'Succeeded']);
    expect(failed.state).toBe('Failed');
    expect(failed.currentWave).toBe(3);
    const broken = failed.instances.find((x) => x.namespace === fleet[4]!.ns)!;
    expect(broken).toMatchObject({ wave: 3, state: 'Failed', reason: expect.stringMatching(/failRender/) });
    const started = failed.instances.filter((x) => x.wave !== null && x.wave <= 3);
    const later = failed.instances.filter((x) => x.wave !== null && x.wave > 3);
    expect(started.length).toBe(7);
    expect(started.filter((x) => x.state === 'Succeeded').length).toBe(6);
    expect(later.every((x) => x.state === 'Skipped' && x.startedAt === null && /not reached/.test(x.reason ?? ''))).toBe(true);
    for (const x of later) expect(await helmRevision(x.namespace)).toBe(before.get(x.namespace));
    const rows = await instanceRows();
    for (const x of later) expect(rows.find((r) => r.id === x.instanceId)?.templateVersion.version).toBe('2.0.0');

    const rb = await api.call('POST', `/rollouts/${id}/rollback`, { token: api.admin });
    expectStatus(rb, 202, 'POST /rollouts/{id}/rollback');
    const rolledBack = await waitState(id, ['RolledBack']);
    expect(rolledBack.instances.filter((x) => x.state === 'RolledBack').map((x) => x.namespace).sort()).toEqual(started.map((x) => x.namespace).sort());
    await waitAllRunning('started waves back on 2.0.0', started.map((x) => x.instanceId), '2.0.0');
    const upgraded = started.filter((x) => x.namespace !== broken.namespace);
    const afterRollback = new Map<string, number | undefined>();
    for (const x of upgraded) {
      const rev = await helmRevision(x.namespace);
      // v2 (before) → v3 → v2 again: a new revision each time, never `helm rollback` behind the reconciler.
      expect(rev).toBe(before.get(x.namespace)! + 2);
      afterRollback.set(x.namespace, rev);
    }
    // The reconciler agrees with the rollback: it does not upgrade them again.
    await new Promise((r) => setTimeout(r, 8_000));
    for (const x of upgraded) expect(await helmRevision(x.namespace)).toBe(afterRollback.get(x.namespace));
    const cr = await getInstance(upgraded[0]!.namespace);
    expect(cr?.spec.productTemplateVersion.toLowerCase()).toBe(versions['2.0.0']);
  }, 900_000);

  it('C: paused in wave 3, operator killed and restarted, resumed: completes, no instance upgraded twice; a single upgrade meanwhile is 409', async () => {
    const created = await api.call('POST', '/rollouts', {
      token: api.admin,
      body: { templateVersionId: `${template}@4.0.0`, selector: { instanceIds: fleet.map((f) => f.id) }, strategy: { bakeSeconds: BAKE } },
    });
    expectStatus(created, 201, 'POST /rollouts (v4)');
    const id = created.body.id as string;
    await waitFor('wave 3 started', async (note) => {
      const r = await rollout(id);
      note({ wave: r.currentWave, state: r.state });
      return r.currentWave >= 3 ? r : undefined;
    });
    expectStatus(await api.call('POST', `/rollouts/${id}/pause`, { token: api.admin }), 200, 'pause');
    op.kill('SIGKILL');
    await op.exited;

    const paused = await rollout(id);
    expect(paused.state).toBe('Paused');
    const waiting = paused.instances.find((x) => x.state === 'Pending')!;
    const single = await api.call('POST', `/instances/${waiting.instanceId}/upgrade`, { token: api.admin, body: { templateVersionId: `${template}@4.0.0` } });
    expectStatus(single, 409, 'single upgrade of an instance inside the run');
    expect(single.body.detail).toContain(id);

    startOperator();
    // Nothing new starts while paused, even under a new leader (it leads once the killed one's lease expired).
    await waitFor('the restarted operator leads', async () => (readFileSync(op.log, 'utf8').includes('"msg":"rollout runner running"') ? true : undefined), 60_000);
    await new Promise((r) => setTimeout(r, 5_000));
    const still = await rollout(id);
    expect(still.state).toBe('Paused');
    expect(still.instances.filter((x) => x.startedAt !== null).length).toBe(paused.instances.filter((x) => x.startedAt !== null).length);

    expectStatus(await api.call('POST', `/rollouts/${id}/resume`, { token: api.admin }), 200, 'resume');
    const done = await waitState(id, ['Succeeded', 'Failed']);
    expect(done.state).toBe('Succeeded');
    expect(done.counts.Succeeded).toBe(FLEET);
    await waitAllRunning('fleet Running on 4.0.0', fleet.map((f) => f.id), '4.0.0');
    const audits = await rolloutAudits(id);
    expect(audits.length).toBe(FLEET);
    expect(new Set(audits.map((a) => a.instance_id)).size).toBe(FLEET);
  }, 900_000);

  it('a tenant token gets 403 on every rollout route', async () => {
    const tenant = await api.userToken('u0');
    const someId = '00000000-0000-4000-8000-000000000000';
    const routes: Array<[string, string, unknown?]> = [
      ['POST', '/rollouts', { templateVersionId: `${template}@4.0.0` }],
      ['GET', '/rollouts'],
      ['GET', `/rollouts/${someId}`],
      ...['pause', 'resume', 'abort', 'approve', 'rollback'].map((c): [string, string] => ['POST', `/rollouts/${someId}/${c}`]),
      ['GET', '/rollout-strategies'],
      ['GET', '/rollout-strategies/careful'],
      ['PUT', '/rollout-strategies/careful', { canary: 2 }],
      ['DELETE', '/rollout-strategies/careful'],
    ];
    for (const [method, path, body] of routes) {
      const res = await api.call(method, path, { token: tenant, ...(body === undefined ? {} : { body }) });
      expect(`${method} ${path} → ${res.status}`).toBe(`${method} ${path} → 403`);
    }
  }, 900_000);
});
