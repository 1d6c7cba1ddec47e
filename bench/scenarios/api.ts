// API load: `caelus api` as a child process over a throw-away PostgreSQL
// database. Two modes: a closed loop (N requests in flight: creates, then
// get + list of each) → throughput and latency per route; and an open loop
// (--rate: a fixed mix at R req/s, the operator running against the same
// database) → latency per route from each request's scheduled send time.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { openDatabase } from '../../src/db/connect.ts';
import { migrateUp } from '../../src/db/migrator.ts';
import { createApiToken } from '../../src/db/repositories/tokens.ts';
import { createTemplate, createTemplateVersion } from '../../src/db/repositories/templates.ts';
import { freePort } from '../../src/k8s/testenv/free-port.ts';
import { DEFAULT_API_MIX, runApiLoad, runApiRateLoad, type ApiCall, type ApiMix } from '../lib/api-load.ts';
import { startChild } from '../lib/child.ts';
import { onCleanup } from '../lib/cleanup.ts';
import { log, type BenchEnv } from '../lib/env.ts';
import { pool } from '../lib/load.ts';
import { startOperator, type BenchOperator } from '../lib/operator.ts';
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

/** A throw-away database with the schema, one template version and a user token per tenant: the load is what goes through HTTP. */
async function prepareDatabase(databaseUrl: string | undefined, users: number): Promise<{ url: string; versionId: string; tokens: string[] }> {
  if (!databaseUrl) {
    throw new Error('the API benchmark needs PostgreSQL: set DATABASE_URL=postgres://… (bash hack/ensure-postgres.sh prints one); it creates and drops its own database there');
  }
  const url = await throwawayDatabase(databaseUrl);
  const handle = await openDatabase({ kind: 'postgres', url, poolMax: 2, statementTimeoutMs: 15_000, connectTimeoutMs: 5_000 });
  try {
    await migrateUp(handle.db);
    const actor = { actor: 'bench' };
    const template = await createTemplate(handle.db, { name: 'webapp', description: 'bench web app' }, actor);
    const version = await createTemplateVersion(handle.db, { templateId: template.id, version: '1.0.0', chart: { kind: 'local', path: WEBAPP }, defaultValues: { message: 'bench' } }, actor);
    const tokens = await Promise.all(Array.from({ length: users }, async (_, i) => (await createApiToken(handle.db, { name: `bench-${i}`, role: 'user', userId: `bench-user-${i}` }, actor)).token));
    return { url, versionId: version.id, tokens };
  } finally {
    await handle.destroy();
  }
}

/** `caelus api` as a child process on a free port. */
async function startApi(o: { url: string; logDir: string; maxInstancesPerUser: number; cpuProf?: boolean; kubeconfig?: string }) {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const nodeArgs = o.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${join(o.logDir, 'cpuprofile')}`] : [];
  const child = await startChild({
    label: 'caelus api',
    file: process.execPath,
    args: [...nodeArgs, CLI, 'api', '--port', String(port), '--host', '127.0.0.1', '--max-instances-per-user', String(o.maxInstancesPerUser)],
    env: { DATABASE_URL: o.url, LOG_LEVEL: 'warn', PATH: process.env['PATH'] ?? '', ...(o.kubeconfig ? { KUBECONFIG: o.kubeconfig } : {}) },
    logFile: join(o.logDir, 'api.log'),
    readyUrl: `${base}/readyz`,
    killGraceMs: 10_000,
  });
  return { base, ...child };
}

function httpCall(base: string): ApiCall {
  return async (method, path, { token, body }) => {
    const res = await fetch(base + path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text && (res.headers.get('content-type') ?? '').includes('json') ? JSON.parse(text) : text };
  };
}

export async function runApi(o: ApiOptions) {
  const { url, versionId, tokens } = await prepareDatabase(o.databaseUrl, o.users);

  const { base, pid, stop } = await startApi({ url, logDir: o.logDir, maxInstancesPerUser: o.createsPerUser, ...(o.cpuProf ? { cpuProf: true } : {}) });
  const call = httpCall(base);

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

export interface ApiRateOptions {
  databaseUrl: string | undefined;
  users: number;
  /** Instances each user creates (closed loop) before the timed run: what the gets read. */
  seedPerUser: number;
  rate: number;
  durationSeconds: number;
  logDir: string;
  cpuProf?: boolean;
  /** A control plane to run `caelus operator` (DB ↔ CR sync + reconciler) against the same database; none: the API alone. */
  env?: BenchEnv;
  operatorConcurrency?: number;
  /** Route weights; DEFAULT_API_MIX when absent. */
  mix?: ApiMix;
  /** With the operator: start the clock once every seeded instance is Running, not while the operator still installs the seed. */
  settle?: boolean;
}

/**
 * Open loop: `rate` requests per second of a fixed mix for `durationSeconds`,
 * each timed from its scheduled send time (bench/lib/open-loop.ts), while the
 * operator mirrors the created rows into CRs and reconciles them.
 */
/** Polls each seeded instance through the API until its status is Running. */
async function settle(call: ApiCall, seeded: ReadonlyArray<[string, string]>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const [token, id] of seeded) {
    for (;;) {
      const r = await call('GET', `/instances/${id}`, { token });
      if (r.status === 200 && (r.body as { status?: string }).status === 'Running') break;
      if (Date.now() > deadline) throw new Error(`api --settle: instance ${id} not Running within ${timeoutMs} ms (last: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 200)})`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

export async function runApiRate(o: ApiRateOptions) {
  const { url, versionId, tokens } = await prepareDatabase(o.databaseUrl, o.users);
  // Room for the seed and every create of the run, whichever tenant it lands on.
  const maxInstancesPerUser = o.seedPerUser + Math.ceil((o.rate * o.durationSeconds) / o.users) + 1;
  let operator: BenchOperator | undefined;
  if (o.env) {
    operator = await startOperator(o.env, {
      run: `a${randomBytes(3).toString('hex')}`,
      concurrency: o.operatorConcurrency ?? 8,
      logFile: join(o.logDir, 'operator.log'),
      env: { CAELUS_CATALOG: '', DATABASE_URL: url, CAELUS_DB_POOL_MAX: '4' },
    });
  }
  // With the cluster, as deployed: GET /instances/{id} then also reads the CR's live status.
  const { base, pid, stop } = await startApi({ url, logDir: o.logDir, maxInstancesPerUser, ...(o.cpuProf ? { cpuProf: true } : {}), ...(o.env ? { kubeconfig: o.env.cp.kubeconfigPath } : {}) });
  const call = httpCall(base);

  log(`api --rate: seeding ${o.users} users × ${o.seedPerUser} instances through the API`);
  const seeded: Array<[string, string]> = [];
  await pool(
    tokens.flatMap((t) => Array.from({ length: o.seedPerUser }, () => t)),
    16,
    async (token) => {
      const r = await call('POST', '/instances', { token, body: { templateVersionId: versionId, values: { replicaCount: 1 } } });
      if (r.status !== 201) throw new Error(`seed POST /instances: HTTP ${r.status} ${JSON.stringify(r.body)}`);
      seeded.push([token, String(r.body.id)]);
    },
  );
  if (o.settle && operator) {
    const t0 = Date.now();
    await settle(call, seeded, 300_000);
    log(`api --rate: the ${seeded.length} seeded instances are Running after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
  const mix = o.mix ?? DEFAULT_API_MIX;
  log(`api --rate: ${o.rate} req/s for ${o.durationSeconds} s, mix ${Object.entries(mix).map(([k, w]) => `${w}% ${k}`).join(', ')}; operator ${operator ? `running (pid ${operator.pid})` : 'not running'}; api pid ${pid}`);
  const load0 = loadavg();
  const cpu0 = readCpu(pid).self;
  const { report } = await runApiRateLoad({ call, tokens, templateVersionId: versionId, seeded, rate: o.rate, durationMs: o.durationSeconds * 1000, mix });
  const cpu = readCpu(pid).self - cpu0;
  const loadAfter = loadavg();
  const mem = readMemory(pid);
  const operatorCpu = operator?.cpu().self;
  await stop();
  await operator?.stop();

  const routes = Object.fromEntries(Object.entries(report.latency).map(([k, s]) => [k, { ...roundSummary(s, 1), errors: s.errors }]));
  const result = {
    database: 'postgres',
    mode: 'open-loop',
    operator: operator !== undefined,
    users: o.users,
    seededInstances: seeded.length,
    targetRate: o.rate,
    durationSeconds: o.durationSeconds,
    /** Percent of requests per route. */
    mix,
    settled: Boolean(o.settle && operator),
    sent: report.sent,
    errors: report.errors,
    errorExamples: report.errorExamples,
    achievedRate: round(report.achievedRate, 1),
    /** ms from each request's scheduled send time to its answer. */
    routes,
    /** ms the generator sent late (its own lag, already inside the latencies). */
    sendLag: roundSummary(report.sendLag, 1),
    loadAverage: { before: load0.map((x) => round(x, 2)), after: loadAfter.map((x) => round(x, 2)) },
    apiProcess: { cpuSeconds: round(cpu, 2), peakRssMiB: round(mem.peakRssBytes / MiB, 1) },
    ...(operatorCpu === undefined ? {} : { operatorCpuSeconds: round(operatorCpu, 2) }),
  };
  const names: Record<string, string> = { create: 'POST /instances', get: 'GET /instances/{id}', list: 'GET /instances?limit=20' };
  const table = formatTable(
    ['route', 'share', 'requests', 'errors', 'p50 (ms)', 'p90 (ms)', 'p99 (ms)', 'max (ms)'],
    Object.entries(routes).map(([r, s]) => [names[r] ?? r, `${mix[r as keyof typeof mix]}%`, s.count, s.errors, s.p50, s.p90, s.p99, s.max]),
  );
  return {
    result,
    table: `${table}\ntarget ${o.rate} req/s, achieved ${result.achievedRate} req/s, ${report.errors} errors; generator lag p99 ${result.sendLag.p99} ms; operator ${result.operator ? 'running' : 'not running'}; load average ${result.loadAverage.before.join(' ')} → ${result.loadAverage.after.join(' ')}; API CPU ${result.apiProcess.cpuSeconds} s, peak RSS ${result.apiProcess.peakRssMiB} MiB`,
  };
}
