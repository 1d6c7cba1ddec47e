// The whole path in one run, driven through HTTP: the real REST API (in
// process, real HTTP), real PostgreSQL, and `caelus operator` with the
// database as its catalog, so the DB ↔ CR sync carries every API write to a
// CaelusInstance and every CR edit and status back to the row; real helm and
// the local control plane (with kube-controller-manager's namespace
// controller, so deleted namespaces really disappear).
//
// Steps build on each other (one instance goes create → upgrade → kubectl
// edit → delete), so they run in order in one describe.
import * as k8s from '@kubernetes/client-node';
import { execa } from 'execa';
import { ClusterLiveStatusReader } from '../../src/api/live-status.ts';
import { listAuditEvents } from '../../src/db/repositories/audit.ts';
import { ConditionType, type CaelusInstance } from '../../src/domain/instance.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { PROBLEM_JSON, WEBAPP_CHART, startApi, type ApiHarness, type ApiResponse } from '../support/api-server.ts';
import { testDatabases, type TestDatabase } from '../support/database.ts';
import { eventually, helmBin, testKubeConfig, uniqueName } from '../support/kube.ts';
import { condition, createInstance, customObjects, deleteInstance, getInstance, instanceBody, startTestOperator, type TestOperator } from '../support/operator.ts';

const postgres = testDatabases().find((c) => c.name === 'postgres');
if (!postgres) {
  // testDatabases() already fails the run in CI; locally PGlite cannot stand in (the operator opens its own connection).
  console.warn('DATABASE_URL is not set: skipping the API ↔ operator end-to-end test (it needs PostgreSQL)');
}
const describeWithPostgres = postgres ? describe : describe.skip;

const shard = uniqueName('e2e');
const template = uniqueName('e2eweb');
const STEP_TIMEOUT_MS = 120_000;
const core = () => testKubeConfig().makeApiClient(k8s.CoreV1Api);

/**
 * Polls `probe` until it returns a value; on timeout fails naming what was
 * awaited and the last thing `note` recorded (so a red test says where it
 * stuck, not just "timeout").
 */
async function waitFor<T>(what: string, probe: (note: (seen: unknown) => void) => Promise<T | undefined>, timeoutMs = STEP_TIMEOUT_MS): Promise<T> {
  let seen: unknown = 'nothing yet';
  try {
    return await eventually(() => probe((s) => (seen = s)), timeoutMs, 250);
  } catch (err) {
    throw new Error(`${what}: not reached within ${timeoutMs} ms; last seen: ${JSON.stringify(seen)} (${(err as Error).message})`, { cause: err });
  }
}

async function helmRelease(release: string, ns: string): Promise<{ version: number; info: { status: string } } | undefined> {
  const r = await execa(helmBin(), ['status', release, '-n', ns, '-o', 'json', '--kubeconfig', process.env['CAELUS_TEST_KUBECONFIG']!], { reject: false });
  if (r.exitCode !== 0) {
    if (/not found/i.test(r.stderr)) return undefined;
    throw new Error(`helm status ${release} -n ${ns}: ${r.stderr}`);
  }
  return JSON.parse(r.stdout) as { version: number; info: { status: string } };
}

async function namespaceExists(name: string): Promise<k8s.V1Namespace | undefined> {
  try {
    return await core().readNamespace({ name });
  } catch (err) {
    if ((err as { code?: number }).code === 404) return undefined;
    throw err;
  }
}

function expectOk(res: ApiResponse, status: number, what: string): void {
  if (res.status !== status) throw new Error(`${what}: expected HTTP ${status}, got ${res.status} ${JSON.stringify(res.body)}`);
}

/** The CR's status describes its current spec: the operator has finished with this generation. */
const settled = (cr: CaelusInstance | undefined): boolean =>
  cr !== undefined && cr.status?.observedGeneration === cr.metadata.generation && condition(cr, ConditionType.Ready)?.status === 'True';

describeWithPostgres('API + sync + operator end to end (PostgreSQL)', () => {
  let db: TestDatabase;
  let api: ApiHarness;
  let op: TestOperator;
  let alice: string;
  let aliceId: string;
  let instanceId: string;
  let ns: string;
  let pvcUid: string | undefined;

  beforeAll(async () => {
    db = await postgres!.create();
    api = await startApi(db, { liveStatus: new ClusterLiveStatusReader(testKubeConfig(), silentLogger()) });
    op = await startTestOperator(shard, {}, { databaseUrl: db.url! });
    aliceId = uniqueName('alice');
    alice = await api.userToken(aliceId);
  });

  afterAll(async () => {
    await op?.stop();
    await api?.close();
    await db?.destroy();
  });

  // GET /instances/{id} as the tenant: status and conditions live from the CR.
  const detail = async () => {
    const res = await api.call('GET', `/instances/${instanceId}`, { token: alice });
    expectOk(res, 200, `GET /instances/${instanceId}`);
    return res.body;
  };
  // The row as the API stores it (the list view is never live: it shows what the sync copied).
  const row = async () => {
    const res = await api.call('GET', `/instances?limit=500`, { token: alice });
    expectOk(res, 200, 'GET /instances');
    return res.body.items.find((i: { id: string }) => i.id === instanceId);
  };

  it('admin publishes a template with two versions; a user creates an instance → CR, release deployed, GET shows Running with Ready=True', async () => {
    const t = await api.call('POST', '/templates', { token: api.admin, body: { name: template, description: 'e2e web app' } });
    expectOk(t, 201, 'POST /templates');
    for (const version of ['1.0.0', '2.0.0']) {
      const v = await api.call('POST', `/templates/${t.body.id}/versions`, {
        token: api.admin,
        body: {
          version,
          chart: { kind: 'local', path: WEBAPP_CHART },
          defaultValues: { message: `v${version}-default`, persistence: { enabled: true, size: '1Gi' } },
        },
      });
      expectOk(v, 201, `POST /templates/${template}/versions ${version}`);
    }

    const created = await api.call('POST', '/instances', {
      token: alice,
      body: { templateVersionId: `${template}@1.0.0`, domainName: 'alice-e2e.example.com', values: { replicaCount: 1 } },
    });
    expectOk(created, 201, 'POST /instances');
    instanceId = created.body.id;
    ns = created.body.namespace;
    expect(created.body).toMatchObject({ status: 'Pending', specVersion: 1, source: 'api', templateVersion: { version: '1.0.0' } });

    const cr = await waitFor(`CR ${ns} pushed by the sync`, async (note) => {
      const c = await getInstance(ns);
      note(c?.metadata.annotations);
      return c?.metadata.annotations?.['caelus.io/instance-id'] === instanceId ? c : undefined;
    });
    expect(cr.spec).toMatchObject({ values: { replicaCount: 1 }, domainName: 'alice-e2e.example.com', namespace: ns });

    const running = await waitFor('GET /instances/{id} Running with Ready=True', async (note) => {
      const d = await detail();
      note({ status: d.status, conditions: d.conditions });
      const ready = d.conditions.find((c: { type: string }) => c.type === ConditionType.Ready);
      return d.status === 'Running' && ready?.status === 'True' ? d : undefined;
    });
    expect(running).toMatchObject({ statusSource: 'cluster', url: 'https://alice-e2e.example.com', effectiveValues: { message: 'v1.0.0-default', replicaCount: 1 } });
    expect(running.conditions.find((c: { type: string }) => c.type === ConditionType.Released)).toMatchObject({ status: 'True' });

    expect(await helmRelease(ns, ns)).toMatchObject({ version: 1, info: { status: 'deployed' } });
    const cm = await core().readNamespacedConfigMap({ name: `${ns}-config`, namespace: ns });
    expect(cm.data?.['message']).toBe('v1.0.0-default');
    const pvc = await core().readNamespacedPersistentVolumeClaim({ name: `${ns}-data`, namespace: ns });
    pvcUid = pvc.metadata?.uid;
    expect(pvcUid).toBeTruthy();

    // The sync copied the status back to the row.
    await waitFor('row status Running at helm revision 1', async (note) => {
      const r = await row();
      note(r && { status: r.status, helmRevision: r.helmRevision });
      return r?.status === 'Running' && r.helmRevision === 1 ? r : undefined;
    });
  });

  it('admin upgrades to 2.0.0 → helm revision 2, the new default live, the PVC of 1.0.0 kept, the row at 2.0.0 and Running', async () => {
    const before = await getInstance(ns);
    const upgrade = await api.call('POST', `/instances/${instanceId}/upgrade`, { token: api.admin, body: { templateVersionId: `${template}@2.0.0` } });
    expectOk(upgrade, 202, 'POST /instances/{id}/upgrade');
    expect(upgrade.body.templateVersion.version).toBe('2.0.0');

    // Watch the phases the API reports on the way; Upgrading is transient (a
    // helm upgrade of this chart takes a second or two), so it is reported, not required.
    const phases: string[] = [];
    const done = await waitFor('GET /instances/{id} Running at helm revision 2 for the new generation', async (note) => {
      const d = await detail();
      if (phases.at(-1) !== d.status) phases.push(d.status);
      const cr = await getInstance(ns);
      note({ status: d.status, generation: cr?.metadata.generation, observed: cr?.status?.observedGeneration, revision: cr?.status?.release?.revision });
      return d.status === 'Running' && settled(cr) && cr!.metadata.generation! > before!.metadata.generation! && cr!.status?.release?.revision === 2 ? d : undefined;
    });
    process.stderr.write(`[figure] phases seen through GET /instances/{id} during the upgrade: ${phases.join(' → ')}\n`);
    expect(done.effectiveValues.message).toBe('v2.0.0-default');
    expect(done.templateVersion.version).toBe('2.0.0');

    expect(await helmRelease(ns, ns)).toMatchObject({ version: 2, info: { status: 'deployed' } });
    const cm = await core().readNamespacedConfigMap({ name: `${ns}-config`, namespace: ns });
    expect(cm.data?.['message']).toBe('v2.0.0-default');
    const pvc = await core().readNamespacedPersistentVolumeClaim({ name: `${ns}-data`, namespace: ns });
    expect(pvc.metadata?.uid).toBe(pvcUid);
    expect(pvc.metadata?.deletionTimestamp).toBeUndefined();

    const r = await waitFor('row at 2.0.0, Running, helm revision 2', async (note) => {
      const x = await row();
      note(x && { status: x.status, helmRevision: x.helmRevision, version: x.templateVersion.version });
      return x?.status === 'Running' && x.helmRevision === 2 ? x : undefined;
    });
    expect(r).toMatchObject({ templateVersion: { version: '2.0.0' }, specVersion: 2, observedSpecVersion: 2 });
  });

  it('a kubectl edit of the CR values is imported: the row and GET /instances/{id} show them, and the release follows', async () => {
    const edited = { replicaCount: 1, message: 'edited-in-cluster' };
    await customObjects().patchClusterCustomObject(
      { group: 'caelus.io', version: 'v1', plural: 'caelusinstances', name: ns, body: { spec: { values: edited } }, fieldManager: 'kubectl-edit' },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    const d = await waitFor('GET /instances/{id} shows the edited values', async (note) => {
      const x = await detail();
      note({ values: x.values, specVersion: x.specVersion });
      return x.values.message === edited.message ? x : undefined;
    });
    expect(d.values).toEqual(edited);
    expect(d.specVersion).toBe(3);
    expect(d.valuesProvenance['/message']).toBe('instance');
    const audit = await listAuditEvents(db.db, { instanceId });
    expect(audit.find((a) => a.action === 'instance.spec' && a.actor === 'manager:kubectl-edit')).toBeDefined();

    // The CR carries the imported version, and the operator rolled the edit out.
    const cr = await waitFor('CR stamped with spec-version 3 and reconciled', async (note) => {
      const c = await getInstance(ns);
      note({ annotations: c?.metadata.annotations, revision: c?.status?.release?.revision });
      return c?.metadata.annotations?.['caelus.io/spec-version'] === '3' && settled(c) && c!.status?.release?.revision === 3 ? c : undefined;
    });
    expect(cr.spec.values).toEqual(edited);
    const cm = await core().readNamespacedConfigMap({ name: `${ns}-config`, namespace: ns });
    expect(cm.data?.['message']).toBe('edited-in-cluster');
  });

  it('a GitOps-applied CR without a row is listed by the API and refused for changes (409)', async () => {
    const gitops = uniqueName('gitops');
    const owner = uniqueName('gitops-user');
    await createInstance(instanceBody(gitops, shard, { userId: owner, productTemplateVersion: `${template}@1.0.0`, values: { message: 'from-git' } }));
    try {
      const adopted = await waitFor('the adopted CR in GET /instances?userId=', async (note) => {
        const res = await api.call('GET', `/instances?userId=${owner}`, { token: api.admin });
        note(res.body);
        return res.status === 200 ? res.body.items.find((i: { namespace: string }) => i.namespace === gitops) : undefined;
      });
      expect(adopted).toMatchObject({ source: 'cluster', userId: owner, values: { message: 'from-git' }, templateVersion: { version: '1.0.0' } });
      // Its owner sees it too.
      const mine = await api.call('GET', '/instances', { token: await api.userToken(owner) });
      expect(mine.body.items.map((i: { id: string }) => i.id)).toEqual([adopted.id]);

      const patch = await api.call('PATCH', `/instances/${adopted.id}`, { token: api.admin, body: { values: { message: 'from-api' } } });
      expect(patch.status).toBe(409);
      expect(patch.headers.get('content-type')).toMatch(PROBLEM_JSON);
      expect(patch.body.type).toMatch(/read-only-instance$/);
      const del = await api.call('DELETE', `/instances/${adopted.id}`, { token: api.admin });
      expect(del.status).toBe(409);
      // Nothing changed: the CR still says what git said.
      expect((await getInstance(gitops))?.spec.values).toEqual({ message: 'from-git' });
    } finally {
      await deleteInstance(gitops).catch(() => undefined);
      await waitFor(`GitOps CR ${gitops} gone`, async () => ((await getInstance(gitops)) ? undefined : true));
    }
  });

  it('DELETE /instances/{id} removes the CR, the release and the namespace', async () => {
    const del = await api.call('DELETE', `/instances/${instanceId}`, { token: alice });
    expectOk(del, 202, 'DELETE /instances/{id}');
    expect((await api.call('GET', `/instances/${instanceId}`, { token: alice })).status).toBe(404);

    await waitFor(`CR ${ns} deleted`, async (note) => {
      const c = await getInstance(ns);
      note(c && { phase: c.status?.phase, deletionTimestamp: c.metadata.deletionTimestamp, finalizers: c.metadata.finalizers });
      return c ? undefined : true;
    });
    expect(await helmRelease(ns, ns)).toBeUndefined();
    await waitFor(`namespace ${ns} gone`, async (note) => {
      const n = await namespaceExists(ns);
      note(n && { phase: n.status?.phase, conditions: n.status?.conditions?.map((c) => `${c.type}=${c.status}`) });
      return n ? undefined : true;
    });
  });

  it('deletionPolicy: set through the API, pushed to the CR, a kubectl edit of it imported; Retain keeps the namespace and PVC after DELETE', async () => {
    const bad = await api.call('POST', '/instances', { token: alice, body: { templateVersionId: `${template}@1.0.0`, deletionPolicy: 'Keep' } });
    expect(bad.status).toBe(400);
    expect(bad.body.field).toBe('/body/deletionPolicy');

    // Retain is admin-only: a retained namespace outlives the instance (and counts toward the quota).
    const tenantRetain = await api.call('POST', '/instances', { token: alice, body: { templateVersionId: `${template}@1.0.0`, deletionPolicy: 'Retain' } });
    expect(tenantRetain.status).toBe(403);
    expect(tenantRetain.body.field).toBe('/body/deletionPolicy');
    const created = await api.call('POST', '/instances', {
      token: api.admin,
      body: { templateVersionId: `${template}@1.0.0`, userId: aliceId, deletionPolicy: 'Retain' },
    });
    expectOk(created, 201, 'POST /instances (Retain, admin for alice)');
    expect(created.body.deletionPolicy).toBe('Retain');
    const id: string = created.body.id;
    const kept: string = created.body.namespace;
    try {
      await waitFor(`CR ${kept} with spec.deletionPolicy Retain, Ready`, async (note) => {
        const c = await getInstance(kept);
        note(c && { deletionPolicy: c.spec.deletionPolicy, phase: c.status?.phase });
        return c?.spec.deletionPolicy === 'Retain' && settled(c) ? c : undefined;
      });

      // PATCH → the CR follows; a kubectl edit back → the row follows.
      const patched = await api.call('PATCH', `/instances/${id}`, { token: alice, body: { deletionPolicy: 'Delete' } });
      expectOk(patched, 200, 'PATCH deletionPolicy');
      expect(patched.body.deletionPolicy).toBe('Delete');
      await waitFor('CR spec.deletionPolicy Delete after the PATCH', async (note) => {
        const c = await getInstance(kept);
        note(c?.spec.deletionPolicy);
        return c?.spec.deletionPolicy === 'Delete' && c.metadata.annotations?.['caelus.io/spec-version'] === '2' ? c : undefined;
      });
      await customObjects().patchClusterCustomObject(
        { group: 'caelus.io', version: 'v1', plural: 'caelusinstances', name: kept, body: { spec: { deletionPolicy: 'Retain' } }, fieldManager: 'kubectl-edit' },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
      await waitFor('GET /instances/{id} shows the imported deletionPolicy Retain', async (note) => {
        const res = await api.call('GET', `/instances/${id}`, { token: alice });
        note(res.body);
        return res.body.deletionPolicy === 'Retain' && res.body.specVersion === 3 ? res.body : undefined;
      });
      await waitFor(`CR ${kept} stamped with spec-version 3`, async () => {
        const c = await getInstance(kept);
        return c?.metadata.annotations?.['caelus.io/spec-version'] === '3' && c.spec.deletionPolicy === 'Retain' ? c : undefined;
      });

      expectOk(await api.call('DELETE', `/instances/${id}`, { token: alice }), 202, 'DELETE (Retain)');
      await waitFor(`CR ${kept} deleted`, async () => ((await getInstance(kept)) ? undefined : true));
      expect(await helmRelease(kept, kept)).toBeUndefined();
      const ns = await namespaceExists(kept);
      expect(ns?.metadata?.deletionTimestamp).toBeUndefined();
      const pvc = await core().readNamespacedPersistentVolumeClaim({ name: `${kept}-data`, namespace: kept });
      expect(pvc.metadata?.deletionTimestamp).toBeUndefined();
      // The kept namespace still counts toward alice's quota until an admin releases it.
      const quota = await api.call('GET', `/users/${aliceId}/quota`, { token: api.admin });
      expect(quota.body.retained).toBe(1);
      expectOk(await api.call('DELETE', `/retained-namespaces/${kept}`, { token: api.admin }), 200, 'release the retained namespace');
    } finally {
      // The retained namespace is ours to clean up (nothing in Caelus will).
      await core()
        .deleteNamespace({ name: kept })
        .catch(() => undefined);
    }
  });
});
