// Token management over real HTTP: an admin creates a token (shown once),
// lists tokens (never a secret), revokes one (it stops working at once);
// users cannot do any of it; every write is audited. PGlite and PostgreSQL.
import { setTimeout as sleep } from 'node:timers/promises';
import { TOKEN_CACHE_TTL_MS } from '../../src/api/auth.ts';
import { listAuditEvents } from '../../src/db/repositories/audit.ts';
import { createApiToken, revokeApiToken } from '../../src/db/repositories/tokens.ts';
import { PROBLEM_JSON, startApi, type ApiHarness } from '../support/api-server.ts';
import { testDatabases, type TestDatabase } from '../support/database.ts';

describe.each(testDatabases())('token routes on $name', ({ create }) => {
  let h: TestDatabase;
  let api: ApiHarness;
  beforeAll(async () => {
    h = await create();
    api = await startApi(h);
  });
  afterAll(async () => {
    await api?.close();
    await h?.destroy();
  });

  test('create → usable once shown, listed without secrets, revoked → 401; audited', async () => {
    const created = await api.call('POST', '/tokens', { token: api.admin, body: { name: 'dave-laptop', role: 'user', userId: 'dave' } });
    expect(created.status).toBe(201);
    expect(created.headers.get('cache-control')).toBe('no-store');
    expect(created.body).toMatchObject({ name: 'dave-laptop', role: 'user', userId: 'dave', revokedAt: null, lastUsedAt: null });
    const secret: string = created.body.token;
    expect(secret).toMatch(/^caelus_[A-Za-z0-9_-]{43}$/);

    const asDave = await api.call('GET', '/instances', { token: secret });
    expect(asDave.status).toBe(200);

    const list = await api.call('GET', '/tokens', { token: api.admin });
    expect(list.status).toBe(200);
    const listed = list.body.items.find((t: { id: string }) => t.id === created.body.id);
    expect(listed).toMatchObject({ name: 'dave-laptop', role: 'user', userId: 'dave', revokedAt: null });
    expect(listed.lastUsedAt).not.toBeNull();
    expect(listed).not.toHaveProperty('token');
    const text = JSON.stringify(list.body);
    expect(text).not.toContain(secret);
    expect(text).not.toMatch(/hash/i);

    const revoked = await api.call('DELETE', `/tokens/${created.body.id}`, { token: api.admin });
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedAt).toEqual(expect.any(String));
    expect((await api.call('GET', '/instances', { token: secret })).status).toBe(401);
    const again = await api.call('DELETE', `/tokens/${created.body.id}`, { token: api.admin });
    expect(again.status).toBe(404);
    expect(again.headers.get('content-type')).toMatch(PROBLEM_JSON);

    const audit = (await listAuditEvents(h.db, { limit: 1000 })).filter((a) => (a.detail as { tokenId?: string } | null)?.tokenId === created.body.id);
    expect(audit.map((a) => a.action).sort()).toEqual(['token.create', 'token.revoke']);
    for (const a of audit) expect(a.actor).toMatch(/^token:[0-9a-f-]{36}$/);
    expect(JSON.stringify(audit)).not.toContain(secret);
  });

  test('a token revoked by another API process stops working within TOKEN_CACHE_TTL_MS', async () => {
    const { token, record } = await createApiToken(h.db, { name: 'erin-ci', role: 'user', userId: 'erin' }, { actor: 'test' });
    expect((await api.call('GET', '/instances', { token })).status).toBe(200);
    // Straight in the database, as a second replica's DELETE /tokens/{id} would: this server learns of it by asking again.
    await revokeApiToken(h.db, record.id, { actor: 'test' });
    await sleep(TOKEN_CACHE_TTL_MS + 100);
    expect((await api.call('GET', '/instances', { token })).status).toBe(401);
  });

  test('an expired token stops working at its expiry, although it was just used', async () => {
    const expiresAt = new Date(Date.now() + 3_000);
    const { token } = await createApiToken(h.db, { name: 'frank-short', role: 'user', userId: 'frank', expiresAt }, { actor: 'test' });
    expect((await api.call('GET', '/instances', { token })).status).toBe(200);
    await sleep(Math.max(0, expiresAt.getTime() - Date.now()) + 50);
    expect((await api.call('GET', '/instances', { token })).status).toBe(401);
  });

  test('an admin token can be created too (no user)', async () => {
    const created = await api.call('POST', '/tokens', { token: api.admin, body: { name: 'ops', role: 'admin' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ role: 'admin', userId: null });
    expect((await api.call('GET', '/tokens', { token: created.body.token })).status).toBe(200);
  });

  test('users cannot manage tokens (403), and bad bodies are 400 naming the field; nothing is stored', async () => {
    const user = await api.userToken('erin');
    const before = (await h.db.selectFrom('api_token').select('id').execute()).length;
    const target = (await api.call('GET', '/tokens', { token: api.admin })).body.items[0].id;
    for (const [method, path, body] of [
      ['POST', '/tokens', { name: 'x', role: 'admin' }],
      ['GET', '/tokens', undefined],
      ['DELETE', `/tokens/${target}`, undefined],
    ] as const) {
      const res = await api.call(method, path, { token: user, ...(body ? { body } : {}) });
      expect([method, path, res.status]).toEqual([method, path, 403]);
    }
    const cases: Array<[unknown, string]> = [
      [{ name: 'x', role: 'user' }, '/body/userId'],
      [{ name: 'x', role: 'root' }, '/body/role'],
      [{ name: 'x', role: 'admin', secret: 'y' }, '/body/secret'],
      [{ role: 'admin' }, '/body/name'],
    ];
    for (const [body, field] of cases) {
      const res = await api.call('POST', '/tokens', { token: api.admin, body });
      expect([JSON.stringify(body), res.status, res.body.field]).toEqual([JSON.stringify(body), 400, field]);
    }
    expect((await api.call('DELETE', '/tokens/not-a-uuid', { token: api.admin })).status).toBe(400);
    expect((await h.db.selectFrom('api_token').select('id').execute()).length).toBe(before);
  });

  test('the OpenAPI document describes the token routes', async () => {
    const doc = await api.call('GET', '/openapi.json');
    expect(Object.keys(doc.body.paths['/tokens'])).toEqual(expect.arrayContaining(['post', 'get']));
    expect(Object.keys(doc.body.paths['/tokens/{id}'])).toEqual(['delete']);
  });
});
