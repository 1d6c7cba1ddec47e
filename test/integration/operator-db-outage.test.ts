// Issue 14 point 8: the operator keeps instances converged while PostgreSQL
// refuses connections. Real PostgreSQL (ALLOW_CONNECTIONS false + every
// backend of the operator's database terminated), the real operator with the
// database as its catalog and the DB ↔ CR sync running, real helm, real
// control plane. While the database is down for 30 s: no instance goes
// Failed, values edits reach helm, scaled Deployments are scaled back, an
// instance whose template version this operator never resolved waits as
// Progressing. Once connections are allowed again everything is Ready
// within a minute.
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { createTemplate, createTemplateVersion } from '../../src/db/repositories/templates.ts';
import { ConditionType, Phase, type CaelusInstance } from '../../src/domain/instance.ts';
import { testDatabases, type TestDatabase } from '../support/database.ts';
import { startApi, type ApiHarness } from '../support/api-server.ts';
import { ACTOR } from '../support/db-fixtures.ts';
import { eventually, testKubeConfig, uniqueName } from '../support/kube.ts';
import { SHARD_LABEL, condition, createInstance, customObjects, getInstance, instanceBody, patchInstance, startTestOperator, type TestOperator } from '../support/operator.ts';

const CHART = fileURLToPath(new URL('../../charts/webapp', import.meta.url));
const INSTANCES = 20;
const OUTAGE_MS = 30_000;
const shard = uniqueName('dbdown');
const apps = () => testKubeConfig().makeApiClient(k8s.AppsV1Api);

let db: TestDatabase;
let op: TestOperator;
let api: ApiHarness;
let templateName: string;
const names = Array.from({ length: INSTANCES }, (_, i) => `${shard}-${String(i).padStart(2, '0')}`);

function adminUrl(): string {
  const url = process.env['DATABASE_URL'];
  if (!url) throw new Error('DATABASE_URL is not set: this test needs the real PostgreSQL server (export DATABASE_URL=$(bash hack/ensure-postgres.sh))');
  return url;
}

/** Runs one statement on the server's maintenance database (never the one being cut off). */
async function onServer(statement: (admin: Kysely<unknown>) => Promise<unknown>): Promise<void> {
  const admin = new Kysely<unknown>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: adminUrl(), max: 1 }) }) });
  try {
    await statement(admin);
  } finally {
    await admin.destroy();
  }
}

function databaseName(): string {
  return new URL(db.url!).pathname.slice(1);
}

async function refuseConnections(): Promise<void> {
  await onServer(async (admin) => {
    await sql`alter database ${sql.id(databaseName())} allow_connections false`.execute(admin);
    await sql`select pg_terminate_backend(pid) from pg_stat_activity where datname = ${databaseName()} and pid <> pg_backend_pid()`.execute(admin);
  });
}

async function allowConnections(): Promise<void> {
  await onServer((admin) => sql`alter database ${sql.id(databaseName())} allow_connections true`.execute(admin));
}

const listShard = async (): Promise<CaelusInstance[]> =>
  (
    (await customObjects().listClusterCustomObject({ group: 'caelus.io', version: 'v1', plural: 'caelusinstances', labelSelector: `${SHARD_LABEL}=${shard}` })) as {
      items: CaelusInstance[];
    }
  ).items;

const ready = (i: CaelusInstance | undefined): boolean =>
  i !== undefined && condition(i, ConditionType.Ready)?.status === 'True' && i.status?.observedGeneration === i.metadata.generation;

beforeAll(async () => {
  const cases = testDatabases().filter((c) => c.name === 'postgres');
  if (cases.length === 0) adminUrl();
  db = await cases[0]!.create();
  const template = await createTemplate(db.db, { name: `outage-${shard}`.slice(0, 63), description: 'db outage' }, ACTOR);
  templateName = template.name;
  for (const version of ['1.0.0', '1.1.0']) {
    await createTemplateVersion(
      db.db,
      { templateId: template.id, version, chart: { kind: 'local', path: CHART }, defaultValues: { message: `v${version}`, persistence: { enabled: false } } },
      ACTOR,
    );
  }
  // The work queue's own backoff as shipped (base 1 s, cap 5 min): the cap the old code hit.
  api = await startApi(db);
  op = await startTestOperator(shard, { CAELUS_CONCURRENCY: '4', CAELUS_SYNC_SWEEP_SECONDS: '5' }, { databaseUrl: db.url! });
}, 120_000);

afterAll(async () => {
  await allowConnections().catch(() => undefined);
  await op?.stop();
  await api?.close();
  await db?.destroy();
});

describe('PostgreSQL refusing connections for 30 s', () => {
  it('fails no instance, keeps correcting drift and applying edits, and converges within a minute after', async () => {
    for (const name of names) await createInstance(instanceBody(name, shard, { userId: 'u', productTemplateVersion: `${templateName}@1.0.0` }));
    await eventually(async () => ((await listShard()).filter(ready).length === INSTANCES ? true : undefined), 240_000, 1_000);

    // Every status seen from here on; a Failed phase anywhere fails the test.
    const seen: Array<{ name: string; phase: string | undefined; reason: string | undefined }> = [];
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        for (const i of await listShard().catch(() => [])) {
          seen.push({ name: i.metadata.name, phase: i.status?.phase, reason: condition(i, ConditionType.Ready)?.reason });
        }
        await new Promise((r) => setTimeout(r, 500));
      }
    })();

    // One instance (the third) is both edited and drifted: the helm upgrade must not trip over the scaled replicas.
    const edited = names.slice(0, 3);
    const drifted = names.slice(2, 5);
    const newcomer = `${shard}-new`;
    const outageStarted = Date.now();
    await refuseConnections();
    // The database really refuses: a fresh connection gets SQLSTATE 55000.
    const probe = new pg.Client({ connectionString: db.url! });
    await expect(probe.connect()).rejects.toMatchObject({ code: '55000' });
    await probe.end().catch(() => undefined);
    // The API's public /readyz says so without the driver's words (database name, SQLSTATE, host).
    const readyz = await api.call('GET', '/readyz');
    expect(readyz.status).toBe(503);
    expect(JSON.stringify(readyz.body)).toContain('the database is not reachable');
    expect(JSON.stringify(readyz.body)).not.toContain(databaseName());
    expect(JSON.stringify(readyz.body)).not.toContain('accepting connections');

    for (const name of edited) await patchInstance(name, { spec: { values: { message: `edited during the outage` } } });
    for (const name of drifted) {
      await apps().patchNamespacedDeployment(
        { name, namespace: name, body: { spec: { replicas: 3 } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
    }
    // A version this operator never resolved: it must wait, not fail.
    await createInstance(instanceBody(newcomer, shard, { userId: 'u', productTemplateVersion: `${templateName}@1.1.0` }));

    // All of this happens while the database is still down.
    const editsApplied = await eventually(async () => {
      const list = await Promise.all(edited.map((n) => getInstance(n)));
      return list.every((i) => ready(i) && (i?.status?.release?.revision ?? 0) >= 2) ? list : undefined;
    }, OUTAGE_MS - 5_000);
    const driftCorrected = await eventually(async () => {
      const replicas = await Promise.all(drifted.map(async (n) => (await apps().readNamespacedDeployment({ name: n, namespace: n })).spec?.replicas));
      return replicas.every((r) => r === 1) ? replicas : undefined;
    }, OUTAGE_MS - 5_000);
    const waiting = await eventually(async () => {
      const i = await getInstance(newcomer);
      return condition(i, ConditionType.Ready)?.reason === 'Progressing' ? i : undefined;
    }, OUTAGE_MS - 5_000);
    const during = Date.now() - outageStarted;
    expect(during).toBeLessThan(OUTAGE_MS);
    expect(editsApplied.map((i) => i?.status?.release?.revision)).toEqual([2, 2, 2]);
    expect(driftCorrected).toEqual([1, 1, 1]);
    expect(waiting.status?.phase).toBe(Phase.Pending);
    expect(condition(waiting, ConditionType.Ready)).toMatchObject({ status: 'False', message: expect.stringContaining('waiting for the template catalog') });

    await new Promise((r) => setTimeout(r, Math.max(0, OUTAGE_MS - (Date.now() - outageStarted))));
    const stillWaiting = await getInstance(newcomer);
    expect(condition(stillWaiting, ConditionType.Ready)?.reason).toBe('Progressing');
    await allowConnections();
    const restored = Date.now();
    await eventually(async () => {
      const list = await listShard();
      return list.length === INSTANCES + 1 && list.every(ready) ? true : undefined;
    }, 60_000, 500);
    process.stderr.write(`[figure] database down ${restored - outageStarted} ms; every instance Ready ${Date.now() - restored} ms after connections were allowed again\n`);
    watching = false;
    await watcher;

    const newcomerDone = await getInstance(newcomer);
    expect(newcomerDone?.status?.phase).toBe(Phase.Running);
    expect(newcomerDone?.status?.templateVersion?.version).toBe('1.1.0');
    expect(seen.length).toBeGreaterThan(INSTANCES * 10);
    expect(seen.filter((s) => s.phase === Phase.Failed)).toEqual([]);
    const reasons = [...new Set(seen.map((s) => s.reason))];
    process.stderr.write(`[figure] Ready reasons seen during and after the outage: ${reasons.join(', ')}\n`);
    expect(reasons).toEqual(expect.arrayContaining(['InSync', 'Progressing']));
    expect(seen.filter((s) => s.reason === 'ReconcileError')).toEqual([]);
  }, 480_000);
});
