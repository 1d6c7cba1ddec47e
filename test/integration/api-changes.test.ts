// GET /changes over real HTTP on PGlite and PostgreSQL: a client reading the
// stream with fetch() sees its instances change (API writes and status copies
// by the sync alike), never another tenant's; a revoked token's stream ends;
// closing the server does not wait for open streams.
import type { ChartChecker } from '../../src/api/chart-check.ts';
import { recordInstanceStatus } from '../../src/db/repositories/instances.ts';
import { PROBLEM_JSON, publishWebapp, startApi, type ApiHarness } from '../support/api-server.ts';
import { testDatabases, type TestDatabase } from '../support/database.ts';
import { openStream } from '../support/sse.ts';

const acceptAll: ChartChecker = { check: async () => undefined };

describe.each(testDatabases())('GET /changes on $name', ({ create }) => {
  let h: TestDatabase;
  let api: ApiHarness;
  beforeAll(async () => {
    h = await create();
    api = await startApi(h, { chartChecker: acceptAll, maxInstancesPerUser: 50, changes: { keepaliveMs: 300 } });
    await publishWebapp(api, 'webapp', ['1.0.0']);
  });
  afterAll(async () => {
    await api?.close();
    await h?.destroy();
  });

  test("a tenant sees its instances change, status copies included; never another tenant's", async () => {
    const alice = await api.userToken('alice');
    const bob = await api.userToken('bob');
    const a = await openStream(`${api.url}/changes`, alice);
    const b = await openStream(`${api.url}/changes`, bob);
    const admin = await openStream(`${api.url}/changes`, api.admin);
    try {
      expect(a.res.status).toBe(200);
      expect(a.res.headers.get('content-type')).toMatch(/^text\/event-stream/);
      expect(a.res.headers.get('cache-control')).toBe('no-store');
      const created = await api.call('POST', '/instances', { token: alice, body: { templateVersionId: 'webapp@1.0.0' } });
      const id = created.body.id as string;
      await a.until('create event', () => a.instanceEvents().some((e) => e.id === id));
      expect(a.instanceEvents().find((e) => e.id === id)).toEqual({
        id,
        status: 'Pending',
        state: 'Running',
        specVersion: 1,
        observedSpecVersion: null,
        helmRevision: null,
        updatedAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
        deleted: false,
      });
      await api.call('POST', `/instances/${id}/hibernate`, { token: alice });
      // What the sync copies from the CR's status: not a spec change, still an event.
      await recordInstanceStatus(h.db, id, { status: 'Ready', statusMessage: 'deployed', observedSpecVersion: 2, helmRevision: 1 });
      await a.until('status event', () => a.instanceEvents().some((e) => e.id === id && e.status === 'Ready'));
      expect(a.instanceEvents().filter((e) => e.id === id).map((e) => [e.state, e.status, e.helmRevision])).toEqual([
        ['Running', 'Pending', null],
        ['Hibernated', 'Pending', null],
        ['Hibernated', 'Ready', 1],
      ]);
      // The same status copied again changes nothing visible: no event.
      await recordInstanceStatus(h.db, id, { status: 'Ready', statusMessage: 'deployed', observedSpecVersion: 2, helmRevision: 1 });
      await api.call('DELETE', `/instances/${id}`, { token: alice });
      await a.until('delete event', () => a.instanceEvents().some((e) => e.id === id && e.deleted));
      expect(a.instanceEvents().filter((e) => e.id === id)).toHaveLength(4);

      // Bob's own instance reaches Bob (so his stream works), and the admin sees both tenants.
      const bobs = (await api.call('POST', '/instances', { token: bob, body: { templateVersionId: 'webapp@1.0.0' } })).body.id as string;
      await b.until("bob's event", () => b.instanceEvents().some((e) => e.id === bobs));
      await admin.until('both tenants', () => admin.instanceEvents().some((e) => e.id === bobs) && admin.instanceEvents().some((e) => e.id === id && e.deleted));
      expect(b.instanceEvents().map((e) => e.id)).toEqual([bobs]);
      expect(a.instanceEvents().some((e) => e.id === bobs)).toBe(false);
      // Keepalive comments arrive while nothing changes.
      await a.until('keepalive', () => a.comments.includes('keepalive'));
    } finally {
      await Promise.all([a.close(), b.close(), admin.close()]);
    }
  });

  test('?instanceId= narrows the stream; a foreign or unknown id is a 404 problem; no token is a 401', async () => {
    const carol = await api.userToken('carol');
    const dave = await api.userToken('dave');
    const one = (await api.call('POST', '/instances', { token: carol, body: { templateVersionId: 'webapp@1.0.0' } })).body.id as string;
    const other = (await api.call('POST', '/instances', { token: carol, body: { templateVersionId: 'webapp@1.0.0' } })).body.id as string;
    const foreign = await api.call('GET', `/changes?instanceId=${one}`, { token: dave });
    expect(foreign.status).toBe(404);
    expect(foreign.headers.get('content-type')).toMatch(PROBLEM_JSON);
    expect((await api.call('GET', '/changes')).status).toBe(401);
    const s = await openStream(`${api.url}/changes?instanceId=${one}`, carol);
    try {
      await api.call('PATCH', `/instances/${other}`, { token: carol, body: { values: { message: 'x' } } });
      await api.call('PATCH', `/instances/${one}`, { token: carol, body: { values: { message: 'y' } } });
      await s.until('the filtered event', () => s.instanceEvents().some((e) => e.id === one));
      expect(s.instanceEvents().map((e) => e.id)).toEqual([one]);
    } finally {
      await s.close();
    }
  });

  test('a revoked token stops receiving: its stream gets `unauthorized` and ends', async () => {
    const created = await api.call('POST', '/tokens', { token: api.admin, body: { name: 'erin-console', role: 'user', userId: 'erin' } });
    const s = await openStream(`${api.url}/changes`, created.body.token);
    await s.until('connected', () => s.comments.includes('connected'));
    expect((await api.call('DELETE', `/tokens/${created.body.id}`, { token: api.admin })).status).toBe(200);
    await s.until('the end of the stream', () => s.ended);
    expect(s.events.map((e) => e.event)).toContain('unauthorized');
  });

  test('closing the server ends open streams instead of waiting for them', async () => {
    const other = await startApi(h, { chartChecker: acceptAll, changes: {} });
    const s = await openStream(`${other.url}/changes`, await other.userToken('frank'));
    await s.until('connected', () => s.comments.includes('connected'));
    await other.close();
    await s.until('the end of the stream', () => s.ended);
  });
});
