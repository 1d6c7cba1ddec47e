// Real sharding: two shard processes of `caelus operator` (plus a standby of
// the second) and one API, on the real control plane, PostgreSQL and helm.
// The API assigns each new instance a shard, each shard's sync creates and
// each shard's operator reconciles only its own instances (told apart by the
// operators' logs), and when one shard's leader is SIGKILLed its standby takes
// the shard's Lease and reconciles them again — never the other shard.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { apiSharding } from '../../src/api/shard-status.ts';
import { ConditionType, type CaelusInstance } from '../../src/domain/instance.ts';
import { SHARD_LABEL, assignShard, type ShardList } from '../../src/domain/shard.ts';
import { publishWebapp, startApi, type ApiHarness } from '../support/api-server.ts';
import { testDatabases, type TestDatabase } from '../support/database.ts';
import { eventually, testKubeConfig, uniqueName } from '../support/kube.ts';
import { SHARD_LABEL as TEST_SHARD_LABEL, condition, createInstance, customObjects, getInstance } from '../support/operator.ts';
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
const ready = (i: CaelusInstance | undefined) => Boolean(i && condition(i, ConditionType.Ready)?.status === 'True' && i.status?.observedGeneration === i.metadata.generation);

describeWithPostgres('sharding across operator processes', () => {
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

    const namespaces: string[] = [];
    const ids = new Map<string, string>();
    for (let i = 0; i < N; i++) {
      const res = await api.call('POST', '/instances', { token: api.admin, body: { templateVersionId: `${template}@1.0.0`, userId: owner } });
      expect(res.status).toBe(201);
      namespaces.push(res.body.namespace);
      ids.set(res.body.namespace, res.body.id);
    }
    const expected = new Map(namespaces.map((ns) => [ns, assignShard(ns, SHARDS)]));
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

  it('the default shard reconciles unlabelled CRs and reports CRs naming an unknown shard', async () => {
    const spec = { userId: owner, productTemplateVersion: `${template}@1.0.0` };
    const gitops = `${run}-git-${randomBytes(2).toString('hex')}`;
    await createInstance({ apiVersion: 'caelus.io/v1', kind: 'CaelusInstance', metadata: { name: gitops, labels: { [TEST_SHARD_LABEL]: run } }, spec });
    const stray = `${run}-stray-${randomBytes(2).toString('hex')}`;
    await createInstance({ apiVersion: 'caelus.io/v1', kind: 'CaelusInstance', metadata: { name: stray, labels: { [TEST_SHARD_LABEL]: run, [SHARD_LABEL]: 'nowhere' } }, spec });

    await eventually(async () => (ready(await getInstance(gitops)) ? true : undefined), 120_000);
    const a1 = procs.find((p) => p.log.includes(`${A}-1`))!;
    await eventually(async () => ((await reconciledBy(a1)).has(gitops) ? true : undefined), 30_000);

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
