// The REST API end to end over real HTTP: an admin publishes a template (the
// chart check runs the real helm), a tenant creates and manages an instance,
// upgrade rules, quota, idempotency, live status from the CR, OpenAPI, probes.
import SwaggerParser from '@apidevtools/swagger-parser';
import * as k8s from '@kubernetes/client-node';
import { sql } from 'kysely';
import { ClusterLiveStatusReader } from '../../src/api/live-status.ts';
import { listAuditEvents } from '../../src/db/repositories/audit.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { PROBLEM_JSON, WEBAPP_CHART, publishWebapp, startApi, type ApiHarness } from '../support/api-server.ts';
import { testDatabases, type TestDatabase } from '../support/database.ts';
import { eventually, testKubeConfig, uniqueName } from '../support/kube.ts';

const SCHEMA = {
  type: 'object',
  properties: { replicaCount: { type: 'integer', minimum: 0, maximum: 5 }, message: { type: 'string' }, service: { type: 'object', properties: { port: { type: 'integer' } } } },
};

describe.each(testDatabases())('REST API on $name', ({ name: dialect, create }) => {
  let h: TestDatabase;
  let api: ApiHarness;
  beforeAll(async () => {
    h = await create();
    api = await startApi(h, { maxInstancesPerUser: 3, liveStatus: new ClusterLiveStatusReader(testKubeConfig(), silentLogger()) });
  });
  afterAll(async () => {
    await api?.close();
    await h?.destroy();
  });

  test('admin publishes a template whose chart renders; a tenant creates an instance: row at spec_version 1 with an audit row', async () => {
    const { templateId, versionIds } = await publishWebapp(api, 'webapp', ['1.0.0'], SCHEMA);
    const list = await api.call('GET', '/templates', { token: await api.userToken('alice') });
    expect(list.status).toBe(200);
    expect(list.body.items.map((t: { name: string }) => t.name)).toContain('webapp');
    const one = await api.call('GET', '/templates/webapp', { token: await api.userToken('alice') });
    expect(one.body).toMatchObject({ id: templateId, versions: [{ id: versionIds['1.0.0'], version: '1.0.0', chart: { kind: 'local', path: WEBAPP_CHART } }] });

    const alice = await api.call('POST', '/instances', {
      token: await api.userToken('alice'),
      body: { templateVersionId: 'webapp@1.0.0', domainName: 'alice.example.com', values: { replicaCount: 2 } },
      headers: { 'x-request-id': 'req-create-1' },
    });
    expect(alice.status).toBe(201);
    expect(alice.headers.get('x-request-id')).toBe('req-create-1');
    expect(alice.headers.get('location')).toBe(`/instances/${alice.body.id}`);
    expect(alice.body).toMatchObject({ userId: 'alice', state: 'Running', status: 'Pending', source: 'api', specVersion: 1, domainName: 'alice.example.com' });
    expect(alice.body.namespace).toMatch(/^alice-[0-9a-f]{8}$/);

    const row = await h.db.selectFrom('deployment_instance').selectAll().where('id', '=', alice.body.id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ user_id: 'alice', spec_version: 1, product_template_version_id: versionIds['1.0.0'], values: { replicaCount: 2 }, source: 'api' });
    const audit = await listAuditEvents(h.db, { instanceId: alice.body.id });
    expect(audit.map((a) => a.action)).toEqual(['instance.create']);
    expect(audit[0]?.actor).toMatch(/^token:[0-9a-f-]{36}$/);
  });

  test('a version whose chart does not render is refused with 422 naming the field, and not stored', async () => {
    const t = await api.call('POST', '/templates', { token: api.admin, body: { name: 'broken' } });
    const before = await count(h, 'product_template_version');
    const missing = await api.call('POST', `/templates/${t.body.id}/versions`, {
      token: api.admin,
      body: { version: '1.0.0', chart: { kind: 'local', path: `${WEBAPP_CHART}-does-not-exist` } },
    });
    expect(missing.status).toBe(422);
    expect(missing.headers.get('content-type')).toMatch(PROBLEM_JSON);
    expect(missing.body).toMatchObject({ type: expect.stringMatching(/chart-check-failed$/), field: '/body/chart', helmReason: 'ChartNotFound' });
    const badDefaults = await api.call('POST', `/templates/${t.body.id}/versions`, {
      token: api.admin,
      body: { version: '1.0.0', chart: { kind: 'local', path: WEBAPP_CHART }, defaultValues: { replicaCount: 'many' } },
    });
    expect(badDefaults.status).toBe(422);
    expect(badDefaults.body).toMatchObject({ field: '/body/defaultValues', helmReason: 'RenderFailed' });
    expect(await count(h, 'product_template_version')).toBe(before);
  });

  test('GET /instances/{id}: effective values with the source of each key; status, conditions and drift live from the CR', async () => {
    const token = await api.userToken('bob');
    const created = await api.call('POST', '/instances', { token, body: { templateVersionId: 'webapp@1.0.0', values: { replicaCount: 3 } } });
    expect(created.status).toBe(201);
    let got = await api.call('GET', `/instances/${created.body.id}`, { token });
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({
      statusSource: 'database',
      status: 'Pending',
      conditions: [],
      effectiveValues: { message: 'v1.0.0', replicaCount: 3 },
      valuesProvenance: { '/message': 'template', '/replicaCount': 'instance' },
    });

    // What the operator would write: a CR named after the instance, with status.
    const kc = testKubeConfig();
    const objects = kc.makeApiClient(k8s.CustomObjectsApi);
    const crName = created.body.namespace as string;
    const gvp = { group: 'caelus.io', version: 'v1', plural: 'caelusinstances' };
    await objects.createClusterCustomObject({
      ...gvp,
      body: {
        apiVersion: 'caelus.io/v1',
        kind: 'CaelusInstance',
        // A shard no operator watches: this CR is only read, never reconciled.
        metadata: { name: crName, labels: { 'caelus.io/test-shard': uniqueName('api-none') } },
        spec: { userId: 'bob', productTemplateVersion: 'webapp@1.0.0' },
      },
    });
    try {
      const now = new Date().toISOString();
      await objects.patchClusterCustomObjectStatus(
        {
          ...gvp,
          name: crName,
          body: {
            status: {
              phase: 'Running',
              url: 'http://bob.example.com',
              conditions: [{ type: 'Ready', status: 'True', reason: 'InstallSucceeded', message: 'installed', lastTransitionTime: now }],
              drift: { detected: false },
            },
          },
        },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
      // The API reads from a watch: the status shows once its event has arrived.
      got = await eventually(async () => {
        const g = await api.call('GET', `/instances/${created.body.id}`, { token });
        return g.body.statusSource === 'cluster' ? g : undefined;
      }, 5_000, 20);
      expect(got.body).toMatchObject({
        statusSource: 'cluster',
        status: 'Running',
        url: 'http://bob.example.com',
        conditions: [{ type: 'Ready', status: 'True', reason: 'InstallSucceeded' }],
        drift: { detected: false },
      });
    } finally {
      await objects.deleteClusterCustomObject({ ...gvp, name: crName });
    }
  });

  test('PATCH, hibernate, wake, activity and DELETE change the row (spec_version bumps, audited)', async () => {
    const token = await api.userToken('carol');
    const c = await api.call('POST', '/instances', { token, body: { templateVersionId: 'webapp@1.0.0' } });
    const id = c.body.id as string;
    const patched = await api.call('PATCH', `/instances/${id}`, { token, body: { values: { message: 'hi' }, domainName: 'carol.example.com' } });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ values: { message: 'hi' }, domainName: 'carol.example.com', specVersion: 2 });
    const bad = await api.call('PATCH', `/instances/${id}`, { token, body: { values: { replicaCount: 99 } } });
    expect(bad.status).toBe(422);
    expect(bad.body).toMatchObject({ type: expect.stringMatching(/invalid-values$/), field: '/body/values/replicaCount' });

    const hib = await api.call('POST', `/instances/${id}/hibernate`, { token });
    expect(hib.status).toBe(202);
    expect(hib.body).toMatchObject({ state: 'Hibernated', specVersion: 3 });
    expect((await api.call('POST', `/instances/${id}/hibernate`, { token })).status).toBe(200);
    const wake = await api.call('POST', `/instances/${id}/wake`, { token });
    expect(wake.body).toMatchObject({ state: 'Running', specVersion: 4 });

    const act = await api.call('POST', `/instances/${id}/activity`, { token });
    expect(act.status).toBe(200);
    expect(Date.now() - Date.parse(act.body.lastActivityAt)).toBeLessThan(60_000);
    expect(act.body.specVersion).toBe(4);
    const row = await h.db.selectFrom('deployment_instance').select(['last_activity_at', 'spec_version']).where('id', '=', id).executeTakeFirstOrThrow();
    expect(row.last_activity_at).toBeInstanceOf(Date);

    const del = await api.call('DELETE', `/instances/${id}`, { token });
    expect(del.status).toBe(202);
    const deletedRow = await h.db.selectFrom('deployment_instance').select('deleted_at').where('id', '=', id).executeTakeFirstOrThrow();
    expect(deletedRow.deleted_at).toBeInstanceOf(Date);
    expect((await api.call('GET', `/instances/${id}`, { token })).status).toBe(404);
    const actions = (await listAuditEvents(h.db, { instanceId: id })).map((a) => a.action).sort();
    expect(actions).toEqual(['instance.activity', 'instance.create', 'instance.delete', 'instance.spec', 'instance.spec', 'instance.spec'].sort());
  });

  test('upgrade: admin only, same template only, no downgrade unless allowDowngrade', async () => {
    const { versionIds } = await publishWebapp(api, 'shop', ['1.0.0', '1.1.0', '2.0.0'], SCHEMA);
    await publishWebapp(api, 'other', ['9.0.0']);
    const token = await api.userToken('dave');
    const c = await api.call('POST', '/instances', { token, body: { templateVersionId: 'shop@1.1.0' } });
    const id = c.body.id as string;

    expect((await api.call('POST', `/instances/${id}/upgrade`, { token, body: { templateVersionId: 'shop@2.0.0' } })).status).toBe(403);
    const other = await api.call('POST', `/instances/${id}/upgrade`, { token: api.admin, body: { templateVersionId: 'other@9.0.0' } });
    expect(other.status).toBe(422);
    expect(other.body).toMatchObject({ type: expect.stringMatching(/upgrade-refused$/), field: '/body/templateVersionId' });
    const down = await api.call('POST', `/instances/${id}/upgrade`, { token: api.admin, body: { templateVersionId: 'shop@1.0.0' } });
    expect(down.status).toBe(422);
    expect(down.body.detail).toMatch(/allowDowngrade/);
    const unknown = await api.call('POST', `/instances/${id}/upgrade`, { token: api.admin, body: { templateVersionId: 'shop@7.0.0' } });
    expect(unknown.status).toBe(422);
    expect((await h.db.selectFrom('deployment_instance').select('spec_version').where('id', '=', id).executeTakeFirstOrThrow()).spec_version).toBe(1);

    const up = await api.call('POST', `/instances/${id}/upgrade`, { token: api.admin, body: { templateVersionId: versionIds['2.0.0'] } });
    expect(up.status).toBe(202);
    expect(up.body).toMatchObject({ templateVersion: { id: versionIds['2.0.0'], version: '2.0.0' }, specVersion: 2 });
    const back = await api.call('POST', `/instances/${id}/upgrade`, { token: api.admin, body: { templateVersionId: 'shop@1.0.0', allowDowngrade: true } });
    expect(back.status).toBe(202);
    expect(back.body).toMatchObject({ templateVersion: { version: '1.0.0' }, specVersion: 3 });
  });

  test('instances adopted from git (source cluster) are read-only: 409 for every change', async () => {
    const token = await api.userToken('erin');
    const c = await api.call('POST', '/instances', { token, body: { templateVersionId: 'webapp@1.0.0' } });
    const id = c.body.id as string;
    await h.db.updateTable('deployment_instance').set({ source: 'cluster' }).where('id', '=', id).execute();
    const attempts = [
      api.call('PATCH', `/instances/${id}`, { token, body: { values: { message: 'x' } } }),
      api.call('POST', `/instances/${id}/upgrade`, { token: api.admin, body: { templateVersionId: 'webapp@1.0.0' } }),
      api.call('POST', `/instances/${id}/hibernate`, { token }),
      api.call('POST', `/instances/${id}/wake`, { token }),
      api.call('DELETE', `/instances/${id}`, { token }),
    ];
    for (const r of await Promise.all(attempts)) {
      expect(r.status).toBe(409);
      expect(r.body).toMatchObject({ type: expect.stringMatching(/read-only-instance$/), detail: expect.stringMatching(/git/) });
    }
    expect((await api.call('GET', `/instances/${id}`, { token })).status).toBe(200);
  });

  test('quota: the default applies, an admin override changes it, and concurrent creates never exceed it', async () => {
    const token = await api.userToken('frank');
    const results = await Promise.all(Array.from({ length: 6 }, () => api.call('POST', '/instances', { token, body: { templateVersionId: 'webapp@1.0.0' } })));
    expect(results.filter((r) => r.status === 201)).toHaveLength(3);
    const refused = results.filter((r) => r.status === 409);
    expect(refused).toHaveLength(3);
    expect(refused[0]?.body).toMatchObject({ type: expect.stringMatching(/quota-exceeded$/), limit: 3, current: 3 });
    expect(await liveCount(h, 'frank')).toBe(3);

    expect((await api.call('PUT', '/users/frank/quota', { token, body: { maxInstances: 4 } })).status).toBe(403);
    const set = await api.call('PUT', '/users/frank/quota', { token: api.admin, body: { maxInstances: 4 } });
    expect(set.body).toMatchObject({ userId: 'frank', limit: 4, used: 3, overridden: true });
    expect((await api.call('POST', '/instances', { token, body: { templateVersionId: 'webapp@1.0.0' } })).status).toBe(201);
    expect((await api.call('POST', '/instances', { token, body: { templateVersionId: 'webapp@1.0.0' } })).status).toBe(409);
  });

  test('Idempotency-Key: a retry returns the same response and creates nothing; the key with another body is refused', async () => {
    const token = await api.userToken('gina');
    const key = `key-${uniqueName('idem')}`;
    const body = { templateVersionId: 'webapp@1.0.0', values: { message: 'once' } };
    const first = await api.call('POST', '/instances', { token, body, headers: { 'idempotency-key': key } });
    const second = await api.call('POST', '/instances', { token, body, headers: { 'idempotency-key': key } });
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.body).toEqual(first.body);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(await liveCount(h, 'gina')).toBe(1);
    const reused = await api.call('POST', '/instances', { token, body: { ...body, values: { message: 'twice' } }, headers: { 'idempotency-key': key } });
    expect(reused.status).toBe(422);
    expect(reused.body).toMatchObject({ type: expect.stringMatching(/idempotency-key-reused$/), field: '/headers/idempotency-key' });
    expect(await liveCount(h, 'gina')).toBe(1);
    // A refused request frees its key: the corrected retry with the same key goes through.
    const k2 = `key-${uniqueName('idem')}`;
    expect((await api.call('POST', '/instances', { token, body: { templateVersionId: 'webapp@1.0.0', values: { replicaCount: 50 } }, headers: { 'idempotency-key': k2 } })).status).toBe(422);
    expect((await api.call('POST', '/instances', { token, body: { templateVersionId: 'webapp@1.0.0', values: { replicaCount: 50 } }, headers: { 'idempotency-key': k2 } })).status).toBe(422);
  });

  test('list: filters and cursor pagination visit every instance once', async () => {
    const token = await api.userToken('henry');
    await api.call('PUT', '/users/henry/quota', { token: api.admin, body: { maxInstances: 20 } });
    const ids = new Set<string>();
    for (let i = 0; i < 7; i++) ids.add((await api.call('POST', '/instances', { token, body: { templateVersionId: 'shop@1.0.0' } })).body.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { status: number; body: { items: Array<{ id: string }>; nextCursor: string | null } } = await api.call(
        'GET',
        `/instances?limit=3${cursor ? `&cursor=${cursor}` : ''}`,
        { token },
      );
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(3);
      seen.push(...page.body.items.map((i) => i.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen.sort()).toEqual([...ids].sort());

    const shop = (await api.call('GET', '/templates/shop', { token })).body.id as string;
    const byTemplate = await api.call('GET', `/instances?templateId=${shop}&limit=500`, { token: api.admin });
    expect(byTemplate.body.items.every((i: { template: { name: string } }) => i.template.name === 'shop')).toBe(true);
    const byUser = await api.call('GET', '/instances?userId=henry&status=Pending&limit=500', { token: api.admin });
    expect(byUser.body.items.map((i: { id: string }) => i.id).sort()).toEqual([...ids].sort());
    expect((await api.call('GET', '/instances?cursor=bm90LWEtY3Vyc29y', { token })).body).toMatchObject({ field: '/query/cursor' });
  });

  test('/openapi.json is a valid OpenAPI 3 document listing the routes; /docs serves the UI', async () => {
    const doc = (await api.call('GET', '/openapi.json')).body;
    expect(doc.openapi).toMatch(/^3\./);
    await SwaggerParser.validate(structuredClone(doc));
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/templates',
        '/templates/{id}',
        '/templates/{id}/versions',
        '/instances',
        '/instances/{id}',
        '/instances/{id}/upgrade',
        '/instances/{id}/hibernate',
        '/instances/{id}/wake',
        '/instances/{id}/activity',
        '/healthz',
        '/readyz',
        '/metrics',
      ]),
    );
    expect(Object.keys(doc.paths['/instances/{id}'])).toEqual(expect.arrayContaining(['get', 'patch', 'delete']));
    const docs = await fetch(`${api.url}/docs/`);
    expect(docs.status).toBe(200);
    expect(await docs.text()).toMatch(/swagger/i);
  });

  test('/healthz, /readyz (database reachable), /metrics with request durations by route and status', async () => {
    expect((await api.call('GET', '/healthz')).body).toEqual({ status: 'ok' });
    expect((await api.call('GET', '/readyz')).body).toMatchObject({ status: 'ok' });
    const metrics = await api.call('GET', '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.body).toMatch(/caelus_api_request_duration_seconds_count\{method="POST",route="\/instances",status="201"\} \d+/);
    expect(metrics.body).toMatch(/caelus_api_request_duration_seconds_count\{method="GET",route="\/instances\/:id",status="404"\} \d+/);
    console.log(`[figure] ${dialect}: API test server served ${(metrics.body.match(/caelus_api_request_duration_seconds_count\{[^}]*\} (\d+)/g) ?? []).length} route/status series`);
  });
});

async function count(h: TestDatabase, table: 'product_template_version' | 'deployment_instance'): Promise<number> {
  const r = await sql<{ n: string }>`select count(*) as n from ${sql.table(table)}`.execute(h.db);
  return Number(r.rows[0]?.n);
}

async function liveCount(h: TestDatabase, userId: string): Promise<number> {
  const r = await h.db
    .selectFrom('deployment_instance')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('user_id', '=', userId)
    .where('deleted_at', 'is', null)
    .executeTakeFirstOrThrow();
  return Number(r.n);
}
