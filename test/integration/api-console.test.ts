// The console's database-backed routes over real HTTP on PGlite and
// PostgreSQL: GET /me, the extended GET /instances (filters, sorts, total,
// outdated), GET /users, values previews and the ETag of GET /instances/{id}.
// Tenant scoping is the same as for the instance routes: a user sees only
// their own instances, another tenant's is a 404.
import type { ChartChecker } from '../../src/api/chart-check.ts';
import { PROBLEM_JSON, publishWebapp, startApi, type ApiHarness } from '../support/api-server.ts';
import { testDatabases, type TestDatabase } from '../support/database.ts';

const acceptAll: ChartChecker = { check: async () => undefined };

describe.each(testDatabases())('console API routes on $name', ({ create }) => {
  let h: TestDatabase;
  let api: ApiHarness;
  let alice: string;
  let bob: string;
  let versions: Record<string, string>;
  const aliceIds: string[] = [];
  beforeAll(async () => {
    h = await create();
    api = await startApi(h, { chartChecker: acceptAll, maxInstancesPerUser: 100 });
    versions = (await publishWebapp(api, 'webapp', ['1.0.0', '1.10.0', '1.2.0'])).versionIds;
    alice = await api.userToken('alice');
    bob = await api.userToken('bob');
    for (const [i, v] of ['1.0.0', '1.10.0', '1.2.0', '1.0.0', '1.10.0'].entries()) {
      const r = await api.call('POST', '/instances', { token: alice, body: { templateVersionId: `webapp@${v}`, domainName: `shop-${i}.example.com` } });
      expect(r.status).toBe(201);
      aliceIds.push(r.body.id);
    }
    expect((await api.call('POST', '/instances', { token: bob, body: { templateVersionId: 'webapp@1.0.0', domainName: 'bobs-shop.example.com' } })).status).toBe(201);
  });
  afterAll(async () => {
    await api?.close();
    await h?.destroy();
  });

  test('GET /me names the token; a bad token is a 401 problem', async () => {
    expect((await api.call('GET', '/me', { token: alice })).body).toEqual({ role: 'user', userId: 'alice', tokenName: 'test-alice', expiresAt: null });
    expect((await api.call('GET', '/me', { token: api.admin })).body).toMatchObject({ role: 'admin', userId: null });
    const bad = await api.call('GET', '/me', { token: 'caelus_nope' });
    expect(bad.status).toBe(401);
    expect(bad.headers.get('content-type')).toMatch(PROBLEM_JSON);
  });

  test('GET /instances: newest first by default, total, latestVersion (highest semver) and outdated', async () => {
    const r = await api.call('GET', '/instances', { token: alice });
    expect(r.status).toBe(200);
    expect(r.body.total).toBe(5);
    expect(r.body.items.map((i: { id: string }) => i.id)).toEqual([...aliceIds].reverse());
    for (const item of r.body.items) {
      expect(item.latestVersion).toEqual({ id: versions['1.10.0'], version: '1.10.0' });
      expect(item.outdated).toBe(item.templateVersion.version !== '1.10.0');
    }
    const outdated = await api.call('GET', '/instances?outdated=true', { token: alice });
    expect(outdated.body.total).toBe(3);
    expect(outdated.body.items.every((i: { outdated: boolean }) => i.outdated)).toBe(true);
    expect((await api.call('GET', '/instances?outdated=false', { token: alice })).body.total).toBe(2);
    expect((await api.call('GET', `/instances?templateVersionId=${versions['1.2.0']}`, { token: alice })).body.items.map((i: { id: string }) => i.id)).toEqual([aliceIds[2]]);
  });

  test('GET /instances?q= matches namespace, domain or template name, case-insensitively; LIKE wildcards are literal', async () => {
    expect((await api.call('GET', '/instances?q=SHOP-3', { token: alice })).body.items.map((i: { id: string }) => i.id)).toEqual([aliceIds[3]]);
    expect((await api.call('GET', '/instances?q=webapp', { token: alice })).body.total).toBe(5);
    expect((await api.call('GET', '/instances?q=%25', { token: alice })).body.total).toBe(0);
    expect((await api.call('GET', '/instances?q=_', { token: alice })).body.total).toBe(0);
    // Bob's shop is not in Alice's results, whatever she searches.
    expect((await api.call('GET', '/instances?q=bobs', { token: alice })).body.total).toBe(0);
    const long = await api.call('GET', `/instances?q=${'x'.repeat(101)}`, { token: alice });
    expect(long.status).toBe(400);
    expect(long.body.field).toBe('/query/q');
  });

  test.each(['createdAt', '-createdAt', 'namespace', '-namespace', 'status', '-status', 'updatedAt', '-updatedAt'])('sort=%s pages through every instance once, in order', async (sort) => {
    const seen: Array<{ id: string; namespace: string; createdAt: string }> = [];
    let cursor: string | null = null;
    do {
      const page: { status: number; body: { items: typeof seen; nextCursor: string | null; total: number } } = await api.call(
        'GET',
        `/instances?limit=2&sort=${sort}${cursor ? `&cursor=${cursor}` : ''}`,
        { token: api.admin },
      );
      expect(page.status).toBe(200);
      expect(page.body.total).toBe(6);
      seen.push(...page.body.items);
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toHaveLength(6);
    expect(new Set(seen.map((i) => i.id)).size).toBe(6);
    if (sort.endsWith('namespace')) {
      const names = seen.map((i) => i.namespace);
      const sorted = [...names].sort();
      expect(names).toEqual(sort.startsWith('-') ? sorted.reverse() : sorted);
    }
  });

  test('a cursor continues only its own sort; unknown sorts are a 400 naming the field', async () => {
    const first = await api.call('GET', '/instances?limit=1&sort=namespace', { token: api.admin });
    const other = await api.call('GET', `/instances?limit=1&sort=-createdAt&cursor=${first.body.nextCursor}`, { token: api.admin });
    expect(other.status).toBe(400);
    expect(other.body.field).toBe('/query/cursor');
    const bad = await api.call('GET', '/instances?sort=values', { token: api.admin });
    expect(bad.status).toBe(400);
    expect(bad.body.field).toBe('/query/sort');
  });

  test('GET /users (admin): every known user with instances and quota; a user token gets 403', async () => {
    await api.call('PUT', '/users/carol/quota', { token: api.admin, body: { maxInstances: 3 } });
    const r = await api.call('GET', '/users', { token: api.admin });
    expect(r.status).toBe(200);
    expect(r.body.items).toEqual([
      { userId: 'alice', instances: 5, quota: { limit: 100, used: 5, retained: 0, overridden: false } },
      { userId: 'bob', instances: 1, quota: { limit: 100, used: 1, retained: 0, overridden: false } },
      { userId: 'carol', instances: 0, quota: { limit: 3, used: 0, retained: 0, overridden: true } },
    ]);
    expect((await api.call('GET', '/users', { token: alice })).status).toBe(403);
  });

  test('values preview: current and proposed effective values, same merge rule as the operator; scoped like the instance', async () => {
    const id = aliceIds[0]!;
    const up = await api.call('GET', `/instances/${id}/values-preview?templateVersionId=webapp@1.10.0`, { token: alice });
    expect(up.status).toBe(200);
    expect(up.body).toEqual({
      current: { message: 'v1.0.0', domainName: 'shop-0.example.com' },
      proposed: { message: 'v1.10.0', domainName: 'shop-0.example.com' },
      proposedVersion: { id: versions['1.10.0'], version: '1.10.0' },
    });
    // An edit preview: the tenant's values win over defaults, never over domainName.
    const edit = await api.call('POST', `/instances/${id}/values-preview`, { token: alice, body: { values: { message: 'hi', domainName: 'evil.example.org' } } });
    expect(edit.body.proposed).toEqual({ message: 'hi', domainName: 'shop-0.example.com' });
    // Nothing was written.
    expect((await api.call('GET', `/instances/${id}`, { token: alice })).body.specVersion).toBe(1);
    expect((await api.call('GET', `/instances/${id}/values-preview`, { token: bob })).status).toBe(404);
    const unknown = await api.call('GET', `/instances/${id}/values-preview?templateVersionId=webapp@9.9.9`, { token: alice });
    expect(unknown.status).toBe(422);
    expect(unknown.body.field).toBe('/query/templateVersionId');
  });

  test('GET /instances/{id} sends an ETag and answers 304 to If-None-Match until the instance changes', async () => {
    const id = aliceIds[1]!;
    const first = await api.call('GET', `/instances/${id}`, { token: alice });
    const etag = first.headers.get('etag');
    expect(etag).toMatch(/^"[^"]+"$/);
    const again = await api.call('GET', `/instances/${id}`, { token: alice, headers: { 'if-none-match': etag! } });
    expect(again.status).toBe(304);
    expect(again.body).toBe('');
    await api.call('PATCH', `/instances/${id}`, { token: alice, body: { values: { message: 'changed' } } });
    const changed = await api.call('GET', `/instances/${id}`, { token: alice, headers: { 'if-none-match': etag! } });
    expect(changed.status).toBe(200);
    expect(changed.headers.get('etag')).not.toBe(etag);
    // Bob's If-None-Match learns nothing: 404 like any other request.
    expect((await api.call('GET', `/instances/${id}`, { token: bob, headers: { 'if-none-match': etag! } })).status).toBe(404);
  });

  test('cluster routes without cluster access answer 503 (and 404 first for a foreign instance)', async () => {
    for (const path of ['events', 'history', 'objects', 'quota']) {
      const r = await api.call('GET', `/instances/${aliceIds[0]}/${path}`, { token: alice });
      expect({ path, status: r.status }).toEqual({ path, status: 503 });
      expect(r.headers.get('content-type')).toMatch(PROBLEM_JSON);
      expect((await api.call('GET', `/instances/${aliceIds[0]}/${path}`, { token: bob })).status).toBe(404);
    }
  });
});
