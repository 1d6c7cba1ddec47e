// Tenant isolation and hostile input, over real HTTP on PGlite and
// PostgreSQL: another tenant's instance is invisible (404 everywhere), admin
// routes are closed to users (403), and bad bodies are refused with a
// problem+json naming the field before anything reaches the database.
import { sql } from 'kysely';
import type { ChartChecker } from '../../src/api/chart-check.ts';
import { PROBLEM_JSON, WEBAPP_CHART, publishWebapp, startApi, type ApiHarness } from '../support/api-server.ts';
import { testDatabases, type TestDatabase } from '../support/database.ts';

// Isolation and validation do not depend on helm: a checker that accepts
// every chart keeps this file fast (api-flow.test.ts runs the real one).
const acceptAll: ChartChecker = { check: async () => undefined };

const SCHEMA = { type: 'object', properties: { replicaCount: { type: 'integer', minimum: 0, maximum: 5 }, message: { type: 'string' } }, additionalProperties: false };

describe.each(testDatabases())('API isolation and bad input on $name', ({ name: dialect, create }) => {
  let h: TestDatabase;
  let api: ApiHarness;
  let alice: string;
  let bob: string;
  let aliceInstance: string;
  let versionId: string;
  beforeAll(async () => {
    h = await create();
    api = await startApi(h, { chartChecker: acceptAll, maxInstancesPerUser: 1000 });
    const published = await publishWebapp(api, 'webapp', ['1.0.0', '2.0.0'], SCHEMA);
    versionId = published.versionIds['1.0.0']!;
    alice = await api.userToken('alice');
    bob = await api.userToken('bob');
    const c = await api.call('POST', '/instances', { token: alice, body: { templateVersionId: 'webapp@1.0.0', values: { message: 'mine' } } });
    expect(c.status).toBe(201);
    aliceInstance = c.body.id;
  });
  afterAll(async () => {
    await api?.close();
    await h?.destroy();
  });

  test("user B cannot list, read, change, upgrade, hibernate, report activity on or delete user A's instance: 404 each time, row untouched", async () => {
    const before = await snapshot(h);
    const list = await api.call('GET', '/instances', { token: bob });
    expect(list.status).toBe(200);
    expect(list.body.items).toEqual([]);
    const id = aliceInstance;
    const attempts: Array<[string, string, unknown]> = [
      ['GET', `/instances/${id}`, undefined],
      ['PATCH', `/instances/${id}`, { values: { message: 'hacked' } }],
      ['POST', `/instances/${id}/upgrade`, { templateVersionId: 'webapp@2.0.0' }],
      ['POST', `/instances/${id}/hibernate`, undefined],
      ['POST', `/instances/${id}/wake`, undefined],
      ['POST', `/instances/${id}/activity`, undefined],
      ['DELETE', `/instances/${id}`, undefined],
    ];
    for (const [method, path, body] of attempts) {
      const r = await api.call(method, path, { token: bob, body });
      expect({ method, path, status: r.status }).toEqual({ method, path, status: 404 });
      expect(r.headers.get('content-type')).toMatch(PROBLEM_JSON);
      // Same answer as for an id that does not exist: nothing tells B the instance is there.
      const ghost = await api.call(method, path.replace(id, '00000000-0000-4000-8000-000000000000'), { token: bob, body });
      expect(ghost.status).toBe(404);
      expect(Object.keys(ghost.body).sort()).toEqual(Object.keys(r.body).sort());
    }
    // B's filters cannot reach A either.
    expect((await api.call('GET', '/instances?userId=alice', { token: bob })).status).toBe(403);
    expect(await snapshot(h)).toEqual(before);
    const row = await h.db.selectFrom('deployment_instance').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ spec_version: 1, values: { message: 'mine' }, deleted_at: null, state: 'Running' });
    // A still sees it; the admin sees everyone's.
    expect((await api.call('GET', `/instances/${id}`, { token: alice })).status).toBe(200);
    expect((await api.call('GET', `/instances?userId=alice`, { token: api.admin })).body.items.map((i: { id: string }) => i.id)).toContain(id);
  });

  test('users cannot call admin routes (403) and nothing is written', async () => {
    const before = await snapshot(h);
    const template = (await api.call('GET', '/templates/webapp', { token: alice })).body.id as string;
    const adminCalls: Array<[string, string, unknown]> = [
      ['POST', '/templates', { name: 'mine' }],
      ['POST', `/templates/${template}/versions`, { version: '3.0.0', chart: { kind: 'local', path: WEBAPP_CHART } }],
      ['PUT', '/users/alice/quota', { maxInstances: 1000 }],
      ['GET', '/users/alice/quota', undefined],
      ['POST', `/instances/${aliceInstance}/upgrade`, { templateVersionId: 'webapp@2.0.0' }],
      ['POST', '/instances', { templateVersionId: 'webapp@1.0.0', namespace: 'chosen-by-user' }],
      ['POST', '/instances', { templateVersionId: 'webapp@1.0.0', userId: 'bob' }],
    ];
    for (const [method, path, body] of adminCalls) {
      const r = await api.call(method, path, { token: alice, body });
      expect({ method, path, status: r.status }).toEqual({ method, path, status: 403 });
      expect(r.body.type).toMatch(/forbidden$/);
    }
    expect(await snapshot(h)).toEqual(before);
  });

  test('no token, a malformed token, an unknown token: 401 problem with WWW-Authenticate', async () => {
    for (const auth of [undefined, 'Bearer', 'Basic Zm9vOmJhcg==', 'Bearer caelus_not-a-real-token', `Bearer caelus_${'A'.repeat(43)}`]) {
      const r = await api.call('GET', '/instances', { headers: auth ? { authorization: auth } : {} });
      expect(r.status).toBe(401);
      expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(r.headers.get('content-type')).toMatch(PROBLEM_JSON);
    }
  });

  test('bad input is refused with a problem naming the field; nothing reaches the database', async () => {
    const before = await snapshot(h);
    const cases: Array<{ name: string; method?: string; path?: string; body?: unknown; raw?: string; headers?: Record<string, string>; status: number; field: string }> = [
      { name: 'unknown field', body: { templateVersionId: 'webapp@1.0.0', colour: 'red' }, status: 400, field: '/body/colour' },
      { name: 'missing field', body: { values: {} }, status: 400, field: '/body/templateVersionId' },
      { name: 'wrong type (number for string)', body: { templateVersionId: 42 }, status: 400, field: '/body/templateVersionId' },
      { name: 'wrong type (string for object)', body: { templateVersionId: 'webapp@1.0.0', values: 'replicaCount=3' }, status: 400, field: '/body/values' },
      { name: 'body is an array', body: [{ templateVersionId: 'webapp@1.0.0' }], status: 400, field: '/body' },
      { name: 'invalid DNS name', body: { templateVersionId: 'webapp@1.0.0', domainName: 'Not_A.Host!' }, status: 400, field: '/body/domainName' },
      { name: 'DNS name with a trailing dot', body: { templateVersionId: 'webapp@1.0.0', domainName: 'a.example.com.' }, status: 400, field: '/body/domainName' },
      { name: 'DNS label over 63', body: { templateVersionId: 'webapp@1.0.0', domainName: `${'a'.repeat(64)}.example.com` }, status: 400, field: '/body/domainName' },
      { name: 'values failing the schema (type)', body: { templateVersionId: 'webapp@1.0.0', values: { replicaCount: 'three' } }, status: 422, field: '/body/values/replicaCount' },
      { name: 'values failing the schema (range)', body: { templateVersionId: versionId, values: { replicaCount: 6 } }, status: 422, field: '/body/values/replicaCount' },
      { name: 'values failing the schema (unknown key)', body: { templateVersionId: 'webapp@1.0.0', values: { rogue: true } }, status: 422, field: '/body/values/rogue' },
      { name: 'unknown template version', body: { templateVersionId: 'webapp@9.9.9' }, status: 422, field: '/body/templateVersionId' },
      { name: 'malformed version reference', body: { templateVersionId: 'webapp@one' }, status: 422, field: '/body/templateVersionId' },
      { name: 'oversized body', body: { templateVersionId: 'webapp@1.0.0', values: { message: 'x'.repeat(300 * 1024) } }, status: 413, field: '/body' },
      { name: 'malformed JSON', raw: '{"templateVersionId": "webapp@1.0.0",', status: 400, field: '/body' },
      { name: 'empty JSON body', raw: '', status: 400, field: '/body' },
      { name: '__proto__ key', raw: '{"templateVersionId": "webapp@1.0.0", "__proto__": {"admin": true}}', status: 400, field: '/body' },
      { name: 'not JSON at all', raw: 'templateVersionId=webapp@1.0.0', headers: { 'content-type': 'application/x-www-form-urlencoded' }, status: 415, field: '/headers/content-type' },
      { name: 'bad idempotency key', body: { templateVersionId: 'webapp@1.0.0' }, headers: { 'idempotency-key': 'has spaces in it' }, status: 400, field: '/headers/idempotency-key' },
      { name: 'PATCH unknown state', method: 'PATCH', path: 'ALICE', body: { state: 'Paused' }, status: 400, field: '/body/state' },
      { name: 'PATCH empty', method: 'PATCH', path: 'ALICE', body: {}, status: 400, field: '/body' },
      { name: 'PATCH values failing the schema', method: 'PATCH', path: 'ALICE', body: { values: { replicaCount: -1 } }, status: 422, field: '/body/values/replicaCount' },
      { name: 'id is not a uuid', method: 'GET', path: '/instances/not-a-uuid', status: 400, field: '/params/id' },
      { name: 'limit out of range', method: 'GET', path: '/instances?limit=100000', status: 400, field: '/query/limit' },
      { name: 'unknown query parameter', method: 'GET', path: '/instances?sort=desc', status: 400, field: '/query/sort' },
      { name: 'upgrade, wrong type', method: 'POST', path: 'ALICE/upgrade', body: { templateVersionId: 'webapp@2.0.0', allowDowngrade: 'yes' }, status: 400, field: '/body/allowDowngrade' },
    ];
    for (const c of cases) {
      const path = (c.path ?? '/instances').replace('ALICE', `/instances/${aliceInstance}`);
      const token = c.path === 'ALICE/upgrade' ? api.admin : alice;
      const r = await api.call(c.method ?? 'POST', path, { token, ...(c.raw !== undefined ? { raw: c.raw } : { body: c.body }), ...(c.headers ? { headers: c.headers } : {}) });
      expect({ case: c.name, status: r.status }).toEqual({ case: c.name, status: c.status });
      expect(r.headers.get('content-type')).toMatch(PROBLEM_JSON);
      expect({ case: c.name, field: r.body.field }).toEqual({ case: c.name, field: c.field });
      expect(r.body).toMatchObject({ type: expect.stringMatching(/^https:\/\//), title: expect.any(String), status: c.status, detail: expect.any(String) });
      expect(r.body.errors[0].field).toBe(c.field);
    }
    // Every offending field is reported at once, the first also as `field`.
    const many = await api.call('POST', '/instances', { token: alice, body: { templateVersionId: 7, domainName: 'UPPER', extra: 1 } });
    expect(many.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['/body/domainName', '/body/extra', '/body/templateVersionId']);
    expect(await snapshot(h)).toEqual(before);
  });

  test('table-driven fuzz: 200 generated bodies on create and patch never cause a 5xx', async () => {
    const rand = prng(0xcae1);
    const statuses = new Map<number, number>();
    for (let i = 0; i < 200; i++) {
      const patch = i % 2 === 1;
      const body = fuzzBody(rand, patch ? 'patch' : 'create');
      const r = await api.call(patch ? 'PATCH' : 'POST', patch ? `/instances/${aliceInstance}` : '/instances', {
        token: alice,
        ...(typeof body === 'string' ? { raw: body } : { body }),
      });
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      if (r.status >= 500) throw new Error(`fuzz body #${i} caused ${r.status}: ${JSON.stringify(body).slice(0, 300)} → ${JSON.stringify(r.body)}`);
      if (r.status >= 400) expect(r.headers.get('content-type')).toMatch(PROBLEM_JSON);
    }
    console.log(`[figure] ${dialect}: fuzz, 200 bodies → ${[...statuses].sort(([a], [b]) => a - b).map(([s, n]) => `${s}×${n}`).join(' ')}`);
  });
});

/** Row counts of every table a request could write. */
async function snapshot(h: TestDatabase): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of ['deployment_instance', 'audit_event', 'idempotency_key', 'product_template', 'product_template_version', 'user_quota']) {
    const r = await sql<{ n: string }>`select count(*) as n from ${sql.table(t)}`.execute(h.db);
    out[t] = Number(r.rows[0]?.n);
  }
  const spec = await sql<{ s: string }>`select coalesce(sum(spec_version), 0) as s from deployment_instance`.execute(h.db);
  out['sum(spec_version)'] = Number(spec.rows[0]?.s);
  return out;
}

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const KEYS = ['templateVersionId', 'domainName', 'values', 'namespace', 'userId', 'state', 'allowDowngrade', '__proto__', 'constructor', '', 'x'.repeat(300)];
const STRINGS = ['webapp@1.0.0', 'webapp@2.0.0', 'webapp@', '@1.0.0', 'Running', 'Hibernated', 'a.example.com', '', ' ', '\u0000', '\ud800', '💥', "'; drop table deployment_instance; --", '../../etc/passwd', 'x'.repeat(5000), '00000000-0000-0000-0000-000000000000'];

function fuzzValue(rand: () => number, depth: number): unknown {
  const pick = Math.floor(rand() * 9);
  switch (pick) {
    case 0:
      return null;
    case 1:
      return rand() < 0.5;
    case 2:
      return [0, -1, 1e308, -0, 2 ** 53 + 1, 3.5][Math.floor(rand() * 6)];
    case 3:
    case 4:
      return STRINGS[Math.floor(rand() * STRINGS.length)];
    case 5:
      return depth > 3 ? [] : Array.from({ length: Math.floor(rand() * 4) }, () => fuzzValue(rand, depth + 1));
    default:
      return depth > 3 ? {} : fuzzObject(rand, depth + 1);
  }
}

function fuzzObject(rand: () => number, depth: number): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  const n = Math.floor(rand() * 5);
  for (let i = 0; i < n; i++) {
    const key = rand() < 0.7 ? KEYS[Math.floor(rand() * KEYS.length)]! : `k${Math.floor(rand() * 1000)}`;
    Object.defineProperty(o, key, { value: fuzzValue(rand, depth), enumerable: true, configurable: true, writable: true });
  }
  return o;
}

const KNOWN = { create: ['templateVersionId', 'domainName', 'values'], patch: ['values', 'state', 'domainName'] };
const GOOD_VALUES = [{ replicaCount: 1 }, { message: 'hi' }, {}];

/**
 * Half the bodies are a valid request with one or two fields replaced by
 * generated values (they get past the schema into the handlers and the
 * database); the rest are generated objects, scalars, arrays or broken JSON.
 */
function fuzzBody(rand: () => number, kind: 'create' | 'patch'): unknown {
  const r = rand();
  if (r < 0.5) {
    const base: Record<string, unknown> = kind === 'create' ? { templateVersionId: 'webapp@1.0.0' } : {};
    base['values'] = GOOD_VALUES[Math.floor(rand() * GOOD_VALUES.length)];
    const fields = KNOWN[kind];
    const field = fields[Math.floor(rand() * fields.length)]!;
    const roll = rand();
    // A third: a generated value for one field; a third: values with generated leaves; a third left valid.
    if (roll < 0.33) base[field] = fuzzValue(rand, 2);
    else if (roll < 0.66) base['values'] = { replicaCount: fuzzValue(rand, 3), message: fuzzValue(rand, 3) };
    return base;
  }
  if (r < 0.58) return ['{', '{"a":', 'null', '[]', '"str"', '{"values": {"a": 1}}}', '\u0000'][Math.floor(rand() * 7)]!;
  if (r < 0.15) return fuzzValue(rand, 3);
  return fuzzObject(rand, 0);
}
