// The API while PostgreSQL refuses connections (issue 14.8, API side): every
// request that needs the database answers 503 application/problem+json with
// Retry-After (never 500), the liveness probe stays up, and the first request
// after the database is back succeeds. Real PostgreSQL: connections refused
// with `ALTER DATABASE … ALLOW_CONNECTIONS false` and the open ones terminated.
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { ChartChecker } from '../../src/api/chart-check.ts';
import { PROBLEM_JSON, publishWebapp, startApi, type ApiHarness } from '../support/api-server.ts';
import { testDatabases, type TestDatabase } from '../support/database.ts';

const postgres = testDatabases().find((c) => c.name === 'postgres');
if (!postgres) console.warn('DATABASE_URL is not set: skipping the database-outage test (it needs PostgreSQL)');
const describeWithPostgres = postgres ? describe : describe.skip;
const acceptAll: ChartChecker = { check: async () => undefined };

describeWithPostgres('API with PostgreSQL unreachable', () => {
  let h: TestDatabase;
  let api: ApiHarness;
  let admin: Kysely<unknown>;
  let dbName: string;

  const refuseConnections = async (refuse: boolean) => {
    await sql`alter database ${sql.id(dbName)} allow_connections ${sql.raw(refuse ? 'false' : 'true')}`.execute(admin);
    if (refuse) await sql`select pg_terminate_backend(pid) from pg_stat_activity where datname = ${dbName} and pid <> pg_backend_pid()`.execute(admin);
  };

  beforeAll(async () => {
    h = await postgres!.create();
    const url = new URL(h.url!);
    dbName = url.pathname.slice(1);
    url.pathname = '/postgres';
    admin = new Kysely<unknown>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url.toString(), max: 1 }) }) });
    api = await startApi(h, { chartChecker: acceptAll });
    await publishWebapp(api, 'outage', ['1.0.0']);
  });
  afterAll(async () => {
    if (admin && dbName) await refuseConnections(false).catch(() => undefined);
    await api?.close();
    await h?.destroy();
    await admin?.destroy();
  });

  test('503 + Retry-After while connections are refused; answers again as soon as they are allowed', async () => {
    const alice = await api.userToken('alice');
    expect((await api.call('GET', '/instances', { token: alice })).status).toBe(200);

    await refuseConnections(true);
    try {
      const answers = [
        await api.call('GET', '/instances', { token: alice }),
        await api.call('POST', '/instances', { token: alice, body: { templateVersionId: 'outage@1.0.0' } }),
        await api.call('GET', '/templates', { token: api.admin }),
      ];
      for (const res of answers) {
        expect({ status: res.status, type: res.body.type }).toEqual({ status: 503, type: expect.stringMatching(/unavailable$/) });
        expect(res.headers.get('content-type')).toMatch(PROBLEM_JSON);
        expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
      }
      expect((await api.call('GET', '/readyz')).status).toBe(503);
      // Liveness does not depend on the database: the pod must not be restarted for an outage.
      expect((await api.call('GET', '/healthz')).status).toBe(200);
    } finally {
      await refuseConnections(false);
    }

    // Back at once: the very next requests succeed.
    expect((await api.call('GET', '/instances', { token: alice })).status).toBe(200);
    const created = await api.call('POST', '/instances', { token: alice, body: { templateVersionId: 'outage@1.0.0' } });
    expect(created.status).toBe(201);
    expect((await api.call('GET', '/readyz')).status).toBe(200);
  });
});
