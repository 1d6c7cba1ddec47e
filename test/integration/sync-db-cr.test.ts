// The DB ↔ CR sync end to end: real PostgreSQL (DATABASE_URL) with LISTEN/
// NOTIFY, the shared control plane, and the real operator reconciling with
// the database as its template catalog. Everything is isolated by a shard
// label and unique names; the database is this file's own.
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { DbTemplateCatalog } from '../../src/db/catalog.ts';
import { listAuditEvents } from '../../src/db/repositories/audit.ts';
import { createInstance as createRow, getInstance as getRow, listInstances, markInstanceDeleted, updateInstanceSpec } from '../../src/db/repositories/instances.ts';
import { createTemplate, createTemplateVersion } from '../../src/db/repositories/templates.ts';
import { EventRecorder } from '../../src/k8s/events.ts';
import { createLogger, silentLogger } from '../../src/observability/logger.ts';
import { createMetrics } from '../../src/observability/metrics.ts';
import { PGliteChangeFeed, PgChangeFeed, type ChangeFeed } from '../../src/db/change-feed.ts';
import { InstanceSync } from '../../src/sync/loop.ts';
import { testDatabases, type TestDatabase } from '../support/database.ts';
import { eventually, helmBin, testKubeConfig, uniqueName } from '../support/kube.ts';
import { SHARD_LABEL, customObjects, getInstance, startTestOperator, type TestOperator } from '../support/operator.ts';
import { execa } from 'execa';

const CHART = fileURLToPath(new URL('../../charts/webapp', import.meta.url));
const shard = uniqueName('sync');
const log = process.env['CAELUS_TEST_LOGS'] ? createLogger({ level: 'debug' }) : silentLogger();
const kc = testKubeConfig();
const core = kc.makeApiClient(k8s.CoreV1Api);
const GVP = { group: 'caelus.io', version: 'v1', plural: 'caelusinstances' };
const ACTOR = { actor: 'user:test' };

// PostgreSQL when DATABASE_URL is set (CI always: testDatabases() fails the run without it), PGlite otherwise.
const dbCase = testDatabases().find((c) => c.name === 'postgres') ?? testDatabases()[0]!;
let db: TestDatabase;
let op: TestOperator;
let templateName: string;
let versionId: string;
const metrics = createMetrics();
const delays: number[] = [];

function feedFor(handle: TestDatabase): ChangeFeed {
  return handle.url ? new PgChangeFeed({ url: handle.url, logger: log }) : new PGliteChangeFeed({ pglite: handle.pglite!, logger: log });
}

function newSync(): InstanceSync {
  return new InstanceSync({
    db: db.db,
    kc,
    catalog: new DbTemplateCatalog(db.db),
    feed: feedFor(db),
    events: new EventRecorder(kc, { logger: log, component: 'caelus-sync' }),
    log,
    metrics,
    sweepIntervalMs: 5_000,
    labelSelector: `${SHARD_LABEL}=${shard}`,
    labels: { [SHARD_LABEL]: shard },
  });
}

let sync: InstanceSync;
let stopSync: AbortController;
let syncRun: Promise<void>;
async function startSync(): Promise<void> {
  sync = newSync();
  stopSync = new AbortController();
  syncRun = sync.run(stopSync.signal);
  await sync.whenReady();
}
async function haltSync(): Promise<void> {
  stopSync.abort();
  await syncRun;
}

/** Polls fast (a propagation delay is being measured) until fn returns a value. */
const soon = <T>(fn: () => Promise<T | undefined>, timeoutMs = 30_000) => eventually(fn, timeoutMs, 10);

const rowOf = (id: string) => getRow(db.db, id, { includeDeleted: true });
const ssaAs = async (manager: string, body: Record<string, unknown>) =>
  customObjects().patchClusterCustomObject(
    { ...GVP, name: (body['metadata'] as { name: string }).name, body, fieldManager: manager, force: true },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply),
  );
const mergePatchAs = async (manager: string, name: string, body: Record<string, unknown>) =>
  customObjects().patchClusterCustomObject({ ...GVP, name, body, fieldManager: manager }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
const eventReasons = async (name: string) =>
  (await core.listNamespacedEvent({ namespace: 'default', fieldSelector: `involvedObject.name=${name}` })).items.map((e) => ({ reason: e.reason, message: e.message }));
const helmRevision = async (release: string) => {
  const { stdout } = await execa(helmBin(), ['status', release, '-n', release, '-o', 'json', '--kubeconfig', process.env['CAELUS_TEST_KUBECONFIG']!]);
  return (JSON.parse(stdout) as { version: number }).version;
};

beforeAll(async () => {
  db = await dbCase.create();
  templateName = uniqueName('webapp');
  const template = await createTemplate(db.db, { name: templateName, description: 'sync test' }, ACTOR);
  const version = await createTemplateVersion(
    db.db,
    { templateId: template.id, version: '1.0.0', chart: { kind: 'local', path: CHART }, defaultValues: { message: 'db-default', persistence: { enabled: true, size: '1Gi' } } },
    ACTOR,
  );
  versionId = version.id;
  op = await startTestOperator(shard, {}, { catalog: new DbTemplateCatalog(db.db) });
  await startSync();
  console.log(`[figure] sync test database: ${dbCase.name}`);
});

afterAll(async () => {
  await haltSync().catch(() => undefined);
  await op?.stop();
  await db?.destroy();
  if (delays.length > 0) {
    const sorted = [...delays].sort((a, b) => a - b);
    console.log(`[figure] DB→CR propagation delay over ${sorted.length} changes: p50 ${sorted[Math.floor((sorted.length - 1) / 2)]} ms, max ${sorted.at(-1)} ms`);
  }
});

describe('API-managed instance: row → CR → release → status back in the row', () => {
  const ns = uniqueName('syapi');
  let id: string;
  const values = { message: 'hello', nested: { list: [1, { a: 'b' }, [true, null]], deep: { x: { y: 'z' } } } };

  it('pushes a new row to a CR within about a second, with spec, annotations and labels', async () => {
    const started = Date.now();
    const row = await createRow(db.db, { userId: 'alice@example.com', productTemplateVersionId: versionId, namespace: ns, domainName: 'alice.example.com', values }, ACTOR);
    id = row.id;
    const cr = await soon(async () => getInstance(ns));
    const delay = Date.now() - started;
    delays.push(delay);
    console.log(`[figure] DB→CR propagation (insert): ${delay} ms`);

    expect(cr.spec).toMatchObject({ userId: 'alice@example.com', productTemplateVersion: versionId, namespace: ns, domainName: 'alice.example.com', state: 'Running' });
    // Nested objects, arrays and nulls survive the server-side apply unchanged.
    expect(cr.spec.values).toEqual(values);
    expect(cr.metadata.annotations).toMatchObject({ 'caelus.io/spec-version': '1', 'caelus.io/instance-id': id });
    expect(cr.metadata.labels?.['caelus.io/user-id']).toMatch(/^sha256-[0-9a-f]{40}$/);
  });

  it('the operator deploys it and the row reports Running with helm revision 1', async () => {
    const row = await eventually(async () => {
      const r = await rowOf(id);
      return r?.status === 'Running' && r.helmRevision === 1 && r.observedSpecVersion === 1 ? r : undefined;
    }, 90_000);
    expect(row.lastReconcileAt).toBeInstanceOf(Date);
    expect(await helmRevision(ns)).toBe(1);
  });

  it('an API spec change reaches the CR and becomes helm revision 2', async () => {
    const started = Date.now();
    await updateInstanceSpec(db.db, id, { values: { ...values, message: 'second' } }, ACTOR);
    const cr = await soon(async () => {
      const c = await getInstance(ns);
      return c?.metadata.annotations?.['caelus.io/spec-version'] === '2' ? c : undefined;
    });
    const delay = Date.now() - started;
    delays.push(delay);
    console.log(`[figure] DB→CR propagation (update): ${delay} ms`);
    expect(cr.spec.values?.['message']).toBe('second');
    await eventually(async () => {
      const r = await rowOf(id);
      return r?.helmRevision === 2 && r.observedSpecVersion === 2 && r.status === 'Running' ? r : undefined;
    }, 90_000);
  });

  it('a kubectl edit of the CR is imported: new values and spec version in the row, the manager in the audit log', async () => {
    await mergePatchAs('kubectl-edit', ns, { spec: { values: { message: 'edited', extra: 'from-kubectl' } } });
    const row = await eventually(async () => {
      const r = await rowOf(id);
      return r?.specVersion === 3 ? r : undefined;
    });
    expect(row.values).toEqual({ ...values, message: 'edited', extra: 'from-kubectl' });
    const audit = await listAuditEvents(db.db, { instanceId: id });
    expect(audit.find((a) => a.action === 'instance.spec' && a.actor === 'manager:kubectl-edit')).toBeDefined();
    // The CR is stamped with the imported version (no push-back of old values).
    const cr = await eventually(async () => {
      const c = await getInstance(ns);
      return c?.metadata.annotations?.['caelus.io/spec-version'] === '3' ? c : undefined;
    });
    expect(cr.spec.values?.['message']).toBe('edited');
    const events = await eventually(async () => {
      const e = await eventReasons(ns);
      return e.some((x) => x.reason === 'SyncImported') ? e : undefined;
    });
    expect(events.find((e) => e.reason === 'SyncImported')?.message).toContain('kubectl-edit');
  });

  it('an API change that drops a key the kubectl edit added removes it from the CR', async () => {
    await updateInstanceSpec(db.db, id, { values: { ...values, message: 'api-again' } }, ACTOR);
    const cr = await eventually(async () => {
      const c = await getInstance(ns);
      return c?.metadata.annotations?.['caelus.io/spec-version'] === '4' && c.spec.values?.['extra'] === undefined ? c : undefined;
    });
    expect(cr.spec.values).toEqual({ ...values, message: 'api-again' });
  });

  it('a change on both sides between sync passes: the database wins and the CR gets a SyncConflict Event', async () => {
    await haltSync();
    await updateInstanceSpec(db.db, id, { values: { ...values, message: 'db-side' } }, ACTOR);
    await mergePatchAs('kubectl-patch', ns, { spec: { values: { message: 'cr-side' } } });
    await startSync();
    const cr = await eventually(async () => {
      const c = await getInstance(ns);
      return c?.spec.values?.['message'] === 'db-side' && c.metadata.annotations?.['caelus.io/spec-version'] === '5' ? c : undefined;
    });
    expect(cr.spec.values).toEqual({ ...values, message: 'db-side' });
    const events = await eventually(async () => {
      const e = await eventReasons(ns);
      return e.some((x) => x.reason === 'SyncConflict') ? e : undefined;
    });
    expect(events.find((e) => e.reason === 'SyncConflict')?.message).toContain('kubectl-patch');
    const row = await rowOf(id);
    expect(row?.values['message']).toBe('db-side');
    expect(row?.specVersion).toBe(5);
    expect((await listAuditEvents(db.db, { instanceId: id })).some((a) => a.action === 'instance.sync.conflict')).toBe(true);
  });

  it('deleting the row deletes the CR, its release and its namespace', async () => {
    await markInstanceDeleted(db.db, id, ACTOR);
    await eventually(async () => ((await getInstance(ns)) ? undefined : true), 90_000);
    await eventually(async () => {
      try {
        await core.readNamespace({ name: ns });
        return undefined;
      } catch (err) {
        return (err as { code?: number }).code === 404 ? true : undefined;
      }
    }, 90_000);
    // Nothing more happens: the row stays deleted, no CR comes back.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await getInstance(ns)).toBeUndefined();
    expect((await rowOf(id))?.deletedAt).toBeInstanceOf(Date);
  });
});

describe('kubectl delete of an API-managed CR', () => {
  it('marks the row deleted with an audit row', async () => {
    const ns = uniqueName('sydel');
    const row = await createRow(db.db, { userId: 'bob', productTemplateVersionId: versionId, namespace: ns, values: { message: 'bye' } }, ACTOR);
    await eventually(async () => getInstance(ns));
    await customObjects().deleteClusterCustomObject({ ...GVP, name: ns });
    const deleted = await eventually(async () => {
      const r = await rowOf(row.id);
      return r?.deletedAt ? r : undefined;
    }, 60_000);
    expect(deleted.deletedAt).toBeInstanceOf(Date);
    const audit = await listAuditEvents(db.db, { instanceId: row.id });
    expect(audit.find((a) => a.action === 'instance.delete')?.actor).toBe('caelus-sync');
    // The sync does not re-create the CR of a deleted row.
    await eventually(async () => ((await getInstance(ns)) ? undefined : true), 60_000);
  });
});

describe('GitOps: a CR created without a row', () => {
  const name = uniqueName('sygit');
  const crBody = (message: string) => ({
    apiVersion: 'caelus.io/v1',
    kind: 'CaelusInstance',
    metadata: { name, labels: { [SHARD_LABEL]: shard } },
    spec: { userId: 'gitops-team', productTemplateVersion: `${templateName}@1.0.0`, values: { message } },
  });

  it('is adopted: a row with source cluster appears, and its status follows the CR', async () => {
    await ssaAs('argocd-controller', crBody('from-git'));
    const row = await eventually(async () => (await listInstances(db.db, { userId: 'gitops-team' })).find((r) => r.namespace === name));
    expect(row).toMatchObject({ source: 'cluster', productTemplateVersionId: versionId, values: { message: 'from-git' }, specVersion: 1 });
    const audit = await listAuditEvents(db.db, { instanceId: row.id });
    expect(audit.find((a) => a.action === 'instance.create')?.actor).toBe('manager:argocd-controller');
    await eventually(async () => {
      const r = await rowOf(row.id);
      return r?.status === 'Running' && r.helmRevision === 1 ? r : undefined;
    }, 90_000);
    // Never pushed DB→CR: the CR carries no sync annotations.
    expect((await getInstance(name))?.metadata.annotations?.['caelus.io/spec-version']).toBeUndefined();
  });

  it('imports a change committed to git, and marks the row deleted when the CR is deleted', async () => {
    await ssaAs('argocd-controller', crBody('git-v2'));
    const [row] = (await listInstances(db.db, { userId: 'gitops-team' })).filter((r) => r.namespace === name);
    const updated = await eventually(async () => {
      const r = await rowOf(row!.id);
      return r?.specVersion === 2 ? r : undefined;
    });
    expect(updated.values).toEqual({ message: 'git-v2' });
    expect((await listAuditEvents(db.db, { instanceId: row!.id })).some((a) => a.action === 'instance.spec' && a.actor === 'manager:argocd-controller')).toBe(true);

    await customObjects().deleteClusterCustomObject({ ...GVP, name });
    await eventually(async () => ((await rowOf(row!.id))?.deletedAt ? true : undefined), 60_000);
    await eventually(async () => ((await getInstance(name)) ? undefined : true), 90_000);
  });

  it('a CR naming a version the database does not have is not adopted, with a Warning Event', async () => {
    const orphan = uniqueName('sybad');
    await ssaAs('argocd-controller', {
      apiVersion: 'caelus.io/v1',
      kind: 'CaelusInstance',
      metadata: { name: orphan, labels: { [SHARD_LABEL]: shard } },
      spec: { userId: 'gitops-team', productTemplateVersion: `${templateName}@9.9.9` },
    });
    const events = await eventually(async () => {
      const e = await eventReasons(orphan);
      return e.some((x) => x.reason === 'SyncAdoptFailed') ? e : undefined;
    });
    expect(events.find((e) => e.reason === 'SyncAdoptFailed')?.message).toContain('9.9.9');
    expect((await listInstances(db.db, { userId: 'gitops-team' })).find((r) => r.namespace === orphan)).toBeUndefined();
    await customObjects().deleteClusterCustomObject({ ...GVP, name: orphan });
  });
});

describe('metrics', () => {
  it('counts actions and observes the propagation delay', async () => {
    const all = await metrics.registry.getMetricsAsJSON();
    const actions = all.find((m) => m.name === 'caelus_sync_actions_total')!.values as Array<{ labels: Record<string, string>; value: number }>;
    const count = (action: string) => actions.filter((v) => v.labels['action'] === action && v.labels['result'] === 'ok').reduce((s, v) => s + v.value, 0);
    expect(count('Apply')).toBeGreaterThanOrEqual(3);
    expect(count('Import')).toBeGreaterThanOrEqual(2);
    expect(count('Conflict')).toBeGreaterThanOrEqual(1);
    expect(count('Adopt')).toBeGreaterThanOrEqual(1);
    const hist = all.find((m) => m.name === 'caelus_sync_propagation_delay_seconds')!.values as Array<{ metricName?: string; value: number }>;
    const n = hist.find((v) => v.metricName === 'caelus_sync_propagation_delay_seconds_count')?.value ?? 0;
    const sum = hist.find((v) => v.metricName === 'caelus_sync_propagation_delay_seconds_sum')?.value ?? 0;
    expect(n).toBeGreaterThanOrEqual(3);
    console.log(`[figure] sync propagation histogram: ${n} pushes, mean ${((sum / n) * 1000).toFixed(1)} ms (row updated_at → CR applied; includes the conflict push made while the sync was stopped)`);
  });
});
