// The change feed on both databases (a row change arrives as a notification;
// PostgreSQL: a killed LISTEN session is re-established, no crash, no lost
// sync), and the DB→CR propagation delay measured over many changes. The
// CRs here carry a shard label no operator watches, so nothing reconciles
// them and they delete at once.
import { sql } from 'kysely';
import { DbTemplateCatalog } from '../../src/db/catalog.ts';
import { randomBytes } from 'node:crypto';
import { createInstance as createRow, markInstanceDeleted, updateInstanceSpec } from '../../src/db/repositories/instances.ts';
import { deleteSecret, putSecret } from '../../src/db/repositories/secrets.ts';
import { recordInstanceActivity } from '../../src/db/repositories/tenant-instances.ts';
import { SecretBox } from '../../src/db/secret-box.ts';
import { EventRecorder } from '../../src/k8s/events.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { createMetrics } from '../../src/observability/metrics.ts';
import { CHANGE_FEED_APPLICATION_NAME, PGliteChangeFeed, PgChangeFeed, type ChangeFeed } from '../../src/db/change-feed.ts';
import { InstanceSync } from '../../src/sync/loop.ts';
import { testDatabases, type TestDatabase } from '../support/database.ts';
import { ACTOR, seedVersion } from '../support/db-fixtures.ts';
import { eventually, testKubeConfig, uniqueName } from '../support/kube.ts';
import { SHARD_LABEL, getInstance } from '../support/operator.ts';

const log = silentLogger();
const feedFor = (db: TestDatabase): ChangeFeed =>
  db.url ? new PgChangeFeed({ url: db.url, logger: log, backoff: { initialMs: 50, maxMs: 500 } }) : new PGliteChangeFeed({ pglite: db.pglite!, logger: log });

describe.each(testDatabases())('change feed on $name', (dbCase) => {
  let db: TestDatabase;
  let feed: ChangeFeed;
  const seen: string[] = [];
  let listening = 0;

  beforeAll(async () => {
    db = await dbCase.create();
    feed = feedFor(db);
    await feed.start({ onChange: (id) => seen.push(id), onListening: () => listening++ });
  });
  afterAll(async () => {
    await feed?.stop();
    await db?.destroy();
  });

  it('notifies inserts, spec changes and deletions, not status copies', async () => {
    const { version } = await seedVersion(db.db);
    const row = await createRow(db.db, { userId: 'u', productTemplateVersionId: version.id, namespace: uniqueName('feed') }, ACTOR);
    await eventually(async () => (seen.includes(row.id) ? true : undefined), 5_000, 10);
    seen.length = 0;
    await db.db.updateTable('deployment_instance').set({ status: 'Running' }).where('id', '=', row.id).execute();
    await updateInstanceSpec(db.db, row.id, { values: { replicas: 2 } }, ACTOR);
    await markInstanceDeleted(db.db, row.id, ACTOR);
    await eventually(async () => (seen.length >= 2 ? true : undefined), 5_000, 10);
    await new Promise((r) => setTimeout(r, 200));
    expect(seen).toEqual([row.id, row.id]);
  });

  it('notifies reported activity and secret writes (put, delete), which the sync turns into CR annotations', async () => {
    const { version } = await seedVersion(db.db);
    const row = await createRow(db.db, { userId: 'u', productTemplateVersionId: version.id, namespace: uniqueName('feed') }, ACTOR);
    await eventually(async () => (seen.includes(row.id) ? true : undefined), 5_000, 10);
    seen.length = 0;
    const box = new SecretBox([{ id: 'k1', key: randomBytes(32) }]);
    await recordInstanceActivity(db.db, row.id, ACTOR);
    await putSecret(db.db, box, { instanceId: row.id, name: 'token', value: 'v' }, ACTOR);
    await deleteSecret(db.db, row.id, 'token', ACTOR);
    await eventually(async () => (seen.length >= 3 ? true : undefined), 5_000, 10);
    await new Promise((r) => setTimeout(r, 200));
    expect(seen).toEqual([row.id, row.id, row.id]);
  });

  if (dbCase.name === 'postgres') {
    it('survives its session being killed: reconnects, calls onListening again, keeps notifying', async () => {
      const before = listening;
      const killed = await sql<{ ok: boolean }>`
        select pg_terminate_backend(pid) as ok from pg_stat_activity
        where application_name = ${CHANGE_FEED_APPLICATION_NAME} and datname = current_database()`.execute(db.db);
      expect(killed.rows.length).toBe(1);
      await eventually(async () => (listening > before ? true : undefined), 10_000, 20);
      expect((feed as PgChangeFeed).reconnects).toBeGreaterThanOrEqual(1);
      const { version } = await seedVersion(db.db);
      const row = await createRow(db.db, { userId: 'u', productTemplateVersionId: version.id, namespace: uniqueName('feed') }, ACTOR);
      await eventually(async () => (seen.includes(row.id) ? true : undefined), 5_000, 10);
    });
  }
});

describe('DB→CR propagation delay', () => {
  const dbCase = testDatabases().find((c) => c.name === 'postgres') ?? testDatabases()[0]!;
  const shard = uniqueName('syncfig');
  let db: TestDatabase;
  let sync: InstanceSync;
  const stop = new AbortController();
  let running: Promise<void>;

  beforeAll(async () => {
    db = await dbCase.create();
    const kc = testKubeConfig();
    sync = new InstanceSync({
      db: db.db,
      kc,
      catalog: new DbTemplateCatalog(db.db),
      feed: feedFor(db),
      events: new EventRecorder(kc, { logger: log }),
      log,
      metrics: createMetrics(),
      sweepIntervalMs: 60_000,
      labelSelector: `${SHARD_LABEL}=${shard}`,
      labels: { [SHARD_LABEL]: shard },
    });
    running = sync.run(stop.signal);
    await sync.whenReady();
  });
  afterAll(async () => {
    stop.abort();
    await running;
    await db?.destroy();
  });

  it(`pushes inserts and updates within about a second (${dbCase.name})`, async () => {
    const { version } = await seedVersion(db.db);
    const inserts: number[] = [];
    const updates: number[] = [];
    const ids: Array<[string, string]> = [];
    for (let i = 0; i < 10; i++) {
      const ns = uniqueName('syfig');
      const t = Date.now();
      const row = await createRow(db.db, { userId: 'u', productTemplateVersionId: version.id, namespace: ns, values: { replicas: 1 } }, ACTOR);
      await eventually(async () => getInstance(ns), 10_000, 5);
      inserts.push(Date.now() - t);
      ids.push([row.id, ns]);
    }
    for (const [id, ns] of ids) {
      const t = Date.now();
      await updateInstanceSpec(db.db, id, { values: { replicas: 2 } }, ACTOR);
      await eventually(async () => ((await getInstance(ns))?.metadata.annotations?.['caelus.io/spec-version'] === '2' ? true : undefined), 10_000, 5);
      updates.push(Date.now() - t);
    }
    const fig = (xs: number[]) => {
      const s = [...xs].sort((a, b) => a - b);
      return `p50 ${s[Math.floor((s.length - 1) / 2)]} ms, max ${s.at(-1)} ms`;
    };
    console.log(`[figure] DB→CR propagation on ${dbCase.name} (write → CR visible, polled every 5 ms): insert ${fig(inserts)}; update ${fig(updates)}`);
    // The sweep runs once a minute here, so these arrived through notifications.
    expect(Math.max(...inserts, ...updates)).toBeLessThan(10_000);

    for (const [id] of ids) await markInstanceDeleted(db.db, id, ACTOR);
    for (const [, ns] of ids) await eventually(async () => ((await getInstance(ns)) ? undefined : true), 30_000);
  });
});
