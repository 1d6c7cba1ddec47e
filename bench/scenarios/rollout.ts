// Rollout: N instances on webapp 1.0.0 (rows in a throw-away PostgreSQL
// database, CRs pushed by the operator's sync), then two fleet rollouts
// through POST /rollouts (the API in this process): 1.0.0 → 2.0.0 with the
// default strategy (canary 1, ×2 waves up to 50, 4 at once, 60 s bake) and
// 2.0.0 → 3.0.0 with bakeSeconds 0 and maxConcurrent 16. For each: time from
// POST to Succeeded, helm processes per instance, operator CPU and peak RSS.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { buildApiServer } from '../../src/api/server.ts';
import { openDatabase } from '../../src/db/connect.ts';
import { migrateUp } from '../../src/db/migrator.ts';
import { createInstance } from '../../src/db/repositories/instances.ts';
import { createTemplate, createTemplateVersion } from '../../src/db/repositories/templates.ts';
import { createApiToken } from '../../src/db/repositories/tokens.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { createMetrics } from '../../src/observability/metrics.ts';
import type { BenchEnv } from '../lib/env.ts';
import { log } from '../lib/env.ts';
import { onCleanup } from '../lib/cleanup.ts';
import { operatorCounters, startOperator } from '../lib/operator.ts';
import { formatDuration, formatTable } from '../lib/table.ts';
import { throwawayDatabase } from './api.ts';
import { MiB, round } from './common.ts';

const WEBAPP = fileURLToPath(new URL('../../charts/webapp', import.meta.url));

export interface RolloutBenchOptions {
  databaseUrl: string | undefined;
  n: number;
  concurrency: number;
  logDir: string;
}

export async function runRollout(env: BenchEnv, o: RolloutBenchOptions) {
  if (!o.databaseUrl) throw new Error('the rollout benchmark needs PostgreSQL: set DATABASE_URL=postgres://… (bash hack/ensure-postgres.sh prints one)');
  const url = await throwawayDatabase(o.databaseUrl);
  const handle = await openDatabase({ kind: 'postgres', url, poolMax: 4, statementTimeoutMs: 15_000, connectTimeoutMs: 5_000 });
  onCleanup('bench database connection', () => handle.destroy());
  const db = handle.db;
  await migrateUp(db);
  const actor = { actor: 'bench' };
  const template = await createTemplate(db, { name: 'webapp', description: 'bench web app' }, actor);
  for (const version of ['1.0.0', '2.0.0', '3.0.0']) {
    await createTemplateVersion(db, { templateId: template.id, version, chart: { kind: 'local', path: WEBAPP }, defaultValues: { message: `v${version}` } }, actor);
  }
  const v1 = await db.selectFrom('product_template_version').select('id').where('version', '=', '1.0.0').executeTakeFirstOrThrow();
  const run = `r${randomBytes(3).toString('hex')}`;
  for (let i = 0; i < o.n; i++) await createInstance(db, { userId: `bench-${i % 20}`, productTemplateVersionId: v1.id, namespace: `${run}-${i}` }, actor);

  const operator = await startOperator(env, {
    run,
    concurrency: o.concurrency,
    logFile: join(o.logDir, 'operator-rollout.log'),
    env: { CAELUS_CATALOG: '', DATABASE_URL: url, CAELUS_DB_POOL_MAX: '4' },
  });
  const app = await buildApiServer({ db, logger: silentLogger(), metrics: createMetrics(), chartChecker: { check: async () => {} }, maxInstancesPerUser: o.n, idempotencyPurge: false });
  onCleanup('bench api', () => app.close());
  const admin = (await createApiToken(db, { name: 'bench-admin', role: 'admin' }, actor)).token;

  const allRunningOn = async (version: string, timeoutMs: number) => {
    const t0 = Date.now();
    for (;;) {
      const r = await db
        .selectFrom('deployment_instance as i')
        .innerJoin('product_template_version as v', 'v.id', 'i.product_template_version_id')
        .select(sql<number>`count(*)::int`.as('n'))
        .where('i.status', '=', 'Running')
        .where('v.version', '=', version)
        .executeTakeFirstOrThrow();
      if (r.n === o.n) return;
      if (Date.now() - t0 > timeoutMs) throw new Error(`only ${r.n}/${o.n} instances Running on ${version} after ${timeoutMs} ms; see ${operator.logFile}`);
      await new Promise((res) => setTimeout(res, 1000));
    }
  };
  log(`rollout: waiting for ${o.n} instances Running on 1.0.0 (operator pid ${operator.pid})`);
  await allRunningOn('1.0.0', Math.max(600_000, o.n * 3_000));

  const measure = async (label: string, target: string, strategy: Record<string, unknown>) => {
    const before = operatorCounters(await operator.metrics());
    const cpu0 = operator.cpu();
    const t0 = Date.now();
    const res = await app.inject({ method: 'POST', url: '/rollouts', headers: { authorization: `Bearer ${admin}` }, payload: { templateVersionId: `webapp@${target}`, strategy } });
    if (res.statusCode !== 201) throw new Error(`POST /rollouts: ${res.statusCode} ${res.body}`);
    const created = res.json() as { id: string; waves: number[]; strategy: Record<string, unknown> };
    log(`rollout ${label}: ${created.id}, waves ${created.waves.join(', ')}`);
    let state: string;
    for (;;) {
      const r = await app.inject({ method: 'GET', url: `/rollouts/${created.id}`, headers: { authorization: `Bearer ${admin}` } });
      const body = r.json() as { state: string; currentWave: number; counts: Record<string, number> };
      state = body.state;
      if (!['Pending', 'Running'].includes(state)) break;
      if (Date.now() - t0 > 3_600_000) throw new Error(`rollout ${label} not finished after an hour`);
      await new Promise((res2) => setTimeout(res2, 1000));
    }
    const wallMs = Date.now() - t0;
    const after = operatorCounters(await operator.metrics());
    const cpu = operator.cpu();
    const helm = after.helmProcesses - before.helmProcesses;
    return {
      label,
      strategy: created.strategy,
      waves: created.waves,
      state,
      wallSeconds: round(wallMs / 1000, 1),
      helmProcesses: helm,
      helmPerInstance: round(helm / o.n, 2),
      operatorCpuSeconds: round(cpu.self - cpu0.self, 2),
      helmChildrenCpuSeconds: round(cpu.children - cpu0.children, 2),
      operatorPeakRssMiB: round(operator.memory().peakRssBytes / MiB, 1),
    };
  };
  const runs = [await measure('default strategy', '2.0.0', {}), await measure('bakeSeconds 0, maxConcurrent 16', '3.0.0', { bakeSeconds: 0, maxConcurrent: 16 })];
  await operator.stop();
  const result = { n: o.n, concurrency: o.concurrency, runs };
  const table = formatTable(
    ['strategy', 'waves', 'state', 'POST → Succeeded', 'helm/instance', 'operator CPU (s)', 'helm CPU (s)', 'operator peak RSS (MiB)'],
    runs.map((r) => [r.label, r.waves.join(' '), r.state, formatDuration(r.wallSeconds * 1000), r.helmPerInstance, r.operatorCpuSeconds, r.helmChildrenCpuSeconds, r.operatorPeakRssMiB]),
  );
  return { result, table: `${o.n} instances, operator concurrency ${o.concurrency}\n${table}` };
}
