// Real sharding: two shard processes of `caelus operator` (plus a standby of
// the second) and one API, on the real control plane, PostgreSQL and helm.
// The API assigns each new instance a shard, each shard's sync creates and
// each shard's operator reconciles only its own instances (told apart by the
// operators' logs), and when one shard's leader is SIGKILLed its standby takes
// the shard's Lease and reconciles them again — never the other shard. Each
// shard's drift watches hold only its own instances' objects, and a hand edit
// to one of them is put back by its shard.
import * as k8s from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { apiSharding } from '../../src/api/shard-status.ts';
import { ConditionType, INSTANCE_LABEL, type CaelusInstance } from '../../src/domain/instance.ts';
import { DEFAULT_WATCHED } from '../../src/drift/watches.ts';
import { SHARD_LABEL, assignShard, type ShardList } from '../../src/domain/shard.ts';
import { publishWebapp, startApi, type ApiHarness } from '../support/api-server.ts';
import { testDatabases, type TestDatabase } from '../support/database.ts';
import { eventually, testKubeConfig, uniqueName } from '../support/kube.ts';
import { SHARD_LABEL as TEST_SHARD_LABEL, condition, createInstance, customObjects, getInstance, patchInstance } from '../support/operator.ts';
import { spawnOperator, type OperatorProcess } from '../support/operator-process.ts';

const postgres = testDatabases().find((c) => c.name === 'postgres');
if (!postgres) console.warn('DATABASE_URL is not set: skipping the sharding test (operator processes need PostgreSQL)');
const describeWithPostgres = postgres ? describe : describe.skip;

const run = uniqueName('shards');
const A = `${run}-a`;
const B = `${run}-b`;
const SHARDS: ShardList = [A, B];
const BASE_LEASE = `caelus-${run}`;
const LEASE_NAMESPACE = 'caelus-test-leases';
const N = 40;
const template = uniqueName('shardweb');
const owner = uniqueName('owner');

const logOf = (p: OperatorProcess) => readFile(p.log, 'utf8').catch(() => '');
/** Instances this process finished a reconcile of (the reconciler's own log line), since `since` (ms) if given. */
async function reconciledBy(p: OperatorProcess, since = 0): Promise<Set<string>> {
  const names = new Set<string>();
  for (const line of (await logOf(p)).split('\n')) {
    if (!line.includes('reconcile finished')) continue;
    const m = /"time":"([^"]+)".*"instance":"([^"]+)"/.exec(line);
    if (m && Date.parse(m[1]!) >= since) names.add(m[2]!);
  }
  return names;
}
/** The operator's /metrics URL, from its start line. */
async function metricsUrl(p: OperatorProcess): Promise<string> {
  const health = await eventually(async () => /"msg":"operator started".*"health":"([^"]+)"|"health":"([^"]+)".*"msg":"operator started"/.exec(await logOf(p)) ?? undefined, 90_000);
  return `${health[1] ?? health[2]}/metrics`;
}
/** Samples of `name` by their `shard` label. */
async function byShard(url: string, name: string): Promise<Map<string, number>> {
  const text = await (await fetch(url)).text();
  return new Map([...text.matchAll(new RegExp(`^${name}\\{shard="([^"]*)"\\} (\\S+)$`, 'gm'))].map((m) => [m[1]!, Number(m[2])]));
}
async function counter(url: string, name: string): Promise<number> {
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(await (await fetch(url)).text());
  return m ? Number(m[1]) : 0;
}
const ready = (i: CaelusInstance | undefined) => Boolean(i && condition(i, ConditionType.Ready)?.status === 'True' && i.status?.observedGeneration === i.metadata.generation);

describeWithPostgres('sharding across operator processes', () => {
  // Shared with the drift-watch test, which runs on what the first test installed.
  const namespaces: string[] = [];
  let expected = new Map<string, string>();
  let db: TestDatabase;
  let api: ApiHarness;
  const procs: OperatorProcess[] = [];
  const spawnShard = (shard: string, replica: string) => {
    const p = spawnOperator(run, `${shard}-${replica}`, {
      DATABASE_URL: db.url!,
      CAELUS_CATALOG: '',
      CAELUS_DB_POOL_MAX: '3',
      CAELUS_SYNC_SWEEP_SECONDS: '5',
      CAELUS_SHARDS: SHARDS.join(','),
      CAELUS_SHARD: shard,
      CAELUS_LEASE_NAME: BASE_LEASE,
      CAELUS_CONCURRENCY: '4',
      // The default lease: a 3 s one flaps between B's replicas on a loaded 2-core machine.
      CAELUS_LEASE_DURATION_SECONDS: '15',
      // No resync or periodic full drift check during the test: a hand edit is only noticed through the drift watches.
      CAELUS_RESYNC_SECONDS: '86400',
      CAELUS_DRIFT_FULL_CHECK_SCHEDULE: '0 0 1 1 *',
    });
    procs.push(p);
    return p;
  };

  beforeAll(async () => {
    db = await postgres!.create();
    api = await startApi(db, {
      maxInstancesPerUser: 100,
      sharding: apiSharding({ shards: SHARDS, leaseNamespace: LEASE_NAMESPACE, baseLeaseName: BASE_LEASE }, { leaseNamespace: LEASE_NAMESPACE, baseLeaseName: BASE_LEASE }, testKubeConfig()),
    });
    await publishWebapp(api, template, ['1.0.0']);
  }, 300_000);

  afterAll(async () => {
    for (const p of procs) p.kill('SIGKILL');
    await Promise.all(procs.map((p) => p.exited));
    await api?.close();
    await db?.destroy();
  });

  it('splits 40 instances between two shards; a killed shard leader is replaced by its standby, never by the other shard', async () => {
    const leading = (p: OperatorProcess) => eventually(async () => ((await logOf(p)).includes('became leader') ? true : undefined), 90_000);
    const a1 = spawnShard(A, '1');
    const b1 = spawnShard(B, '1');
    await Promise.all([leading(a1), leading(b1)]);
    // The standby starts once b1 holds B's Lease, so the test knows which one to kill.
    const b2 = spawnShard(B, '2');
    await eventually(async () => ((await logOf(b2)).includes('operator started') ? true : undefined), 90_000);

    const ids = new Map<string, string>();
    for (let i = 0; i < N; i++) {
      const res = await api.call('POST', '/instances', { token: api.admin, body: { templateVersionId: `${template}@1.0.0`, userId: owner } });
      expect(res.status).toBe(201);
      namespaces.push(res.body.namespace);
      ids.set(res.body.namespace, res.body.id);
    }
    expected = new Map(namespaces.map((ns) => [ns, assignShard(ns, SHARDS)]));
    const ofShard = (s: string) => namespaces.filter((ns) => expected.get(ns) === s);
    // 40 instances over two shards: both get some (all in one has probability 2^-39).
    expect(ofShard(A).length).toBeGreaterThan(0);
    expect(ofShard(B).length).toBeGreaterThan(0);

    // Each shard's sync creates its CRs, labelled with the shard; each shard's operator installs them.
    const createdAt = Date.now();
    await eventually(
      async () => {
        const all = await Promise.all(namespaces.map((ns) => getInstance(ns)));
        return all.every(ready) ? all : undefined;
      },
      600_000,
      1_000,
    );
    process.stderr.write(`[figure] ${N} instances (${ofShard(A).length} in shard a, ${ofShard(B).length} in shard b) Ready ${Date.now() - createdAt} ms after the last POST\n`);
    for (const ns of namespaces) expect({ ns, shard: (await getInstance(ns))!.metadata.labels?.[SHARD_LABEL] }).toEqual({ ns, shard: expected.get(ns) });
    // Each instance was reconciled by its own shard's processes only (B's standby may have led for a
    // while if B's leader missed a renewal; that is B's failover, not another shard).
    // (The reconciler logs after its status write: wait for the last lines to reach the log files.)
    const byB = async () => new Set([...(await reconciledBy(b1)), ...(await reconciledBy(b2))]);
    await eventually(async () => {
      const [a, b] = [await reconciledBy(a1), await byB()];
      return ofShard(A).every((ns) => a.has(ns)) && ofShard(B).every((ns) => b.has(ns)) ? true : undefined;
    }, 30_000);
    const byA = await reconciledBy(a1);
    expect(namespaces.filter((ns) => byA.has(ns)).sort()).toEqual(ofShard(A).sort());
    const byBoth = await byB();
    expect(namespaces.filter((ns) => byBoth.has(ns)).sort()).toEqual(ofShard(B).sort());

    const overview = await api.call('GET', '/shards', { token: api.admin });
    expect(overview.status).toBe(200);
    expect(overview.body).toMatchObject({
      sharded: true,
      shards: [
        { name: A, default: true, lease: BASE_LEASE, holder: `${A}-1`, live: true, instances: ofShard(A).length },
        { name: B, default: false, lease: `${BASE_LEASE}-${B}`, holder: expect.stringMatching(new RegExp(`^${B}-[12]$`)), live: true, instances: ofShard(B).length },
      ],
      unknown: [],
      unowned: 0,
    });
    const forbidden = await api.call('GET', '/shards', { token: await api.userToken(owner) });
    expect(forbidden.status).toBe(403);

    // kill -9 B's leader: its standby takes B's Lease when it expires and reconciles B's instances again.
    // Make sure the one killed is B's leader right now.
    await eventually(async () => {
      const o = await api.call('GET', '/shards', { token: api.admin });
      return o.body.shards[1].holder === `${B}-1` && o.body.shards[1].live ? true : undefined;
    }, 60_000);
    const killedAt = Date.now();
    b1.kill('SIGKILL');
    await b1.exited;
    const moved = ofShard(B)[0]!;
    const patched = await api.call('PATCH', `/instances/${ids.get(moved)}`, { token: api.admin, body: { values: { message: 'after the kill' } } });
    expect(patched.status).toBe(200);
    await eventually(
      async () => {
        const byB2 = await reconciledBy(b2, killedAt);
        return ofShard(B).every((ns) => byB2.has(ns)) ? true : undefined;
      },
      240_000,
      1_000,
    );
    process.stderr.write(`[figure] shard ${B}: ${ofShard(B).length} instances reconciled again by its standby ${Date.now() - killedAt} ms after kill -9 of its leader (lease 15 s)\n`);
    // The change made while B had no leader reached its release through B's standby (sync and reconcile).
    await eventually(async () => {
      const i = await getInstance(moved);
      return ready(i) && i!.status?.release?.revision === 2 ? true : undefined;
    }, 120_000);
    const byAafter = await reconciledBy(a1);
    expect(ofShard(B).filter((ns) => byAafter.has(ns))).toEqual([]);
    expect([...(await reconciledBy(b2))].filter((ns) => expected.get(ns) === A)).toEqual([]);
    await eventually(async () => {
      const o = await api.call('GET', '/shards', { token: api.admin });
      return o.body.shards[1].holder === `${B}-2` && o.body.shards[1].live === true && o.body.unowned === 0 ? o.body : undefined;
    }, 30_000);
  }, 1_200_000);

  it("each shard's drift watches hold only its instances' objects; a hand edit to a shard-b object is put back by shard b", async () => {
    const a1 = procs.find((p) => p.log.includes(`${A}-1`))!;
    const b2 = procs.find((p) => p.log.includes(`${B}-2`))!;
    const [aMetrics, bMetrics] = await Promise.all([metricsUrl(a1), metricsUrl(b2)]);
    const ofShard = (s: string) => namespaces.filter((ns) => expected.get(ns) === s);
    const kc = testKubeConfig();
    const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
    const core = kc.makeApiClient(k8s.CoreV1Api);

    // What a user sees on the objects: the release's, the tenant identity's and the guardrails' carry their CR's shard.
    for (const [shard, ns] of [
      [A, ofShard(A)[0]!],
      [B, ofShard(B)[0]!],
    ] as const) {
      const owned = await Promise.all(
        [
          ['v1', 'ConfigMap'],
          ['v1', 'Service'],
          ['apps/v1', 'Deployment'],
          ['v1', 'ServiceAccount'],
          ['networking.k8s.io/v1', 'NetworkPolicy'],
        ].map(([apiVersion, kind]) => objects.list(apiVersion!, kind!, ns, undefined, undefined, undefined, undefined, INSTANCE_LABEL)),
      );
      for (const list of owned) {
        expect(list.items.length).toBeGreaterThan(0);
        for (const o of list.items) expect({ kind: o.kind, name: o.metadata?.name, shard: o.metadata?.labels?.[SHARD_LABEL] }).toEqual({ kind: o.kind, name: o.metadata?.name, shard });
      }
    }

    // B's drift watches hold exactly the objects labelled for B (no other test labels objects with this run's
    // shard names) and nothing else; A's hold none of them.
    let bObjects = 0;
    for (const r of DEFAULT_WATCHED) {
      bObjects += (await objects.list(r.apiVersion, r.kind, undefined, undefined, undefined, undefined, undefined, `${INSTANCE_LABEL},${SHARD_LABEL}=${B}`)).items.length;
    }
    expect(bObjects).toBeGreaterThan(ofShard(B).length);
    const bCache = await eventually(async () => {
      const counts = await byShard(bMetrics, 'caelus_drift_watch_objects');
      return counts.get(B) === bObjects ? counts : undefined;
    }, 60_000);
    expect([...bCache.keys()]).toEqual([B]);
    const aCache = await byShard(aMetrics, 'caelus_drift_watch_objects');
    expect(aCache.get(A)).toBeGreaterThan(ofShard(A).length);
    expect(aCache.has(B)).toBe(false);
    process.stderr.write(`[figure] drift-watch caches: shard b ${bObjects} objects (${ofShard(B).length} instances); shard a ${JSON.stringify(Object.fromEntries(aCache))} (a: ${ofShard(A).length} instances; none: other runs' objects in the cluster)\n`);

    // kubectl edit of a shard-b ConfigMap: B's drift watch sees it and B puts it back; A neither sees nor touches it.
    const ns = ofShard(B)[1] ?? ofShard(B)[0]!;
    const cm = (await core.listNamespacedConfigMap({ namespace: ns, labelSelector: INSTANCE_LABEL })).items.find((c) => c.data?.['message'] !== undefined)!;
    const original = cm.data!['message'];
    const [aCorrections, bCorrections] = [await counter(aMetrics, 'caelus_drift_corrections_total'), await counter(bMetrics, 'caelus_drift_corrections_total')];
    const editedAt = Date.now();
    await core.patchNamespacedConfigMap(
      { name: cm.metadata!.name!, namespace: ns, body: { data: { message: 'edited by hand' } }, fieldManager: 'kubectl-edit' },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    await eventually(async () => ((await core.readNamespacedConfigMap({ name: cm.metadata!.name!, namespace: ns })).data?.['message'] === original ? true : undefined), 60_000);
    // The last correction stays in status (the re-check after it may already say NoDrift).
    const drift = await eventually(async () => {
      const d = (await getInstance(ns))?.status?.drift as { correctedAt?: string; resources?: Array<{ kind: string; name: string }> } | undefined;
      return d?.correctedAt && Date.parse(d.correctedAt) >= editedAt - 1_000 ? d : undefined;
    }, 30_000);
    expect(drift.resources).toContainEqual(expect.objectContaining({ kind: 'ConfigMap', name: cm.metadata!.name }));
    expect(await counter(bMetrics, 'caelus_drift_corrections_total')).toBeGreaterThan(bCorrections);
    expect(await counter(aMetrics, 'caelus_drift_corrections_total')).toBe(aCorrections);
    expect((await reconciledBy(a1, editedAt)).has(ns)).toBe(false);
    expect((await reconciledBy(b2, editedAt)).has(ns)).toBe(true);
    expect((await byShard(aMetrics, 'caelus_drift_watch_objects')).has(B)).toBe(false);

    // An admin moves an instance from A to B by relabelling its CR: B's reconcile upgrades the release once,
    // which relabels its objects, and they leave A's drift watches for B's.
    const relabelled = ofShard(A)[0]!;
    const revision = (await getInstance(relabelled))!.status!.release!.revision!;
    let itsObjects = 0;
    for (const r of DEFAULT_WATCHED) {
      itsObjects += (await objects.list(r.apiVersion, r.kind, undefined, undefined, undefined, undefined, undefined, `${INSTANCE_LABEL}=${relabelled}`)).items.length;
    }
    const aBefore = (await byShard(aMetrics, 'caelus_drift_watch_objects')).get(A)!;
    await patchInstance(relabelled, { metadata: { labels: { [SHARD_LABEL]: B } } });
    await eventually(
      async () => {
        const i = await getInstance(relabelled);
        return ready(i) && i!.status?.release?.revision === revision + 1 ? true : undefined;
      },
      120_000,
      500,
    );
    const cms = await core.listNamespacedConfigMap({ namespace: relabelled, labelSelector: INSTANCE_LABEL });
    expect(cms.items.map((c) => c.metadata?.labels?.[SHARD_LABEL])).toEqual(cms.items.map(() => B));
    await eventually(async () => {
      const [a, b] = [await byShard(aMetrics, 'caelus_drift_watch_objects'), await byShard(bMetrics, 'caelus_drift_watch_objects')];
      return a.get(A) === aBefore - itsObjects && b.get(B) === bObjects + itsObjects ? true : undefined;
    }, 60_000);
    expect((await reconciledBy(b2, editedAt)).has(relabelled)).toBe(true);
  }, 300_000);

  it('the default shard reconciles unlabelled CRs and reports CRs naming an unknown shard', async () => {
    const spec = { userId: owner, productTemplateVersion: `${template}@1.0.0` };
    const gitops = `${run}-git-${randomBytes(2).toString('hex')}`;
    await createInstance({ apiVersion: 'caelus.io/v1', kind: 'CaelusInstance', metadata: { name: gitops, labels: { [TEST_SHARD_LABEL]: run } }, spec });
    const stray = `${run}-stray-${randomBytes(2).toString('hex')}`;
    await createInstance({ apiVersion: 'caelus.io/v1', kind: 'CaelusInstance', metadata: { name: stray, labels: { [TEST_SHARD_LABEL]: run, [SHARD_LABEL]: 'nowhere' } }, spec });

    await eventually(async () => (ready(await getInstance(gitops)) ? true : undefined), 120_000);
    const a1 = procs.find((p) => p.log.includes(`${A}-1`))!;
    await eventually(async () => ((await reconciledBy(a1)).has(gitops) ? true : undefined), 30_000);
    // Its objects carry no shard label, like the CR, and the default shard's drift watches hold them; B's never do.
    const objects = k8s.KubernetesObjectApi.makeApiClient(testKubeConfig());
    let unlabelled = 0;
    for (const r of DEFAULT_WATCHED) {
      const items = (await objects.list(r.apiVersion, r.kind, undefined, undefined, undefined, undefined, undefined, `${INSTANCE_LABEL}=${gitops}`)).items;
      for (const o of items) expect(o.metadata?.labels?.[SHARD_LABEL]).toBeUndefined();
      unlabelled += items.length;
    }
    expect(unlabelled).toBeGreaterThan(0);
    const b2 = procs.find((p) => p.log.includes(`${B}-2`))!;
    await eventually(async () => (((await byShard(await metricsUrl(a1), 'caelus_drift_watch_objects')).get('none') ?? 0) >= unlabelled ? true : undefined), 30_000);
    expect((await byShard(await metricsUrl(b2), 'caelus_drift_watch_objects')).has('none')).toBe(false);

    const reported = await eventually(async () => {
      const i = await getInstance(stray);
      const c = i && condition(i, ConditionType.Ready);
      return c?.reason === 'UnknownShard' ? c : undefined;
    }, 60_000);
    expect(reported.status).toBe('False');
    expect(reported.message).toContain(`${SHARD_LABEL}=nowhere names no configured shard`);
    // Reported, not reconciled: no finalizer, no namespace, no release.
    expect((await getInstance(stray))!.metadata.finalizers ?? []).toEqual([]);
    await customObjects().deleteClusterCustomObject({ group: 'caelus.io', version: 'v1', plural: 'caelusinstances', name: stray });
  }, 300_000);
});
