// Issue 19.1 + 14.4 end to end: the effective values GET /instances/{id}
// shows are exactly the values helm received (`helm get values` on the real
// release), and the host an instance is served under comes from its own
// domainName, never from its values. Real REST API, real PostgreSQL,
// `caelus operator` with the DB↔CR sync, real helm, local control plane.
import * as k8s from '@kubernetes/client-node';
import { execa } from 'execa';
import { ClusterLiveStatusReader } from '../../src/api/live-status.ts';
import { ConditionType } from '../../src/domain/instance.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { PROBLEM_JSON, WEBAPP_CHART, startApi, type ApiHarness, type ApiResponse } from '../support/api-server.ts';
import { testDatabases, type TestDatabase } from '../support/database.ts';
import { eventually, helmBin, testKubeConfig, uniqueName } from '../support/kube.ts';
import { startTestOperator, type TestOperator } from '../support/operator.ts';

const postgres = testDatabases().find((c) => c.name === 'postgres');
if (!postgres) console.warn('DATABASE_URL is not set: skipping the effective-values end-to-end test (the operator needs PostgreSQL)');
const describeWithPostgres = postgres ? describe : describe.skip;

const shard = uniqueName('vals');
const template = uniqueName('valweb');

function expectStatus(res: ApiResponse, status: number, what: string): void {
  if (res.status !== status) throw new Error(`${what}: expected HTTP ${status}, got ${res.status} ${JSON.stringify(res.body)}`);
}

async function helmGetValues(release: string, ns: string): Promise<Record<string, unknown>> {
  const r = await execa(helmBin(), ['get', 'values', release, '-n', ns, '-o', 'json', '--kubeconfig', process.env['CAELUS_TEST_KUBECONFIG']!]);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

describeWithPostgres('effective values and owned domains, API + operator + helm (PostgreSQL)', () => {
  let db: TestDatabase;
  let api: ApiHarness;
  let op: TestOperator;

  beforeAll(async () => {
    db = await postgres!.create();
    // No platform default: only the version's suffixes apply.
    api = await startApi(db, { liveStatus: new ClusterLiveStatusReader(testKubeConfig(), silentLogger()), domainSuffixes: [] });
    op = await startTestOperator(shard, {}, { databaseUrl: db.url! });
    const t = await api.call('POST', '/templates', { token: api.admin, body: { name: template } });
    expectStatus(t, 201, 'POST /templates');
    const v = await api.call('POST', `/templates/${t.body.id}/versions`, {
      token: api.admin,
      body: {
        version: '1.0.0',
        chart: { kind: 'local', path: WEBAPP_CHART },
        defaultValues: { message: 'template-default', replicaCount: 1, service: { port: 8080 } },
        domainSuffixes: ['*.apps.example.com', '{userId}.dev.example.com'],
      },
    });
    expectStatus(v, 201, 'POST /templates/{id}/versions');
    expect(v.body.domainSuffixes).toEqual(['*.apps.example.com', '{userId}.dev.example.com']);
  });

  afterAll(async () => {
    await op?.stop();
    await api?.close();
    await db?.destroy();
  });

  test('GET /instances/{id} effective values equal `helm get values`; values.domainName does not move the host; a second tenant cannot take the domain', async () => {
    const alice = uniqueName('alice');
    const bob = uniqueName('bob');
    const host = `${uniqueName('shop')}.apps.example.com`;
    const created = await api.call('POST', '/instances', {
      token: await api.userToken(alice),
      // The tenant tries to point the chart at another host through its values.
      body: { templateVersionId: `${template}@1.0.0`, domainName: host, values: { message: 'mine', domainName: 'victim.apps.example.com', service: { port: 9090 } } },
    });
    expectStatus(created, 201, 'POST /instances (alice)');
    const { id, namespace: ns } = created.body as { id: string; namespace: string };

    // Bob asks for the same host: 409 naming the field, nothing stored.
    const taken = await api.call('POST', '/instances', { token: await api.userToken(bob), body: { templateVersionId: `${template}@1.0.0`, domainName: host } });
    expect(taken.status).toBe(409);
    expect(taken.headers.get('content-type')).toMatch(PROBLEM_JSON);
    expect(taken.body.field).toBe('/body/domainName');
    // A host outside the allowed suffixes is refused before any row exists; his own {userId} host is fine.
    const outside = await api.call('POST', '/instances', { token: await api.userToken(bob), body: { templateVersionId: `${template}@1.0.0`, domainName: 'bob.example.org' } });
    expect(outside.status).toBe(422);
    expect(outside.body).toMatchObject({ field: '/body/domainName', allowedDomainSuffixes: ['*.apps.example.com', '{userId}.dev.example.com'] });
    const aliceHostForBob = await api.call('POST', '/instances', {
      token: await api.userToken(bob),
      body: { templateVersionId: `${template}@1.0.0`, domainName: `${alice}.dev.example.com` },
    });
    expect(aliceHostForBob.status).toBe(422);
    const bobs = await db.db.selectFrom('deployment_instance').select('id').where('user_id', '=', bob).execute();
    expect(bobs).toEqual([]);

    const detail = await eventually(
      async () => {
        const d = await api.call('GET', `/instances/${id}`, { token: await api.userToken(alice) });
        const ready = (d.body.conditions ?? []).find((c: { type: string }) => c.type === ConditionType.Ready);
        return d.status === 200 && d.body.status === 'Running' && ready?.status === 'True' ? d.body : undefined;
      },
      180_000,
      500,
    );

    const helmValues = await helmGetValues(ns, ns);
    expect(detail.effectiveValues).toEqual(helmValues);
    expect(helmValues).toMatchObject({ domainName: host, message: 'mine', replicaCount: 1, service: { port: 9090 } });
    expect(detail.valuesProvenance).toMatchObject({ '/domainName': 'caelus', '/message': 'instance', '/replicaCount': 'template', '/service/port': 'instance' });

    // What the cluster serves: the Ingress names the instance's own host.
    const ingress = await testKubeConfig().makeApiClient(k8s.NetworkingV1Api).readNamespacedIngress({ name: ns, namespace: ns });
    expect(ingress.spec?.rules?.map((r) => r.host)).toEqual([host]);
  });
});
