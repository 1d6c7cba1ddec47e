// `caelus dev`: the whole product on one machine until Ctrl-C. A local control
// plane (unless KUBECONFIG names a cluster), the database (PGlite under the
// data directory unless DATABASE_URL is set) migrated, the example templates
// of charts/catalog.yaml registered, an admin token, and operator (with the
// DB ↔ CR sync) + REST API in this one process. Progress goes to stderr; what
// to do next, and one greppable readiness line, to stdout.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { apiConfig, rateLimitOf } from '../config/api.ts';
import { databaseConfigFromEnv, type DatabaseConfig } from '../config/database.ts';
import { ENCRYPTION_KEYS_ENV, parseEncryptionKeys } from '../config/encryption-keys.ts';
import { SecretBox } from '../db/secret-box.ts';
import { chartPinningFromEnv } from '../charts/pin.ts';
import { operatorConfig } from '../config/operator.ts';
import { HelmChartChecker } from '../api/chart-check.ts';
import { closeApiServer } from '../api/command.ts';
import { ClusterLiveStatusReader } from '../api/live-status.ts';
import { ClusterInsightReader } from '../api/cluster-insight.ts';
import { instanceEventFeed } from '../db/change-feed.ts';
import { buildApiServer } from '../api/server.ts';
import { openDatabase, type DatabaseHandle } from '../db/connect.ts';
import { migrateUp } from '../db/migrator.ts';
import { createApiToken, listApiTokens, revokeApiToken } from '../db/repositories/tokens.ts';
import { HelmClient } from '../helm/index.ts';
import { loadKubeConfig } from '../k8s/client.ts';
import { installCrds } from '../k8s/crds.ts';
import { locateControlPlaneBinaries } from '../k8s/testenv/binaries.ts';
import { startControlPlane, type ControlPlane } from '../k8s/testenv/control-plane.ts';
import { locateHelm } from '../k8s/testenv/helm-binary.ts';
import { createLogger } from '../observability/logger.ts';
import { createMetrics } from '../observability/metrics.ts';
import { createOperatorWithSync } from '../compose/operator-with-sync.ts';
import type { OperatorRuntime } from '../operator/run-operator.ts';
import { createProgress, type ProgressStream, type StepDetail } from './progress.ts';
import { registerCatalog, type RegisteredVersion } from './register-catalog.ts';

export const DEV_CATALOG = fileURLToPath(new URL('../../charts/catalog.yaml', import.meta.url));
export const DEFAULT_DEV_DIR = '.caelus';
/** Name of the admin token each run creates (and of the earlier runs' tokens it revokes). */
export const DEV_TOKEN_NAME = 'caelus-dev admin';
/** The line scripts wait for; everything is serving once it is printed. */
export const READY_PREFIX = 'caelus dev ready:';

export interface DevOptions {
  /** --api-port (0 = any free port); else CAELUS_API_PORT, else 8081. */
  apiPort?: string;
  /** --api-host; else CAELUS_API_HOST, else 127.0.0.1. */
  apiHost?: string;
  /** --metrics-port for the operator's /metrics, /healthz, /readyz; else CAELUS_METRICS_PORT, else 8080. */
  metricsPort?: string;
  /** --data-dir: PGlite data (unless CAELUS_DB_DIR), kubeconfig and dev encryption key; else CAELUS_DEV_DIR, else .caelus. */
  dataDir?: string;
  /** --catalog: the templates to register; else CAELUS_CATALOG, else charts/catalog.yaml. */
  catalog?: string;
  env?: NodeJS.ProcessEnv;
  /** Next steps and the readiness line (default stdout). */
  out?: (line: string) => void;
  /** Progress (default stderr). */
  progress?: ProgressStream;
  signal?: AbortSignal;
}

/** Ctrl-C arrived before everything was up; what had started is stopped. */
export class DevInterruptedError extends Error {
  override readonly name = 'DevInterruptedError';
  constructor() {
    super('caelus dev: interrupted during start-up');
  }
}

type Closer = { what: string; close: () => Promise<void> };

export async function runDev(opts: DevOptions = {}): Promise<void> {
  const env = opts.env ?? process.env;
  const out = opts.out ?? ((l: string) => process.stdout.write(`${l}\n`));
  const progress = createProgress(opts.progress ?? process.stderr);
  const signal = opts.signal ?? new AbortController().signal;
  const dataDir = resolve(opts.dataDir ?? (env['CAELUS_DEV_DIR'] || DEFAULT_DEV_DIR));
  const catalogFile = resolve(opts.catalog ?? (env['CAELUS_CATALOG'] || DEV_CATALOG));
  // JSON logs of operator and API on stderr, warnings and up unless LOG_LEVEL says otherwise.
  const log = createLogger({ name: 'caelus-dev', level: env['LOG_LEVEL'] ?? 'warn', destination: { write: (s: string) => void process.stderr.write(s) } });
  const metrics = createMetrics();
  // Stopped in reverse order of start: API, operator, control plane, database.
  const closers: Closer[] = [];
  const step = <T>(label: string, fn: (detail: StepDetail) => Promise<T>): Promise<T> => {
    if (signal.aborted) throw new DevInterruptedError();
    return abortable(progress.step(label, fn), signal);
  };

  try {
    await mkdir(dataDir, { recursive: true });
    const helm = await step('locating helm', () => locateHelm(env));

    // The cluster: the one KUBECONFIG names, else a local control plane.
    let kubeconfig = env['KUBECONFIG'];
    let cp: ControlPlane | undefined;
    if (!kubeconfig) {
      await step('control-plane binaries (a first run builds them with Go: many minutes)', (detail) =>
        locateControlPlaneBinaries({ env, onProgress: detail }),
      );
      // etcd keeps its data next to the database: a fresh cluster under old rows would look like
      // every instance's CR had been deleted, and the sync would mark the rows deleted.
      cp = await step('starting kube-apiserver + etcd', () => startControlPlane({ env, etcdDataDir: join(dataDir, 'etcd') }));
      const started = cp;
      closers.push({ what: 'control plane', close: () => started.stop() });
      // A stable place to find it while this run lasts (the control plane's own dir is a random temp dir).
      kubeconfig = join(dataDir, 'kubeconfig');
      await copyFile(cp.kubeconfigPath, kubeconfig);
      await chmod(kubeconfig, 0o600);
      const copy = kubeconfig;
      closers.push({ what: 'kubeconfig', close: () => rm(copy, { force: true }) });
    }
    const loaded = loadKubeConfig(kubeconfig);
    await step('installing the CaelusInstance CRD', () => installCrds(loaded.kc, log));

    // The database: DATABASE_URL, else PGlite in the data directory.
    const dbConfig = databaseConfigFromEnv({ ...env, CAELUS_DB_DIR: env['CAELUS_DB_DIR'] || join(dataDir, 'db') });
    const handle = await step(`opening ${describeDb(dbConfig)} and migrating`, async () => {
      const h = await openDatabase(dbConfig, log);
      try {
        await migrateUp(h.db);
        return h;
      } catch (err) {
        await h.destroy();
        throw err;
      }
    });
    closers.push({ what: 'database', close: () => handle.destroy() });
    const registered = await step(`registering the templates of ${catalogFile}`, () => registerCatalog(handle.db, catalogFile, { actor: 'caelus-dev' }));
    const token = await step('creating an admin API token', () => freshAdminToken(handle));

    const keys = env[ENCRYPTION_KEYS_ENV] || (dbConfig.kind === 'pglite' ? await devEncryptionKey(dataDir) : undefined);
    // The database is the catalog (so the sync runs); CAELUS_CATALOG named only what to register.
    const operatorEnv: NodeJS.ProcessEnv = { ...env, CAELUS_CATALOG: '', ...(keys ? { [ENCRYPTION_KEYS_ENV]: keys } : {}) };
    const runtime = await step('starting the operator and the DB ↔ CR sync', async () => {
      const config = operatorConfig(
        {
          kubeconfig,
          helmBin: helm,
          leaderElection: false,
          metricsPort: opts.metricsPort,
          metricsHost: env['CAELUS_METRICS_HOST'] || '127.0.0.1',
          // A control plane without kubelets never makes pods ready: no waiting for them.
          helmRollbackOnFailure: env['CAELUS_HELM_ROLLBACK_ON_FAILURE'] || 'false',
        },
        operatorEnv,
      );
      const r = await createOperatorWithSync(config, { log, metrics, env: operatorEnv, database: { handle, config: dbConfig } });
      await r.start();
      return r;
    });
    closers.push({ what: 'operator', close: () => runtime.stop() });

    const apiCfg = apiConfig({ port: opts.apiPort, host: opts.apiHost ?? (env['CAELUS_API_HOST'] || '127.0.0.1'), helmBin: helm }, env);
    const { app, url } = await step('starting the REST API', async () => {
      const app = await buildApiServer({
        db: handle.db,
        logger: log,
        metrics,
        chartChecker: new HelmChartChecker(new HelmClient({ binary: helm, metrics, logger: log })),
        maxInstancesPerUser: apiCfg.maxInstancesPerUser,
        bodyLimitBytes: apiCfg.bodyLimitBytes,
        domainSuffixes: apiCfg.domainSuffixes,
        rateLimit: rateLimitOf(apiCfg),
        trustProxyHops: apiCfg.trustProxyHops,
        liveStatus: new ClusterLiveStatusReader(loaded.kc, log),
        cluster: new ClusterInsightReader(loaded.kc),
        changeFeed: dbConfig.kind === 'postgres' ? instanceEventFeed(handle, dbConfig.url, log, dbConfig.connectTimeoutMs) : instanceEventFeed(handle, undefined, log),
        ...(keys ? { secretBox: new SecretBox(parseEncryptionKeys(keys)) } : {}),
        charts: chartPinningFromEnv(helm, env),
      });
      try {
        return { app, url: await app.listen({ port: apiCfg.port, host: apiCfg.host }) };
      } catch (err) {
        await app.close();
        throw err;
      }
    });
    closers.push({ what: 'API', close: () => closeApiServer(app as FastifyInstance, apiCfg.shutdownGraceMs, log) });

    printNextSteps(out, { url, token, kubeconfig, cp, runtime, registered, db: describeDb(dbConfig), dataDir });
    await new Promise<void>((done) => {
      if (signal.aborted) done();
      else signal.addEventListener('abort', () => done(), { once: true });
    });
    progress.note('stopping (API, operator, control plane, database)');
  } finally {
    const failures = await closeAll(closers);
    for (const f of failures) progress.note(`stopping the ${f.what} failed: ${f.err instanceof Error ? f.err.message : String(f.err)}`);
    progress.note('stopped');
  }
}

/** Settles when p does, or rejects with DevInterruptedError once signal aborts (p keeps running; its children die with the process). */
function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((res, rej) => {
    const onAbort = () => rej(new DevInterruptedError());
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        res(v);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        rej(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

async function closeAll(closers: Closer[]): Promise<Array<{ what: string; err: unknown }>> {
  const failures: Array<{ what: string; err: unknown }> = [];
  for (const c of closers.reverse()) {
    try {
      await c.close();
    } catch (err) {
      failures.push({ what: c.what, err });
    }
  }
  return failures;
}

function describeDb(config: DatabaseConfig): string {
  return config.kind === 'postgres' ? 'PostgreSQL (DATABASE_URL)' : `PGlite in ${resolve(config.dataDir)}`;
}

/** One live dev admin token: earlier runs' tokens are revoked, so they do not pile up in the data directory. */
async function freshAdminToken(handle: DatabaseHandle): Promise<string> {
  for (const t of await listApiTokens(handle.db)) {
    if (t.name === DEV_TOKEN_NAME && t.role === 'admin' && !t.revokedAt) await revokeApiToken(handle.db, t.id, { actor: 'caelus-dev' });
  }
  const { token } = await createApiToken(handle.db, { name: DEV_TOKEN_NAME, role: 'admin' }, { actor: 'caelus-dev' });
  return token;
}

/**
 * Instance secrets need a key ring. With PGlite the data stays in dataDir, so
 * a key generated on the first run is kept next to it (mode 0600) and reused;
 * with PostgreSQL the caller sets CAELUS_ENCRYPTION_KEYS.
 */
async function devEncryptionKey(dataDir: string): Promise<string> {
  const file = join(dataDir, 'encryption-keys');
  if (existsSync(file)) return (await readFile(file, 'utf8')).trim();
  const ring = `dev1:${randomBytes(32).toString('base64')}`;
  await writeFile(file, `${ring}\n`, { mode: 0o600 });
  return ring;
}

const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

function printNextSteps(
  out: (line: string) => void,
  s: { url: string; token: string; kubeconfig: string; cp: ControlPlane | undefined; runtime: OperatorRuntime; registered: RegisteredVersion[]; db: string; dataDir: string },
): void {
  const auth = shellQuote(`Authorization: Bearer ${s.token}`);
  const example = s.registered[0];
  const body = JSON.stringify({ templateVersionId: example ? `${example.template}@${example.version}` : 'TEMPLATE@VERSION', userId: 'dev', domainName: 'dev.localhost' });
  const differs = s.registered.filter((r) => r.outcome === 'differs');
  out('');
  out('Caelus is running (operator + DB ↔ CR sync + REST API in this process).');
  out(`  console      ${s.url}/ui/   (sign in with the admin token below)`);
  out(`  API          ${s.url}   (OpenAPI UI: ${s.url}/docs)`);
  out(`  metrics      ${s.runtime.healthUrl}/metrics   (also ${s.url}/metrics)`);
  out(`  cluster      ${s.cp ? `local control plane ${s.cp.server} (kube-apiserver + etcd, no kubelet: pods never run)` : 'from KUBECONFIG'}`);
  out(`  kubeconfig   ${s.kubeconfig}`);
  out(`  database     ${s.db}`);
  out(`  templates    ${s.registered.map((r) => `${r.template}@${r.version}${r.outcome === 'created' ? ' (new)' : ''}`).join(', ') || 'none'}`);
  for (const d of differs) out(`  note: ${d.template}@${d.version} in the database differs from the catalog file; versions are immutable, so the stored one is used`);
  out(`  admin token  ${s.token}   (a new one each run; the previous one is revoked)`);
  out('');
  out('Create an instance:');
  out(`  curl -s -H ${auth} -H 'content-type: application/json' ${s.url}/instances -d ${shellQuote(body)}`);
  out('Follow it:');
  out(`  curl -s -H ${auth} ${s.url}/instances`);
  out(`  KUBECONFIG=${s.kubeconfig} kubectl get caelusinstances`);
  out('');
  out(`${READY_PREFIX} api=${s.url} metrics=${s.runtime.healthUrl} kubeconfig=${s.kubeconfig} (Ctrl-C to stop)`);
}
