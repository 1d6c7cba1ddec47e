// `caelus operator` with the database as its catalog runs the DB ↔ CR sync,
// and only on the replica holding the lease: a row becomes a deployed CR with
// no test-side sync, and after a graceful hand-over the new leader syncs.
import { fileURLToPath } from 'node:url';
import { operatorConfig } from '../../src/config/operator.ts';
import { createInstance as createRow, getInstance as getRow, markInstanceDeleted } from '../../src/db/repositories/instances.ts';
import { createTemplate, createTemplateVersion } from '../../src/db/repositories/templates.ts';
import { createLogger, silentLogger } from '../../src/observability/logger.ts';
import { createMetrics } from '../../src/observability/metrics.ts';
import { createOperatorWithSync } from '../../src/compose/operator-with-sync.ts';
import type { OperatorRuntime } from '../../src/operator/run-operator.ts';
import { testDatabases, type TestDatabase } from '../support/database.ts';
import { eventually, uniqueName } from '../support/kube.ts';
import { SHARD_LABEL, getInstance, syncedOperatorEnv } from '../support/operator.ts';

const CHART = fileURLToPath(new URL('../../charts/webapp', import.meta.url));
const shard = uniqueName('syncwire');
const leaseName = uniqueName('sync-lease');
const log = process.env['CAELUS_TEST_LOGS'] ? createLogger({ level: 'debug' }) : silentLogger();
const ACTOR = { actor: 'user:test' };

let db: TestDatabase;
let versionId: string;
const runtimes: OperatorRuntime[] = [];

async function startReplica(identity: string): Promise<OperatorRuntime> {
  const env = syncedOperatorEnv(db.url, {
    CAELUS_LEADER_ELECTION: 'true',
    CAELUS_IDENTITY: identity,
    CAELUS_LEASE_NAME: leaseName,
    CAELUS_LEASE_DURATION_SECONDS: '3',
    CAELUS_SYNC_SWEEP_SECONDS: '5',
  });
  const runtime = await createOperatorWithSync(operatorConfig({}, env), { log, metrics: createMetrics(), labelSelector: `${SHARD_LABEL}=${shard}`, env });
  await runtime.start();
  runtimes.push(runtime);
  return runtime;
}

async function rowBecomesDeployedCr(ns: string): Promise<string> {
  const row = await createRow(db.db, { userId: 'carol', productTemplateVersionId: versionId, namespace: ns, values: { message: ns } }, ACTOR);
  const cr = await eventually(async () => getInstance(ns));
  expect(cr.metadata.labels?.[SHARD_LABEL]).toBe(shard);
  expect(cr.metadata.annotations?.['caelus.io/instance-id']).toBe(row.id);
  await eventually(async () => {
    const r = await getRow(db.db, row.id);
    return r?.status === 'Running' && r.helmRevision === 1 ? r : undefined;
  }, 90_000);
  return row.id;
}

beforeAll(async () => {
  const postgres = testDatabases().find((c) => c.name === 'postgres');
  // `caelus operator` opens its own connection from DATABASE_URL, so this needs a server PGlite cannot stand in for.
  if (!postgres) throw new Error('DATABASE_URL is not set: the operator wiring test needs PostgreSQL (e.g. postgres://postgres@127.0.0.1:5432/test)');
  db = await postgres.create();
  const template = await createTemplate(db.db, { name: uniqueName('webapp'), description: 'wiring' }, ACTOR);
  versionId = (await createTemplateVersion(db.db, { templateId: template.id, version: '1.0.0', chart: { kind: 'local', path: CHART } }, ACTOR)).id;
});

afterAll(async () => {
  for (const r of runtimes) await r.stop().catch(() => undefined);
  await db?.destroy();
});

it('the leader syncs rows to CRs; after a hand-over the new leader does', async () => {
  const a = await startReplica(`${leaseName}-a`);
  await eventually(async () => (a.operator.leading ? true : undefined));
  const b = await startReplica(`${leaseName}-b`);
  const first = uniqueName('sywa');
  const firstId = await rowBecomesDeployedCr(first);
  expect(b.operator.leading).toBe(false);

  await a.stop();
  await eventually(async () => (b.operator.leading ? true : undefined), 30_000);
  const second = uniqueName('sywb');
  const secondId = await rowBecomesDeployedCr(second);

  // Leave the shared cluster clean: deleted rows take their CRs (and releases) with them.
  await markInstanceDeleted(db.db, firstId, ACTOR);
  await markInstanceDeleted(db.db, secondId, ACTOR);
  await eventually(async () => ((await getInstance(first)) || (await getInstance(second)) ? undefined : true), 90_000);
});
