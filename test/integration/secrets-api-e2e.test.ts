// Issue 17, secrets as users have them, end to end through HTTP: the real
// REST API, real PostgreSQL, `caelus operator` with the database as catalog
// and the DB ↔ CR sync, real helm and the local control plane.
// - PUT/GET/DELETE /instances/{id}/secrets: owner or admin, 404 across
//   tenants, limits as problem+json naming the field, Cache-Control: no-store,
//   audited by name; a value set through the API reaches `<instance>-secrets`
//   and is absent from API responses, every API and operator log line,
//   Events and `pg_dump` of the database.
// - Template-declared secrets: a generated password is created once per
//   instance, differs between instances and survives an upgrade to a version
//   that still declares it; a required one keeps the instance Pending with
//   Ready=False/SecretsMissing naming it until it is set, then Running.
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import * as k8s from '@kubernetes/client-node';
import { execa } from 'execa';
import { pino } from 'pino';
import { SecretBox } from '../../src/db/secret-box.ts';
import { listAuditEvents } from '../../src/db/repositories/audit.ts';
import { ConditionType, Phase, Reason, type CaelusInstance } from '../../src/domain/instance.ts';
import { PROBLEM_JSON, WEBAPP_CHART, startApi, type ApiHarness, type ApiResponse } from '../support/api-server.ts';
import { testDatabases, type TestDatabase } from '../support/database.ts';
import { eventually, testKubeConfig, uniqueName } from '../support/kube.ts';
import { condition, getInstance, startTestOperator, type TestOperator } from '../support/operator.ts';

const postgres = testDatabases().find((c) => c.name === 'postgres');
if (!postgres) console.warn('DATABASE_URL is not set: skipping the secrets end-to-end test (it needs PostgreSQL and pg_dump)');
const describeWithPostgres = postgres ? describe : describe.skip;

const shard = uniqueName('sec');
const keyMaterial = randomBytes(32);
const KEYS = `k1:${keyMaterial.toString('base64')}`;
const box = new SecretBox([{ id: 'k1', key: keyMaterial }]);
const core = () => testKubeConfig().makeApiClient(k8s.CoreV1Api);
const STEP_MS = 120_000;

const apiLines: string[] = [];
const operatorLines: string[] = [];
const sinkInto = (lines: string[]) =>
  new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });

// Distinctive values, so any leak is unmistakable.
const DB_URL_VALUE = `s3cr3t-${randomBytes(12).toString('hex')}`;
const API_KEY_VALUE = `apikey-${randomBytes(12).toString('hex')}`;

function expectOk(res: ApiResponse, status: number, what: string): void {
  if (res.status !== status) throw new Error(`${what}: expected HTTP ${status}, got ${res.status} ${JSON.stringify(res.body)}`);
}

async function secretData(ns: string, name: string): Promise<Record<string, string> | undefined> {
  try {
    const s = await core().readNamespacedSecret({ name: `${name}-secrets`, namespace: ns });
    return Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
  } catch (err) {
    if ((err as { code?: number }).code === 404) return undefined;
    throw err;
  }
}

describeWithPostgres('secrets API and template-declared secrets (PostgreSQL)', () => {
  let db: TestDatabase;
  let api: ApiHarness;
  let op: TestOperator;
  let alice: string;
  let bob: string;
  const generatedValues: string[] = [];
  const instances: Record<string, { id: string; ns: string }> = {};

  beforeAll(async () => {
    db = await postgres!.create();
    api = await startApi(db, { secretBox: box, logger: pino({ level: 'debug' }, sinkInto(apiLines)) });
    op = await startTestOperator(shard, { CAELUS_ENCRYPTION_KEYS: KEYS, CAELUS_CHART_CACHE_DIR: `/tmp/${shard}-charts` }, { databaseUrl: db.url!, logLines: operatorLines });
    alice = await api.userToken(uniqueName('alice'));
    bob = await api.userToken(uniqueName('bob'));
    const gen = await api.call('POST', '/templates', { token: api.admin, body: { name: `${shard}-gen` } });
    expectOk(gen, 201, 'POST /templates gen');
    for (const version of ['1.0.0', '2.0.0']) {
      const v = await api.call('POST', `/templates/${gen.body.id}/versions`, {
        token: api.admin,
        body: {
          version,
          chart: { kind: 'local', path: WEBAPP_CHART },
          defaultValues: { message: `gen ${version}` },
          secrets: [{ name: 'dbPassword', generate: { length: 32, charset: 'alphanumeric' } }],
        },
      });
      expectOk(v, 201, `publish gen ${version}`);
      expect(v.body.secrets).toEqual([{ name: 'dbPassword', generate: { length: 32, charset: 'alphanumeric' } }]);
    }
    const req = await api.call('POST', '/templates', { token: api.admin, body: { name: `${shard}-req` } });
    expectOk(req, 201, 'POST /templates req');
    expectOk(
      await api.call('POST', `/templates/${req.body.id}/versions`, {
        token: api.admin,
        body: { version: '1.0.0', chart: { kind: 'local', path: WEBAPP_CHART }, secrets: [{ name: 'apiKey', required: true, description: 'the vendor API key' }] },
      }),
      201,
      'publish req 1.0.0',
    );
  }, STEP_MS);

  afterAll(async () => {
    for (const { id } of Object.values(instances)) await api?.call('DELETE', `/instances/${id}`, { token: api.admin }).catch(() => undefined);
    for (const { ns } of Object.values(instances)) await eventually(async () => ((await getInstance(ns)) ? undefined : true), 90_000).catch(() => undefined);
    await op?.stop();
    await api?.close();
    await db?.destroy();
  });

  const create = async (key: string, token: string, ref: string) => {
    const res = await api.call('POST', '/instances', { token, body: { templateVersionId: ref } });
    expectOk(res, 201, `POST /instances ${ref}`);
    instances[key] = { id: res.body.id, ns: res.body.namespace };
    return instances[key]!;
  };
  const waitCr = (ns: string, what: string, ok: (cr: CaelusInstance) => boolean) =>
    eventually(async () => {
      const cr = await getInstance(ns);
      return cr && ok(cr) ? cr : undefined;
    }, STEP_MS).catch((err: unknown) => {
      throw new Error(`${what}: ${(err as Error).message}`, { cause: err });
    });
  const ready = (cr: CaelusInstance) => condition(cr, ConditionType.Ready)?.status === 'True' && cr.status?.observedGeneration === cr.metadata.generation;

  it('a generated password is created once per instance, differs between instances and survives an upgrade', async () => {
    const a = await create('a', alice, `${shard}-gen@1.0.0`);
    const b = await create('b', alice, `${shard}-gen@1.0.0`);
    await waitCr(a.ns, 'instance a Running', ready);
    await waitCr(b.ns, 'instance b Running', ready);
    const aData = (await secretData(a.ns, a.ns))!;
    const bData = (await secretData(b.ns, b.ns))!;
    expect(aData['dbPassword']).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(bData['dbPassword']).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(aData['dbPassword']).not.toBe(bData['dbPassword']);
    generatedValues.push(aData['dbPassword']!, bData['dbPassword']!);
    // Listed by name and version, never by value.
    const listed = await api.call('GET', `/instances/${a.id}/secrets`, { token: alice });
    expectOk(listed, 200, 'GET secrets');
    expect(listed.body.items).toEqual([expect.objectContaining({ name: 'dbPassword', version: 1 })]);

    const up = await api.call('POST', `/instances/${a.id}/upgrade`, { token: api.admin, body: { templateVersionId: `${shard}-gen@2.0.0` } });
    expect([200, 202]).toContain(up.status);
    const upgraded = await waitCr(a.ns, 'instance a upgraded to 2.0.0', (cr) => ready(cr) && cr.status?.templateVersion?.version === '2.0.0' && (cr.status?.release?.revision ?? 0) >= 2);
    expect(upgraded.status?.phase).toBe(Phase.Running);
    expect((await secretData(a.ns, a.ns))?.['dbPassword']).toBe(aData['dbPassword']);
    expect((await api.call('GET', `/instances/${a.id}/secrets`, { token: alice })).body.items).toEqual([expect.objectContaining({ name: 'dbPassword', version: 1 })]);
  }, 2 * STEP_MS);

  it('PUT sets a secret that reaches <instance>-secrets; GET lists names and versions only; DELETE removes it; all no-store', async () => {
    const a = instances['a']!;
    const started = Date.now();
    const put = await api.call('PUT', `/instances/${a.id}/secrets/databaseUrl`, { token: alice, body: { value: DB_URL_VALUE } });
    expectOk(put, 200, 'PUT secret');
    expect(put.headers.get('cache-control')).toBe('no-store');
    expect(put.body).toEqual({ name: 'databaseUrl', version: 1, createdAt: expect.any(String), updatedAt: expect.any(String) });
    await eventually(async () => ((await secretData(a.ns, a.ns))?.['databaseUrl'] === DB_URL_VALUE ? true : undefined), 30_000, 25);
    process.stderr.write(`[figure] PUT /instances/{id}/secrets/{name} → <instance>-secrets after ${Date.now() - started} ms\n`);

    const again = await api.call('PUT', `/instances/${a.id}/secrets/databaseUrl`, { token: alice, body: { value: `${DB_URL_VALUE}-2` } });
    expect(again.body.version).toBe(2);
    const list = await api.call('GET', `/instances/${a.id}/secrets`, { token: alice });
    expect(list.headers.get('cache-control')).toBe('no-store');
    expect(list.body.items.map((s: { name: string; version: number }) => [s.name, s.version])).toEqual([
      ['databaseUrl', 2],
      ['dbPassword', 1],
    ]);
    expect(JSON.stringify(list.body)).not.toContain(DB_URL_VALUE);
    // The admin may too.
    expectOk(await api.call('GET', `/instances/${a.id}/secrets`, { token: api.admin }), 200, 'admin GET');

    const del = await api.call('DELETE', `/instances/${a.id}/secrets/databaseUrl`, { token: alice });
    expect(del.status).toBe(204);
    expect(del.headers.get('cache-control')).toBe('no-store');
    await eventually(async () => {
      const data = await secretData(a.ns, a.ns);
      return data && !('databaseUrl' in data) && data['dbPassword'] ? true : undefined;
    }, 30_000, 50);
    expect((await api.call('DELETE', `/instances/${a.id}/secrets/databaseUrl`, { token: alice })).status).toBe(404);

    // Audited by name, never by value.
    const audit = await listAuditEvents(db.db, { instanceId: a.id });
    const secretAudit = audit.filter((e) => e.action.startsWith('secret.'));
    expect(secretAudit.map((e) => e.action)).toEqual(expect.arrayContaining(['secret.generate', 'secret.put', 'secret.delete']));
    expect(JSON.stringify(secretAudit)).not.toContain(DB_URL_VALUE);
  }, STEP_MS);

  it('another tenant gets 404 for every secret route; bad names and values are problem+json naming the field', async () => {
    const a = instances['a']!;
    for (const [method, path, body] of [
      ['GET', `/instances/${a.id}/secrets`, undefined],
      ['PUT', `/instances/${a.id}/secrets/x`, { value: 'v' }],
      ['DELETE', `/instances/${a.id}/secrets/dbPassword`, undefined],
    ] as const) {
      const res = await api.call(method, path, { token: bob, ...(body ? { body } : {}) });
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toMatch(PROBLEM_JSON);
    }
    const badName = await api.call('PUT', `/instances/${a.id}/secrets/${encodeURIComponent('no/slash')}`, { token: alice, body: { value: 'v' } });
    expect(badName.status).toBe(400);
    expect(badName.body.field).toBe('/params/name');
    const tooBig = await api.call('PUT', `/instances/${a.id}/secrets/big`, { token: alice, body: { value: 'x'.repeat(64 * 1024 + 1) } });
    expect(tooBig.status).toBe(400);
    expect(tooBig.body.field).toBe('/body/value');
    const multiByte = await api.call('PUT', `/instances/${a.id}/secrets/big`, { token: alice, body: { value: 'é'.repeat(40 * 1024) } });
    expect(multiByte.status).toBe(400);
    expect(multiByte.body.field).toBe('/body/value');
    const noValue = await api.call('PUT', `/instances/${a.id}/secrets/x`, { token: alice, body: {} });
    expect(noValue.body.field).toBe('/body/value');
    const badDecl = await api.call('POST', `/templates/${shard}-gen/versions`, {
      token: api.admin,
      body: { version: '3.0.0', chart: { kind: 'local', path: WEBAPP_CHART }, secrets: [{ name: 'p', generate: { length: 4 } }] },
    });
    expect(badDecl.status).toBe(400);
    expect(badDecl.body.field).toBe('/body/secrets/0/generate/length');
  }, STEP_MS);

  it('a required secret keeps the instance Pending with SecretsMissing naming it; setting it through the API makes it Running', async () => {
    const r = await create('r', alice, `${shard}-req@1.0.0`);
    const pending = await waitCr(r.ns, 'Pending/SecretsMissing', (cr) => condition(cr, ConditionType.Ready)?.reason === Reason.SecretsMissing);
    expect(pending.status?.phase).toBe(Phase.Pending);
    expect(condition(pending, ConditionType.Ready)?.message).toContain('apiKey');
    expect(pending.status?.release?.revision).toBeUndefined();
    expectOk(await api.call('PUT', `/instances/${r.id}/secrets/apiKey`, { token: alice, body: { value: API_KEY_VALUE } }), 200, 'PUT apiKey');
    const running = await waitCr(r.ns, 'Running after apiKey is set', ready);
    expect(running.status?.phase).toBe(Phase.Running);
    expect((await secretData(r.ns, r.ns))?.['apiKey']).toBe(API_KEY_VALUE);
  }, 2 * STEP_MS);

  it('no value is in pg_dump, any API or operator log line, or any Event', async () => {
    const values = [DB_URL_VALUE, `${DB_URL_VALUE}-2`, API_KEY_VALUE, ...generatedValues];
    expect(generatedValues).toHaveLength(2);
    const dump = await execa('pg_dump', ['--data-only', db.url!]);
    expect(dump.stdout).toContain('instance_secret');
    const events = await core().listEventForAllNamespaces();
    const eventText = JSON.stringify(events.items.map((e) => [e.reason, e.message]));
    for (const v of values) {
      const b64 = Buffer.from(v).toString('base64');
      expect(dump.stdout.includes(v) || dump.stdout.includes(b64)).toBe(false);
      expect(apiLines.filter((l) => l.includes(v) || l.includes(b64))).toEqual([]);
      expect(operatorLines.filter((l) => l.includes(v) || l.includes(b64))).toEqual([]);
      expect(eventText.includes(v)).toBe(false);
    }
    expect(apiLines.length).toBeGreaterThan(0);
    expect(operatorLines.length).toBeGreaterThan(0);
    expect(eventText).toContain('SecretsMissing');
  });

  it('OpenAPI documents the secrets and chart-credential routes', async () => {
    const doc = (await api.call('GET', '/openapi.json')).body;
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/instances/{id}/secrets', '/instances/{id}/secrets/{name}', '/chart-credentials']));
    expect(doc.paths['/instances/{id}/secrets/{name}'].put.requestBody.content['application/json'].schema.properties.value.maxLength).toBe(64 * 1024);
  });
});
