// API load: `caelus api` as a child process over a throw-away PostgreSQL
// database, concurrent create/list/get from many tenants → throughput and
// latency percentiles per route.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { openDatabase } from '../../src/db/connect.ts';
import { migrateUp } from '../../src/db/migrator.ts';
import { createApiToken } from '../../src/db/repositories/tokens.ts';
import { createTemplate, createTemplateVersion } from '../../src/db/repositories/templates.ts';
import { freePort } from '../../src/k8s/testenv/free-port.ts';
import { runApiLoad, type ApiCall } from '../lib/api-load.ts';
import { startChild } from '../lib/child.ts';
import { onCleanup } from '../lib/cleanup.ts';
import { log } from '../lib/env.ts';
import { readCpu, readMemory } from '../lib/proc.ts';
import { roundSummary, summarize } from '../lib/stats.ts';
import { formatTable } from '../lib/table.ts';
import { MiB, round } from './common.ts';

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
const WEBAPP = fileURLToPath(new URL('../../charts/webapp', import.meta.url));

export interface ApiOptions {
  databaseUrl: string | undefined;
  users: number;
  createsPerUser: number;
  readsPerInstance: number;
  concurrency: number;
  logDir: string;
  cpuProf?: boolean;
}

/** A database of its own on the server at adminUrl, dropped by the cleanup. */
export async function throwawayDatabase(adminUrl: string): Promise<string> {
  const name = `caelus_bench_${randomBytes(6).toString('hex')}`;
  const admin = () => new Kysely<unknown>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: adminUrl, max: 1 }) }) });
  const a = admin();
  try {
    await sql`create database ${sql.id(name)}`.execute(a);
  } finally {
    await a.destroy();
  }
  onCleanup(`database ${name}`, async () => {
    const d = admin();
    try {
      await sql`drop database if exists ${sql.id(name)} with (force)`.execute(d);
    } finally {
      await d.destroy();
    }
  });
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function runApi(o: ApiOptions) {
  if (!o.databaseUrl) {
    throw new Error('the API benchmark needs PostgreSQL: set DATABASE_URL=postgres://… (bash hack/ensure-postgres.sh prints one); it creates and drops its own database there');
  }
  const url = await throwawayDatabase(o.databaseUrl);
  // Schema, one template version and the tokens go in directly; the load is what goes through HTTP.
  const handle = await openDatabase({ kind: 'postgres', url, poolMax: 2, statementTimeoutMs: 15_000, connectTimeoutMs: 5_000 });
  let versionId: string;
  let tokens: string[];
  try {
    await migrateUp(handle.db);
    const actor = { actor: 'bench' };
    const template = await createTemplate(handle.db, { name: 'webapp', description: 'bench web app' }, actor);
    const version = await createTemplateVersion(handle.db, { templateId: template.id, version: '1.0.0', chart: { kind: 'local', path: WEBAPP }, defaultValues: { message: 'bench' } }, actor);
    versionId = version.id;
    tokens = await Promise.all(Array.from({ length: o.users }, async (_, i) => (await createApiToken(handle.db, { name: `bench-${i}`, role: 'user', userId: `bench-user-${i}` }, actor)).token));
  } finally {
    await handle.destroy();
  }

  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const nodeArgs = o.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${join(o.logDir, 'cpuprofile')}`] : [];
  const { pid, stop } = await startChild({
    label: 'caelus api',
    file: process.execPath,
    args: [...nodeArgs, CLI, 'api', '--port', String(port), '--host', '127.0.0.1', '--max-instances-per-user', String(o.createsPerUser)],
    env: { DATABASE_URL: url, LOG_LEVEL: 'warn', PATH: process.env['PATH'] ?? '' },
    logFile: join(o.logDir, 'api.log'),
    readyUrl: `${base}/readyz`,
    killGraceMs: 10_000,
  });
  const call: ApiCall = async (method, path, { token, body }) => {
    const res = await fetch(base + path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text && (res.headers.get('content-type') ?? '').includes('json') ? JSON.parse(text) : text };
  };

  log(`api: ${o.users} users × ${o.createsPerUser} creates, then ${o.readsPerInstance}× get + list each, ${o.concurrency} in flight (pid ${pid})`);
  const cpu0 = readCpu(pid).self;
  const load = await runApiLoad({ call, tokens, templateVersionId: versionId, createsPerUser: o.createsPerUser, concurrency: o.concurrency, readsPerInstance: o.readsPerInstance });
  const cpu = readCpu(pid).self - cpu0;
  const mem = readMemory(pid);
  await stop();

  const phaseSeconds = { create: load.phaseMs.create / 1000, read: load.phaseMs.read / 1000 };
  const routes = Object.fromEntries(
    Object.entries(load.latencyMs).map(([route, xs]) => {
      const seconds = route === 'create' ? phaseSeconds.create : phaseSeconds.read;
      return [route, { ...roundSummary(summarize(xs), 1), perSecond: round(xs.length / seconds, 1) }];
    }),
  );
  const total = Object.values(load.latencyMs).reduce((n, xs) => n + xs.length, 0);
  const result = {
    database: 'postgres',
    users: o.users,
    createsPerUser: o.createsPerUser,
    readsPerInstance: o.readsPerInstance,
    concurrency: o.concurrency,
    requests: total,
    requestsPerSecond: round(total / (phaseSeconds.create + phaseSeconds.read), 1),
    /** Per route, ms; perSecond is that route's requests over the wall time of its phase (get and list share the read phase). */
    routes,
    apiProcess: { cpuSeconds: round(cpu, 2), peakRssMiB: round(mem.peakRssBytes / MiB, 1) },
  };
  const table = formatTable(
    ['route', 'requests', 'req/s', 'p50 (ms)', 'p90 (ms)', 'p99 (ms)', 'max (ms)'],
    Object.entries(routes).map(([r, s]) => [
      r === 'create' ? 'POST /instances' : r === 'get' ? 'GET /instances/{id}' : 'GET /instances?limit=20',
      s.count,
      s.perSecond,
      s.p50,
      s.p90,
      s.p99,
      s.max,
    ]),
  );
  return { result, table: `${table}\n${total} requests, ${result.requestsPerSecond} req/s overall; API process CPU ${result.apiProcess.cpuSeconds} s, peak RSS ${result.apiProcess.peakRssMiB} MiB` };
}
