// The console's cluster-backed routes against the real thing: the REST API
// in process, `caelus operator` with the DB ↔ CR sync, real PostgreSQL,
// real helm and the local control plane. One instance is deployed through
// the API; then its Events, Helm history, release objects and ResourceQuota
// use are read with the API's identity as the deploy chart grants it (release
// records and objects as the namespace's read-only caelus-tenant-reader), a
// forged release record is shown but marked and never used, another tenant
// gets 404s, and the change stream carries the sync's status copy to the
// owner only.
import * as k8s from '@kubernetes/client-node';
import { ClusterInsightReader } from '../../src/api/cluster-insight.ts';
import { tenantReaderUser, tenantUser } from '../../src/domain/tenant.ts';
import { impersonate } from '../../src/k8s/request-options.ts';
import { createApiIdentity, type ApiIdentity } from '../support/api-identity.ts';
import { PROBLEM_JSON, WEBAPP_CHART, startApi, type ApiHarness } from '../support/api-server.ts';
import { testDatabases, type TestDatabase } from '../support/database.ts';
import { eventually, testKubeConfig, uniqueName } from '../support/kube.ts';
import { startTestOperator, type TestOperator } from '../support/operator.ts';
import { openStream } from '../support/sse.ts';

const postgres = testDatabases().find((c) => c.name === 'postgres');
if (!postgres) console.warn('DATABASE_URL is not set: skipping the console cluster test (the operator needs PostgreSQL)');
const describeWithPostgres = postgres ? describe : describe.skip;

const core = () => testKubeConfig().makeApiClient(k8s.CoreV1Api);

describeWithPostgres('console routes read from the cluster (PostgreSQL, operator, helm)', () => {
  let db: TestDatabase;
  let api: ApiHarness;
  let identity: ApiIdentity;
  let op: TestOperator | undefined;
  let alice: string;
  let bob: string;
  let id: string;
  let ns: string;
  const template = uniqueName('console');

  beforeAll(async () => {
    db = await postgres!.create();
    identity = await createApiIdentity();
    api = await startApi(db, { cluster: new ClusterInsightReader(identity.kubeConfig), changes: {} });
    op = await startTestOperator(uniqueName('console'), {}, { databaseUrl: db.url! });
    alice = await api.userToken(uniqueName('alice'));
    bob = await api.userToken(uniqueName('bob'));
    const t = await api.call('POST', '/templates', { token: api.admin, body: { name: template } });
    expect(t.status).toBe(201);
    const v = await api.call('POST', `/templates/${t.body.id}/versions`, { token: api.admin, body: { version: '1.0.0', chart: { kind: 'local', path: WEBAPP_CHART }, defaultValues: { persistence: { enabled: true } } } });
    expect(v.status).toBe(201);
  });
  afterAll(async () => {
    await op?.stop();
    await api?.close();
    await identity?.remove();
    await db?.destroy();
  });

  test('an instance deployed through the API: the owner\'s change stream sees it reach Running, another tenant\'s sees nothing', async () => {
    const a = await openStream(`${api.url}/changes`, alice);
    const b = await openStream(`${api.url}/changes`, bob);
    try {
      const created = await api.call('POST', '/instances', { token: alice, body: { templateVersionId: `${template}@1.0.0` } });
      expect(created.status).toBe(201);
      id = created.body.id;
      ns = created.body.namespace;
      await a.until('Running with a helm revision', () => a.instanceEvents().some((e) => e.id === id && e.status === 'Running' && e.helmRevision === 1), 120_000);
      expect(b.instanceEvents()).toEqual([]);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  test('history: revision 1 deployed, from the release record, trusted', async () => {
    const r = await api.call('GET', `/instances/${id}/history`, { token: alice });
    expect(r.status).toBe(200);
    expect(r.body.items).toEqual([
      expect.objectContaining({ revision: 1, status: 'deployed', chart: 'webapp', chartVersion: expect.any(String), trusted: true, problem: null, description: expect.any(String) }),
    ]);
  });

  test("objects: the deployed revision's objects with readiness (no kubelets: the Deployment never becomes available)", async () => {
    const r = await api.call('GET', `/instances/${id}/objects`, { token: alice });
    expect(r.status).toBe(200);
    expect(r.body.revision).toBe(1);
    const byKind = Object.fromEntries(r.body.items.map((o: { kind: string }) => [o.kind, o]));
    expect(byKind['Deployment']).toMatchObject({ apiVersion: 'apps/v1', namespace: ns, present: true, ready: false, summary: '0/1 available' });
    expect(byKind['Service']).toMatchObject({ present: true, ready: true });
    expect(byKind['ConfigMap']).toMatchObject({ present: true, ready: null });
    expect(byKind['PersistentVolumeClaim']).toMatchObject({ present: true });
  });

  test('a forged release record is listed with trusted: false and changes neither the objects nor their revision', async () => {
    const forged = { name: 'someone-else', namespace: 'kube-system', version: 7, info: { status: 'deployed', description: 'forged' }, manifest: 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: admin-token\n  namespace: kube-system\n' };
    const data = Buffer.from(Buffer.from(JSON.stringify(forged)).toString('base64')).toString('base64');
    await core().createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name: `sh.helm.release.v1.${ns}.v7`, labels: { owner: 'helm', name: ns, version: '7', status: 'deployed' } }, type: 'helm.sh/release.v1', data: { release: data } },
    });
    const history = await api.call('GET', `/instances/${id}/history`, { token: alice });
    expect(history.body.items[0]).toMatchObject({ revision: 7, status: 'deployed', trusted: false, problem: expect.stringContaining('someone-else') });
    expect(history.body.items[1]).toMatchObject({ revision: 1, trusted: true });
    const objects = await api.call('GET', `/instances/${id}/objects`, { token: alice });
    expect(objects.body.revision).toBe(1);
    expect(objects.body.items.some((o: { namespace: string }) => o.namespace === 'kube-system')).toBe(false);
  });

  test('the API identity reads release records as the reader, and can neither act as caelus-tenant nor write as the reader', async () => {
    const asApi = identity.kubeConfig.makeApiClient(k8s.CoreV1Api);
    const asApiApps = identity.kubeConfig.makeApiClient(k8s.AppsV1Api);
    const reader = impersonate(tenantReaderUser(ns));
    const records = await asApi.listNamespacedSecret({ namespace: ns, labelSelector: `owner=helm,name=${ns}` }, reader);
    expect(records.items.map((s) => s.metadata?.name)).toContain(`sh.helm.release.v1.${ns}.v1`);
    const status = (p: Promise<unknown>) => p.then(() => 200, (err: { code?: number }) => err.code);
    const deployment = (await testKubeConfig().makeApiClient(k8s.AppsV1Api).listNamespacedDeployment({ namespace: ns })).items[0]!.metadata!.name!;
    expect({
      'list secrets itself': await status(asApi.listNamespacedSecret({ namespace: ns })),
      'list secrets as caelus-tenant': await status(asApi.listNamespacedSecret({ namespace: ns }, impersonate(tenantUser(ns)))),
      'list deployments as the reader (get only)': await status(asApiApps.listNamespacedDeployment({ namespace: ns }, reader)),
      'list secrets as the reader of another namespace': await status(asApi.listNamespacedSecret({ namespace: ns }, impersonate(tenantReaderUser('kube-system')))),
      'create a configmap as the reader': await status(asApi.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'from-api' } } }, reader)),
      'delete a release record as the reader': await status(asApi.deleteNamespacedSecret({ namespace: ns, name: `sh.helm.release.v1.${ns}.v1` }, reader)),
      'patch the deployment as the reader': await status(
        asApiApps.patchNamespacedDeployment({ namespace: ns, name: deployment, body: [{ op: 'replace', path: '/spec/replicas', value: 5 }] }, reader),
      ),
    }).toEqual({
      'list secrets itself': 403,
      'list secrets as caelus-tenant': 403,
      'list deployments as the reader (get only)': 403,
      'list secrets as the reader of another namespace': 403,
      'create a configmap as the reader': 403,
      'delete a release record as the reader': 403,
      'patch the deployment as the reader': 403,
    });
    expect((await testKubeConfig().makeApiClient(k8s.AppsV1Api).readNamespacedDeployment({ namespace: ns, name: deployment })).spec?.replicas).toBe(1);
  });

  test('events: the operator\'s Events about the CR and Events in the namespace, newest first', async () => {
    const r = await eventually(async () => {
      const res = await api.call('GET', `/instances/${id}/events?limit=100`, { token: alice });
      return res.body.items?.some((e: { object: { kind: string } }) => e.object.kind === 'CaelusInstance') ? res : undefined;
    }, 30_000);
    expect(r.status).toBe(200);
    const crEvent = r.body.items.find((e: { object: { kind: string } }) => e.object.kind === 'CaelusInstance');
    expect(crEvent).toMatchObject({ type: expect.stringMatching(/^(Normal|Warning)$/), object: { name: ns }, count: expect.any(Number), source: expect.any(String) });
    const seen = r.body.items.map((e: { lastSeen: string }) => e.lastSeen);
    expect(seen).toEqual([...seen].sort().reverse());
    expect((await api.call('GET', `/instances/${id}/events?limit=1`, { token: alice })).body.items).toHaveLength(1);
  });

  test('quota: hard and used per resource of the ResourceQuotas in the namespace', async () => {
    await core().createNamespacedResourceQuota({ namespace: ns, body: { metadata: { name: 'console-test' }, spec: { hard: { pods: '7', 'requests.cpu': '2' } } } });
    const r = await api.call('GET', `/instances/${id}/quota`, { token: alice });
    expect(r.status).toBe(200);
    expect(r.body.items).toEqual(expect.arrayContaining([expect.objectContaining({ quota: 'console-test', resource: 'pods', hard: '7', used: expect.any(String) })]));
  });

  test("another tenant gets 404 on every console route of the instance, exactly like a missing one", async () => {
    for (const path of ['events', 'history', 'objects', 'quota', 'values-preview']) {
      const r = await api.call('GET', `/instances/${id}/${path}`, { token: bob });
      expect({ path, status: r.status }).toEqual({ path, status: 404 });
      expect(r.headers.get('content-type')).toMatch(PROBLEM_JSON);
    }
  });

  // Last: it stops the operator, whose drift correction would otherwise
  // re-create the object before the request (metadata-only watches see the
  // delete within milliseconds).
  test('an object deleted behind helm\'s back is shown missing', async () => {
    await op?.stop();
    op = undefined;
    const before = await api.call('GET', `/instances/${id}/objects`, { token: alice });
    const configMap = before.body.items.find((o: { kind: string }) => o.kind === 'ConfigMap');
    expect(configMap).toMatchObject({ present: true });
    await core().deleteNamespacedConfigMap({ name: configMap.name, namespace: ns });
    const after = await api.call('GET', `/instances/${id}/objects`, { token: alice });
    expect(after.body.items.find((o: { kind: string }) => o.kind === 'ConfigMap')).toMatchObject({ present: false, ready: null, summary: 'missing' });
  });
});
