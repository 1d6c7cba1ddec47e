// The tenant boundary as the REST API draws it (issue 14 points 4, 6, 9):
// Retain is admin-only and retained namespaces stay on the owner's quota;
// system namespaces are refused by the CRD's own rule and generated names
// always pass the CRD; domains are owned; tokens expire; bad-token floods get
// 429s; security headers are on every answer. Real HTTP, real databases, the
// real CRD on the local control plane.
import * as k8s from '@kubernetes/client-node';
import { API_VERSION, KIND, PLURAL, GROUP, VERSION } from '../../src/domain/instance.ts';
import type { ChartChecker } from '../../src/api/chart-check.ts';
import { PROBLEM_JSON, publishWebapp, startApi, type ApiHarness } from '../support/api-server.ts';
import { testDatabases, type TestDatabase } from '../support/database.ts';
import { testKubeConfig } from '../support/kube.ts';

const acceptAll: ChartChecker = { check: async () => undefined };

/** The real CRD's verdict on a CaelusInstance (server-side dry run: nothing is stored). */
async function crdAccepts(name: string, spec: Record<string, unknown>): Promise<{ ok: true } | { ok: false; message: string }> {
  const api = testKubeConfig().makeApiClient(k8s.CustomObjectsApi);
  try {
    await api.createClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, body: { apiVersion: API_VERSION, kind: KIND, metadata: { name }, spec }, dryRun: 'All' });
    return { ok: true };
  } catch (err) {
    return { ok: false, message: String((err as { body?: unknown }).body ?? err) };
  }
}

describe.each(testDatabases())('API tenant boundary on $name', ({ create }) => {
  let h: TestDatabase;
  let api: ApiHarness;
  beforeAll(async () => {
    h = await create();
    api = await startApi(h, { chartChecker: acceptAll, maxInstancesPerUser: 2 });
    await publishWebapp(api, 'boundary', ['1.0.0']);
  });
  afterAll(async () => {
    await api?.close();
    await h?.destroy();
  });

  test('deletionPolicy Retain from a tenant token is 403 (create and PATCH) and stores nothing; an admin may set it', async () => {
    const carol = await api.userToken('carol');
    const refused = await api.call('POST', '/instances', { token: carol, body: { templateVersionId: 'boundary@1.0.0', deletionPolicy: 'Retain' } });
    expect(refused.status).toBe(403);
    expect(refused.headers.get('content-type')).toMatch(PROBLEM_JSON);
    expect(refused.body.field).toBe('/body/deletionPolicy');
    expect(await h.db.selectFrom('deployment_instance').select('id').where('user_id', '=', 'carol').execute()).toEqual([]);

    const made = await api.call('POST', '/instances', { token: carol, body: { templateVersionId: 'boundary@1.0.0', deletionPolicy: 'Delete' } });
    expect(made.status).toBe(201);
    const patch = await api.call('PATCH', `/instances/${made.body.id}`, { token: carol, body: { deletionPolicy: 'Retain' } });
    expect(patch.status).toBe(403);
    expect(patch.body.field).toBe('/body/deletionPolicy');
    const byAdmin = await api.call('PATCH', `/instances/${made.body.id}`, { token: api.admin, body: { deletionPolicy: 'Retain' } });
    expect(byAdmin.status).toBe(200);
    expect(byAdmin.body.deletionPolicy).toBe('Retain');
  });

  test('a retained namespace counts toward the quota and blocks its name until an admin releases it', async () => {
    const dave = await api.userToken('dave');
    const first = await api.call('POST', '/instances', { token: api.admin, body: { templateVersionId: 'boundary@1.0.0', userId: 'dave', deletionPolicy: 'Retain' } });
    expect(first.status).toBe(201);
    const second = await api.call('POST', '/instances', { token: dave, body: { templateVersionId: 'boundary@1.0.0' } });
    expect(second.status).toBe(201);
    // Dave deletes the retained one: its namespace (with its volumes) stays, so it still counts.
    expect((await api.call('DELETE', `/instances/${first.body.id}`, { token: dave })).status).toBe(202);
    const quota = await api.call('GET', '/users/dave/quota', { token: api.admin });
    expect(quota.body).toMatchObject({ limit: 2, used: 2, retained: 1 });
    const third = await api.call('POST', '/instances', { token: dave, body: { templateVersionId: 'boundary@1.0.0' } });
    expect(third.status).toBe(409);
    expect(third.body.type).toMatch(/quota-exceeded$/);

    // Nobody gets the old namespace (and its data) while it is retained.
    const listed = await api.call('GET', '/retained-namespaces?userId=dave', { token: api.admin });
    expect(listed.body.items).toEqual([expect.objectContaining({ namespace: first.body.namespace, userId: 'dave', instanceId: first.body.id })]);
    const reuse = await api.call('POST', '/instances', { token: api.admin, body: { templateVersionId: 'boundary@1.0.0', userId: 'erin', namespace: first.body.namespace } });
    expect(reuse.status).toBe(409);
    expect(reuse.body.field).toBe('/body/namespace');
    expect((await api.call('GET', '/retained-namespaces', { token: dave })).status).toBe(403);

    // The admin deleted the namespace and releases it: quota and name are free again.
    const released = await api.call('DELETE', `/retained-namespaces/${first.body.namespace}`, { token: api.admin });
    expect(released.status).toBe(200);
    expect((await api.call('GET', '/users/dave/quota', { token: api.admin })).body).toMatchObject({ used: 1, retained: 0 });
    expect((await api.call('POST', '/instances', { token: dave, body: { templateVersionId: 'boundary@1.0.0' } })).status).toBe(201);
    expect((await api.call('DELETE', `/retained-namespaces/${first.body.namespace}`, { token: api.admin })).status).toBe(404);
  });

  test('system namespaces are 422 naming /body/namespace, as the CRD refuses them; a `kube…` user id gets a namespace the CRD accepts', async () => {
    for (const ns of ['kube-system', 'kube-public', 'kube-node-lease', 'default', 'kube-anything']) {
      const res = await api.call('POST', '/instances', { token: api.admin, body: { templateVersionId: 'boundary@1.0.0', userId: 'ops', namespace: ns } });
      expect({ ns, status: res.status, field: res.body.field }).toEqual({ ns, status: 422, field: '/body/namespace' });
      // The same verdict from the real CRD.
      expect(await crdAccepts(`x-${ns}`, { userId: 'ops', productTemplateVersion: 'boundary@1.0.0', namespace: ns })).toMatchObject({ ok: false });
    }
    expect(await h.db.selectFrom('deployment_instance').select('id').where('user_id', '=', 'ops').execute()).toEqual([]);

    for (const user of ['kube', 'kube-system', 'KUBE-admin', 'default']) {
      const res = await api.call('POST', '/instances', { token: await api.userToken(user), body: { templateVersionId: 'boundary@1.0.0' } });
      expect(res.status).toBe(201);
      const ns = res.body.namespace as string;
      expect(await crdAccepts(ns, { userId: user, productTemplateVersion: 'boundary@1.0.0', namespace: ns })).toEqual({ ok: true });
    }
  });

  test('domains: a tenant outside the allowed suffixes is 422; two instances cannot share a live domain (409); a deleted one frees it', async () => {
    const frank = await api.userToken('frank');
    const grace = await api.userToken('grace');
    const host = 'frank-shop.example.com';
    const outside = await api.call('POST', '/instances', { token: frank, body: { templateVersionId: 'boundary@1.0.0', domainName: 'frank.example.org' } });
    expect(outside.status).toBe(422);
    expect(outside.body.field).toBe('/body/domainName');
    const mine = await api.call('POST', '/instances', { token: frank, body: { templateVersionId: 'boundary@1.0.0', domainName: host } });
    expect(mine.status).toBe(201);
    const theirs = await api.call('POST', '/instances', { token: grace, body: { templateVersionId: 'boundary@1.0.0', domainName: host } });
    expect(theirs.status).toBe(409);
    expect(theirs.body.field).toBe('/body/domainName');
    // PATCH is held to the same rule.
    const other = await api.call('POST', '/instances', { token: grace, body: { templateVersionId: 'boundary@1.0.0' } });
    const patched = await api.call('PATCH', `/instances/${other.body.id}`, { token: grace, body: { domainName: host } });
    expect(patched.status).toBe(409);
    expect(patched.body.field).toBe('/body/domainName');
    expect((await api.call('DELETE', `/instances/${mine.body.id}`, { token: frank })).status).toBe(202);
    expect((await api.call('PATCH', `/instances/${other.body.id}`, { token: grace, body: { domainName: host } })).status).toBe(200);
  });

  test('tokens may expire: expiresIn/expiresAt on POST /tokens, shown in GET /tokens, refused (401) once past', async () => {
    const made = await api.call('POST', '/tokens', { token: api.admin, body: { name: 'short-lived', role: 'user', userId: 'henry', expiresIn: '2s' } });
    expect(made.status).toBe(201);
    const expiresAt = Date.parse(made.body.expiresAt);
    expect(expiresAt).toBeGreaterThan(Date.now());
    const list = await api.call('GET', '/tokens', { token: api.admin });
    expect(list.body.items.find((t: { id: string }) => t.id === made.body.id)).toMatchObject({ expiresAt: made.body.expiresAt });
    expect(list.body.items.find((t: { name: string }) => t.name === 'test-admin')).toMatchObject({ expiresAt: null });
    expect((await api.call('GET', '/instances', { token: made.body.token })).status).toBe(200);
    await new Promise((r) => setTimeout(r, Math.max(0, expiresAt - Date.now()) + 200));
    const expired = await api.call('GET', '/instances', { token: made.body.token });
    expect(expired.status).toBe(401);
    expect(expired.body.detail).toMatch(/expired/);

    const past = await api.call('POST', '/tokens', { token: api.admin, body: { name: 'past', role: 'admin', expiresAt: '2020-01-01T00:00:00Z' } });
    expect(past.status).toBe(422);
    expect(past.body.field).toBe('/body/expiresAt');
    const both = await api.call('POST', '/tokens', { token: api.admin, body: { name: 'both', role: 'admin', expiresIn: '1d', expiresAt: '2099-01-01T00:00:00Z' } });
    expect(both.status).toBe(400);
    const bad = await api.call('POST', '/tokens', { token: api.admin, body: { name: 'bad', role: 'admin', expiresIn: 'soon' } });
    expect(bad.status).toBe(400);
    expect(bad.body.field).toBe('/body/expiresIn');
  });

  test('security headers on JSON answers, problem answers and /docs (whose UI still loads)', async () => {
    for (const res of [await api.call('GET', '/instances', { token: api.admin }), await api.call('GET', '/instances'), await api.call('GET', '/healthz')]) {
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('content-security-policy')).toMatch(/default-src 'self'/);
      expect(res.headers.get('strict-transport-security')).toMatch(/max-age=/);
      expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    }
    const docs = await fetch(`${api.url}/docs/static/index.html`);
    expect(docs.status).toBe(200);
    const csp = docs.headers.get('content-security-policy') ?? '';
    // swagger-ui's own policy: its scripts and styles from 'self' (and hashes), nothing from elsewhere.
    expect(csp).toMatch(/script-src 'self'/);
    const script = await fetch(`${api.url}/docs/static/swagger-initializer.js`);
    expect(script.status).toBe(200);
  });
});

describe.each(testDatabases())('API request limits on $name', ({ create }) => {
  let h: TestDatabase;
  beforeAll(async () => {
    h = await create();
  });
  afterAll(async () => {
    await h?.destroy();
  });

  test('300 bad-token requests at once: the first 20 get 401, the rest 429 with Retry-After', async () => {
    const api = await startApi(h, { chartChecker: acceptAll, rateLimit: { perToken: 1000, authFailuresPerIp: 20, windowMs: 60_000 } });
    try {
      const answers = await Promise.all(
        Array.from({ length: 300 }, (_, i) => api.call('GET', '/instances', { token: `caelus_${String(i).padStart(43, 'x')}` })),
      );
      const by = (s: number) => answers.filter((a) => a.status === s);
      expect({ unauthorized: by(401).length, limited: by(429).length }).toEqual({ unauthorized: 20, limited: 280 });
      const limited = by(429)[0]!;
      expect(limited.headers.get('content-type')).toMatch(PROBLEM_JSON);
      expect(limited.body.type).toMatch(/rate-limited$/);
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
      // Probes are never limited.
      expect((await api.call('GET', '/healthz')).status).toBe(200);
    } finally {
      await api.close();
    }
  });

  test('behind a trusted proxy hop, the budget is per forwarded client address, not per proxy', async () => {
    const api = await startApi(h, { chartChecker: acceptAll, rateLimit: { perToken: 1000, authFailuresPerIp: 3, windowMs: 60_000 }, trustProxyHops: 1 });
    try {
      const bad = (ip: string) => api.call('GET', '/instances', { token: `caelus_${'y'.repeat(43)}`, headers: { 'x-forwarded-for': ip } });
      const many = await Promise.all(Array.from({ length: 10 }, (_, i) => bad(`203.0.113.${i + 1}`)));
      expect(many.map((a) => a.status)).toEqual(Array(10).fill(401));
      const one = await Promise.all(Array.from({ length: 5 }, () => bad('198.51.100.7')));
      expect(one.map((a) => a.status).sort()).toEqual([401, 401, 401, 429, 429]);
    } finally {
      await api.close();
    }
  });

  test('a token over its request budget gets 429; another token is unaffected', async () => {
    const api = await startApi(h, { chartChecker: acceptAll, rateLimit: { perToken: 25, authFailuresPerIp: 1000, windowMs: 60_000 } });
    try {
      const busy = await api.userToken('busy');
      const answers = await Promise.all(Array.from({ length: 40 }, () => api.call('GET', '/instances', { token: busy })));
      expect({ ok: answers.filter((a) => a.status === 200).length, limited: answers.filter((a) => a.status === 429).length }).toEqual({ ok: 25, limited: 15 });
      expect((await api.call('GET', '/instances', { token: await api.userToken('calm') })).status).toBe(200);
    } finally {
      await api.close();
    }
  });
});
