// The console's first page with many instances (DESIGN §8): N instance rows
// in a throw-away PostgreSQL database, the REST API in this process (real
// HTTP on 127.0.0.1), and GET /instances as the console calls it — default
// order, each sort, the filters, a deep cursor page, a tenant's own list —
// each timed over sequential requests (p50/p90/p99, ms). Rows are inserted
// through the repository (quota and validation as for the API), status
// spread over a few phases, half the rows on an older template version.
import { sql } from 'kysely';
import { buildApiServer } from '../../src/api/server.ts';
import { openDatabase } from '../../src/db/connect.ts';
import { migrateUp } from '../../src/db/migrator.ts';
import { createInstance, recordInstanceStatus } from '../../src/db/repositories/instances.ts';
import { createTemplate, createTemplateVersion } from '../../src/db/repositories/templates.ts';
import { createApiToken } from '../../src/db/repositories/tokens.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { createMetrics } from '../../src/observability/metrics.ts';
import { log } from '../lib/env.ts';
import { roundSummary, summarize } from '../lib/stats.ts';
import { formatTable } from '../lib/table.ts';
import { throwawayDatabase } from './api.ts';

export interface ConsoleListOptions {
  databaseUrl: string | undefined;
  instances: number;
  users: number;
  requests: number;
}

const PHASES = ['Running', 'Running', 'Running', 'Pending', 'Failed', 'Hibernated'];

export async function runConsoleList(o: ConsoleListOptions) {
  if (!o.databaseUrl) throw new Error('the console-list benchmark needs PostgreSQL: set DATABASE_URL=postgres://… (bash hack/ensure-postgres.sh prints one)');
  const url = await throwawayDatabase(o.databaseUrl);
  const handle = await openDatabase({ kind: 'postgres', url, poolMax: 10, statementTimeoutMs: 15_000, connectTimeoutMs: 5_000 });
  try {
    await migrateUp(handle.db);
    const actor = { actor: 'bench' };
    const template = await createTemplate(handle.db, { name: 'webapp', description: 'bench' }, actor);
    const versions = await Promise.all(
      ['1.0.0', '1.1.0'].map((version) => createTemplateVersion(handle.db, { templateId: template.id, version, chart: { kind: 'local', path: '/nonexistent' }, defaultValues: {} }, actor)),
    );
    const t0 = Date.now();
    for (let i = 0; i < o.instances; i++) {
      const created = await createInstance(
        handle.db,
        { userId: `user-${i % o.users}`, productTemplateVersionId: versions[i % 2]!.id, namespace: `bench-${i}`, domainName: `shop-${i}.example.com`, values: { message: `m${i}` } },
        { ...actor, quota: { defaultMaxInstances: o.instances } },
      );
      await recordInstanceStatus(handle.db, created.id, { status: PHASES[i % PHASES.length]!, statusMessage: null });
    }
    log(`console-list: ${o.instances} rows inserted in ${Date.now() - t0} ms`);
    // Fresh statistics, as autovacuum would have them on a live database.
    await sql`analyze`.execute(handle.db);
    const admin = (await createApiToken(handle.db, { name: 'bench-admin', role: 'admin' }, actor)).token;
    const tenant = (await createApiToken(handle.db, { name: 'bench-user', role: 'user', userId: 'user-0' }, actor)).token;

    const app = await buildApiServer({
      db: handle.db,
      logger: silentLogger(),
      metrics: createMetrics(),
      chartChecker: { check: async () => undefined },
      maxInstancesPerUser: o.instances,
      rateLimit: false,
      idempotencyPurge: false,
    });
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const get = async (path: string, token: string) => {
        const res = await fetch(base + path, { headers: { authorization: `Bearer ${token}` } });
        const body = (await res.json()) as { items: unknown[]; nextCursor: string | null; total: number };
        if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${JSON.stringify(body)}`);
        return body;
      };
      // The cursor of page 10 (rows 451-500 of the default order): a deep page.
      let cursor: string | null = null;
      for (let p = 0; p < 9; p++) cursor = (await get(`/instances?limit=50${cursor ? `&cursor=${cursor}` : ''}`, admin)).nextCursor;
      const cases: Array<[string, string, string]> = [
        ['admin, default (-createdAt)', '/instances?limit=50', admin],
        ['admin, sort=namespace', '/instances?limit=50&sort=namespace', admin],
        ['admin, sort=-status', '/instances?limit=50&sort=-status', admin],
        ['admin, sort=-updatedAt', '/instances?limit=50&sort=-updatedAt', admin],
        ['admin, status=Failed', '/instances?limit=50&status=Failed', admin],
        ['admin, outdated=true', '/instances?limit=50&outdated=true', admin],
        ['admin, q=shop-12', '/instances?limit=50&q=shop-12', admin],
        ['admin, page 10 (cursor)', `/instances?limit=50&cursor=${cursor}`, admin],
        ['tenant, own instances', '/instances?limit=50', tenant],
      ];
      const rows: Record<string, ReturnType<typeof roundSummary> & { total: number }> = {};
      for (const [label, path, token] of cases) {
        for (let i = 0; i < 3; i++) await get(path, token);
        const samples: number[] = [];
        let total = 0;
        for (let i = 0; i < o.requests; i++) {
          const t = performance.now();
          total = (await get(path, token)).total;
          samples.push(performance.now() - t);
        }
        rows[label] = { ...roundSummary(summarize(samples), 1), total };
      }
      const result = { database: 'postgres', instances: o.instances, users: o.users, requestsPerCase: o.requests, pageSize: 50, latencyMs: rows };
      const table = formatTable(
        ['GET /instances', 'total', 'p50 (ms)', 'p90 (ms)', 'p99 (ms)', 'max (ms)'],
        Object.entries(rows).map(([label, s]) => [label, s.total, s.p50, s.p90, s.p99, s.max]),
      );
      return { result, table: `${table}\n${o.instances} rows, pages of 50, ${o.requests} sequential requests per case; API in the benchmark process` };
    } finally {
      await app.close();
    }
  } finally {
    await handle.destroy();
  }
}
