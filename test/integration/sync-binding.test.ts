// Binding by identity, not by annotation (issue 14 point 5): a tenant who
// copies another tenant's caelus.io/instance-id onto its own CaelusInstance
// gets none of the victim's secrets, changes nothing in the victim's row, and
// the CR says why in a SyncConflict Event. The operator and the sync run as
// `caelus operator` does (PostgreSQL catalog, secrets from the database).
// The same operator shows kubectl's Template column as name@version for API
// instances (whose spec names the version by id) and GitOps ones alike.
import { randomBytes } from 'node:crypto';
import { request, type RequestOptions } from 'node:https';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { operatorConfig } from '../../src/config/operator.ts';
import { createOperatorWithSync } from '../../src/compose/operator-with-sync.ts';
import { getSyncedInstance } from '../../src/db/repositories/instance-sync.ts';
import { createInstance as createRow, markInstanceDeleted } from '../../src/db/repositories/instances.ts';
import { putSecret } from '../../src/db/repositories/secrets.ts';
import { SecretBox } from '../../src/db/secret-box.ts';
import { createTemplate, createTemplateVersion } from '../../src/db/repositories/templates.ts';
import { ConditionType } from '../../src/domain/instance.ts';
import { createLogger, silentLogger } from '../../src/observability/logger.ts';
import { createMetrics } from '../../src/observability/metrics.ts';
import type { OperatorRuntime } from '../../src/operator/run-operator.ts';
import { testDatabases, type TestDatabase } from '../support/database.ts';
import { eventually, testKubeConfig, uniqueName } from '../support/kube.ts';
import { SHARD_LABEL, condition, createInstance, deleteInstance, getInstance, instanceBody, syncedOperatorEnv } from '../support/operator.ts';

const CHART = fileURLToPath(new URL('../../charts/webapp', import.meta.url));
const shard = uniqueName('bind');
const log = process.env['CAELUS_TEST_LOGS'] ? createLogger({ level: 'debug' }) : silentLogger();
const ACTOR = { actor: 'user:test' };
const key = randomBytes(32);
const box = new SecretBox([{ id: 'k1', key }]);
const SECRET = `victim-${randomBytes(8).toString('hex')}`;
const core = () => testKubeConfig().makeApiClient(k8s.CoreV1Api);

let db: TestDatabase;
let runtime: OperatorRuntime;
let versionId: string;
let templateName: string;

/** kubectl get caelusinstances <name>, as the table API answers it: column name → cell. */
async function tableRow(name: string): Promise<Record<string, unknown>> {
  const kc = testKubeConfig();
  const url = new URL(`${kc.getCurrentCluster()!.server}/apis/caelus.io/v1/caelusinstances/${name}`);
  const opts: RequestOptions = { method: 'GET', headers: { Accept: 'application/json;as=Table;g=meta.k8s.io;v=v1' } };
  await kc.applyToHTTPSOptions(opts);
  const body = await new Promise<string>((resolve, reject) => {
    const req = request(url, opts, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => (res.statusCode === 200 ? resolve(text) : reject(new Error(`GET ${url.pathname}: ${res.statusCode} ${text}`))));
    });
    req.on('error', reject);
    req.end();
  });
  const table = JSON.parse(body) as { kind: string; columnDefinitions: { name: string }[]; rows: { cells: unknown[] }[] };
  expect(table.kind).toBe('Table');
  return Object.fromEntries(table.columnDefinitions.map((c, i) => [c.name, table.rows[0]?.cells[i]]));
}

async function secretOf(namespace: string, name: string): Promise<Record<string, string> | undefined> {
  try {
    const s = await core().readNamespacedSecret({ name, namespace });
    return Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
  } catch (err) {
    if ((err as { code?: number }).code === 404) return undefined;
    throw err;
  }
}

async function events(name: string): Promise<k8s.CoreV1Event[]> {
  return (await core().listNamespacedEvent({ namespace: 'default', fieldSelector: `involvedObject.name=${name}` })).items;
}

beforeAll(async () => {
  const postgres = testDatabases().find((c) => c.name === 'postgres');
  if (!postgres) throw new Error('DATABASE_URL is not set: this test runs the operator with the sync on PostgreSQL');
  db = await postgres.create();
  templateName = uniqueName('webapp');
  const template = await createTemplate(db.db, { name: templateName, description: 'binding' }, ACTOR);
  versionId = (await createTemplateVersion(db.db, { templateId: template.id, version: '1.0.0', chart: { kind: 'local', path: CHART } }, ACTOR)).id;
  const env = syncedOperatorEnv(db.url, { CAELUS_SYNC_SWEEP_SECONDS: '2', CAELUS_ENCRYPTION_KEYS: `k1:${key.toString('base64')}` });
  runtime = await createOperatorWithSync(operatorConfig({}, env), { log, metrics: createMetrics(), labelSelector: `${SHARD_LABEL}=${shard}`, env });
  await runtime.start();
});

afterAll(async () => {
  await runtime?.stop();
  await db?.destroy();
});

it("a CR carrying another tenant's instance id gets no secret, changes no row and is told why", async () => {
  // The victim: an API instance with a secret, deployed by the sync and the operator.
  const victimNs = uniqueName('victim');
  const victim = await createRow(db.db, { userId: 'victim', productTemplateVersionId: versionId, namespace: victimNs, values: { message: 'mine' } }, ACTOR);
  await putSecret(db.db, box, { instanceId: victim.id, name: 'db-password', value: SECRET }, ACTOR);
  await eventually(async () => ((await secretOf(victimNs, `${victimNs}-secrets`))?.['db-password'] === SECRET ? true : undefined), 90_000);
  const before = await eventually(async () => {
    const r = await getSyncedInstance(db.db, victim.id);
    return r?.status === 'Running' && r.crUid ? r : undefined;
  }, 90_000);
  expect(before.crUid).toBe((await getInstance(victimNs))?.metadata.uid);

  // The attacker: its own CR, annotated with the victim's id and (to look in sync) its spec version.
  const evil = uniqueName('evil');
  const body = instanceBody(evil, shard, { userId: 'mallory', productTemplateVersion: versionId, values: { message: 'pwned' } });
  body.metadata.annotations = { 'caelus.io/instance-id': victim.id, 'caelus.io/spec-version': String(before.specVersion) };
  await createInstance(body);

  const conflict = await eventually(async () => (await events(evil)).find((e) => e.reason === 'SyncConflict'), 60_000);
  expect(conflict.type).toBe('Warning');
  expect(conflict.message).toContain(`instance ${victim.id} is bound to the CaelusInstance with uid ${before.crUid}, not to this one`);
  expect(conflict.message).toContain(`owns namespace "${victimNs}", but this CaelusInstance's namespace is "${evil}"`);
  expect(conflict.message).toContain(`belongs to user "victim", but this CaelusInstance's spec.userId is "mallory"`);

  // The operator still deploys the attacker's CR as what it is (its own namespace, its own values), without the victim's secrets.
  const deployed = await eventually(async () => {
    const i = await getInstance(evil);
    return condition(i, ConditionType.Ready)?.status === 'True' && i?.status?.guardrails?.appliedDigest ? i : undefined;
  }, 90_000);
  expect(deployed.status?.namespace).toBe(evil);
  expect(await secretOf(evil, `${evil}-secrets`)).toBeUndefined();

  // Several sweeps later the victim's row is exactly as it was: spec, status and binding.
  const sweepsBefore = (await events(evil)).find((e) => e.reason === 'SyncConflict')?.count ?? 1;
  await eventually(async () => (((await events(evil)).find((e) => e.reason === 'SyncConflict')?.count ?? 1) >= sweepsBefore + 2 ? true : undefined), 30_000);
  const after = await getSyncedInstance(db.db, victim.id);
  expect(after).toMatchObject({
    userId: 'victim',
    namespace: victimNs,
    values: { message: 'mine' },
    specVersion: before.specVersion,
    crUid: before.crUid,
    deletedAt: null,
  });
  expect((await getInstance(victimNs))?.spec.values).toEqual({ message: 'mine' });
  expect((await secretOf(victimNs, `${victimNs}-secrets`))?.['db-password']).toBe(SECRET);

  // Deleting the attacker's CR does not delete the victim's row either.
  await deleteInstance(evil);
  await eventually(async () => ((await getInstance(evil)) ? undefined : true), 60_000);
  expect((await getSyncedInstance(db.db, victim.id))?.deletedAt).toBeNull();

  await markInstanceDeleted(db.db, victim.id, ACTOR);
  await eventually(async () => ((await getInstance(victimNs)) ? undefined : true), 90_000);
}, 240_000);

it("kubectl's Template column shows name@version for API and GitOps instances", async () => {
  const api = uniqueName('tapi');
  const row = await createRow(db.db, { userId: 'carol', productTemplateVersionId: versionId, namespace: api }, ACTOR);
  const gitops = uniqueName('tgit');
  await createInstance(instanceBody(gitops, shard, { userId: 'carol', productTemplateVersion: `${templateName}@1.0.0` }));

  for (const name of [api, gitops]) {
    await eventually(async () => (condition(await getInstance(name), ConditionType.Ready)?.status === 'True' ? true : undefined), 90_000);
    expect(await tableRow(name)).toMatchObject({ Name: name, Namespace: name, Template: `${templateName}@1.0.0` });
  }
  // The API instance's spec still names the version by its id.
  expect((await getInstance(api))?.spec.productTemplateVersion).toBe(versionId);

  await markInstanceDeleted(db.db, row.id, ACTOR);
  await deleteInstance(gitops);
  await eventually(async () => ((await getInstance(api)) || (await getInstance(gitops)) ? undefined : true), 90_000);
}, 240_000);
