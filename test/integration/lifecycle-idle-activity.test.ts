// "Idle" means no activity reported through the API, end to end: the real
// REST API records POST /instances/{id}/activity in PostgreSQL, the DB ↔ CR
// sync inside `caelus operator` copies it (coalesced) to the CR annotation
// caelus.io/last-activity, and the lifecycle job (node-cron, every second)
// hibernates the instance only once the reports stop for spec.idleTimeout.
// The activity stamps cost no helm run and no new generation.
import * as k8s from '@kubernetes/client-node';
import { operatorConfig } from '../../src/config/operator.ts';
import { LAST_ACTIVITY_ANNOTATION, Phase } from '../../src/domain/instance.ts';
import { createLogger, silentLogger } from '../../src/observability/logger.ts';
import { createMetrics, type Metrics } from '../../src/observability/metrics.ts';
import { createOperatorWithSync } from '../../src/compose/operator-with-sync.ts';
import type { OperatorRuntime } from '../../src/operator/run-operator.ts';
import { publishWebapp, startApi, type ApiHarness } from '../support/api-server.ts';
import { testDatabases, type TestDatabase } from '../support/database.ts';
import { eventually, uniqueName } from '../support/kube.ts';
import { SHARD_LABEL, getInstance, syncedOperatorEnv } from '../support/operator.ts';

const postgres = testDatabases().find((c) => c.name === 'postgres');
// testDatabases() already fails the run in CI without DATABASE_URL; locally PGlite cannot stand in (the operator opens its own connection).
if (!postgres) console.warn('DATABASE_URL is not set: skipping the activity → idle hibernation test (it needs PostgreSQL)');
const describeWithPostgres = postgres ? describe : describe.skip;

const shard = uniqueName('idleapi');
const IDLE_TIMEOUT_MS = 4_000;
const log = process.env['CAELUS_TEST_LOGS'] ? createLogger({ level: 'debug' }) : silentLogger();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The sum of a counter's series matching `labels`. */
async function counter(metrics: Metrics, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
  return (metric?.values ?? []).filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((sum, v) => sum + v.value, 0);
}

describeWithPostgres('idle hibernation from activity reported through the API (PostgreSQL)', () => {
  let db: TestDatabase;
  let api: ApiHarness;
  let runtime: OperatorRuntime;
  const metrics = createMetrics();

  beforeAll(async () => {
    db = await postgres!.create();
    api = await startApi(db);
    const env = syncedOperatorEnv(db.url, {
      CAELUS_LIFECYCLE_SCHEDULE: '* * * * * *',
      // Long sweeps: the annotation must follow from notifications alone.
      CAELUS_SYNC_SWEEP_SECONDS: '600',
      CAELUS_SYNC_ACTIVITY_SECONDS: '1',
    });
    runtime = await createOperatorWithSync(operatorConfig({}, env), { log, metrics, labelSelector: `${SHARD_LABEL}=${shard}`, env });
    await runtime.start();
  });
  afterAll(async () => {
    await runtime?.stop();
    await api?.close();
    await db?.destroy();
  });

  it('stays Running past idleTimeout while activity is reported, then hibernates idleTimeout after the last report', async () => {
    const template = uniqueName('idleweb');
    await publishWebapp(api, template, ['1.0.0']);
    const token = await api.userToken('dora');
    const created = await api.call('POST', '/instances', { token, body: { templateVersionId: `${template}@1.0.0` } });
    expect(created.status).toBe(201);
    const { id, namespace: ns } = created.body as { id: string; namespace: string };
    const activity = async () => {
      const res = await api.call('POST', `/instances/${id}/activity`, { token });
      expect(res.status).toBe(200);
      return new Date(res.body.lastActivityAt as string);
    };

    // The row becomes a deployed release (the sync labels the CRs it creates with our shard).
    await eventually(async () => {
      const r = await api.call('GET', `/instances/${id}`, { token });
      return r.body.status === Phase.Running && r.body.helmRevision === 1 ? true : undefined;
    }, 120_000);

    // A first report reaches the CR before the admin sets an idle timeout (the API has no field for it).
    const first = await activity();
    await eventually(async () => ((await getInstance(ns))?.metadata.annotations?.[LAST_ACTIVITY_ANNOTATION] === first.toISOString() ? true : undefined), 10_000, 50);
    await runtime.kc.makeApiClient(k8s.CustomObjectsApi).patchClusterCustomObject(
      { group: 'caelus.io', version: 'v1', plural: 'caelusinstances', name: ns, body: { spec: { idleTimeout: `${IDLE_TIMEOUT_MS}ms` } }, fieldManager: 'kubectl-edit' },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    const withTimeout = await eventually(async () => {
      const cr = await getInstance(ns);
      return cr?.spec.idleTimeout && cr.status?.observedGeneration === cr.metadata.generation ? cr : undefined;
    }, 30_000);
    const generation = withTimeout.metadata.generation;
    const writesBefore = await counter(metrics, 'caelus_sync_annotation_writes_total', { annotation: 'last-activity' });
    const helmBefore = await counter(metrics, 'caelus_helm_invocations_total');

    // Keep reporting for 2.5× the timeout; the job runs every second and must leave it awake.
    const busyUntil = Date.now() + 2.5 * IDLE_TIMEOUT_MS;
    let last = first;
    let reports = 0;
    while (Date.now() < busyUntil) {
      last = await activity();
      reports++;
      await sleep(300);
      const cr = (await getInstance(ns))!;
      expect(cr.spec.state ?? 'Running').toBe('Running');
    }
    // The stamps made no new generation and spawned no helm process.
    expect((await getInstance(ns))!.metadata.generation).toBe(generation);
    expect(await counter(metrics, 'caelus_helm_invocations_total')).toBe(helmBefore);
    const writes = (await counter(metrics, 'caelus_sync_annotation_writes_total', { annotation: 'last-activity' })) - writesBefore;
    process.stderr.write(`[figure] ${reports} activity reports over ${2.5 * IDLE_TIMEOUT_MS} ms → ${writes} last-activity annotation writes (granularity 1 s)\n`);
    expect(writes).toBeGreaterThan(0);
    expect(writes).toBeLessThan(reports);

    // Reports stop: hibernated by the job, not before idleTimeout after the last one.
    const asleep = await eventually(async () => {
      const cr = await getInstance(ns);
      return cr?.status?.phase === Phase.Hibernated ? cr : undefined;
    }, 30_000);
    expect(asleep.metadata.annotations?.[LAST_ACTIVITY_ANNOTATION]).toBe(last.toISOString());
    const hibernatedAt = new Date(asleep.status!.hibernation!.hibernatedAt!).getTime();
    process.stderr.write(`[figure] idleTimeout ${IDLE_TIMEOUT_MS} ms → Hibernated ${hibernatedAt - last.getTime()} ms after the last reported activity\n`);
    expect(hibernatedAt - last.getTime()).toBeGreaterThanOrEqual(IDLE_TIMEOUT_MS);
    expect(asleep.metadata.managedFields?.some((m) => (m as { manager?: string }).manager === 'caelus-lifecycle')).toBe(true);

    // The tenant sees it: the sync imports the job's spec.state into the row.
    await eventually(async () => {
      const r = await api.call('GET', `/instances/${id}`, { token });
      return r.body.state === 'Hibernated' && r.body.status === Phase.Hibernated ? true : undefined;
    }, 30_000);
    expect(await counter(metrics, 'caelus_lifecycle_actions_total', { action: 'idle-hibernate', result: 'ok' })).toBe(1);

    // Leave the shared cluster clean.
    expect((await api.call('DELETE', `/instances/${id}`, { token })).status).toBeLessThan(300);
    await eventually(async () => ((await getInstance(ns)) ? undefined : true), 120_000);
  });
});
