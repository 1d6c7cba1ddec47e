// Issue 17, charts as admins publish them: from a real OCI registry
// (Debian's docker-registry, TLS with a self-signed certificate) and a real
// Helm repository over HTTPS (basic auth, the same certificate), through the
// real API, PostgreSQL, the synced operator and helm.
// - Publishing pulls the chart once and pins its sha256; 20 instances later
//   the source has served the package exactly once; with the source stopped,
//   5 more instances still install (from the operator's cache / the database).
// - A chart replaced under the same tag/version after publishing: instances
//   keep installing the pinned bytes; publishing again as a new version picks
//   up the new digest.
// - Bytes that do not match the pinned digest are refused: ChartDigestMismatch.
// - Credentials live in POST /chart-credentials (admin only, never echoed);
//   http:// repositories and a missing chartVersion are refused.
import { createHash, randomBytes } from 'node:crypto';
import { cp, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { execa } from 'execa';
import { sql } from 'kysely';
import { ChartCache } from '../../src/charts/cache.ts';
import { ChartPuller } from '../../src/charts/pull.ts';
import { SecretBox } from '../../src/db/secret-box.ts';
import { ConditionType, Reason, type CaelusInstance } from '../../src/domain/instance.ts';
import { WEBAPP_CHART, startApi, type ApiHarness, type ApiResponse } from '../support/api-server.ts';
import { freePort, selfSignedCert, startHelmRepo, startRegistry, type HelmRepoServer, type Registry, type Tls } from '../support/chart-servers.ts';
import { testDatabases, type TestDatabase } from '../support/database.ts';
import { eventually, helmBin, testKubeConfig, uniqueName } from '../support/kube.ts';
import { condition, getInstance, startTestOperator, type TestOperator } from '../support/operator.ts';

const postgres = testDatabases().find((c) => c.name === 'postgres');
if (!postgres) console.warn('DATABASE_URL is not set: skipping the chart-source test (it needs PostgreSQL)');
const describeWithPostgres = postgres ? describe : describe.skip;

const shard = uniqueName('charts');
const keyMaterial = randomBytes(32);
const box = new SecretBox([{ id: 'k1', key: keyMaterial }]);
const core = () => testKubeConfig().makeApiClient(k8s.CoreV1Api);
const STEP_MS = 300_000;

const sha256 = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function expectOk(res: ApiResponse, status: number, what: string): void {
  if (res.status !== status) throw new Error(`${what}: expected HTTP ${status}, got ${res.status} ${JSON.stringify(res.body)}`);
}

/** `helm package` of charts/webapp with `message` as its default, into `out`; returns the package path and bytes. */
async function packageWebapp(work: string, out: string, message: string): Promise<{ path: string; bytes: Buffer }> {
  const src = await mkdtemp(join(work, 'chart-'));
  const dir = join(src, 'webapp');
  await cp(WEBAPP_CHART, dir, { recursive: true });
  const values = await readFile(join(dir, 'values.yaml'), 'utf8');
  await writeFile(join(dir, 'values.yaml'), values.replace(/^message: .*$/m, `message: ${message}`));
  await execa(helmBin(), ['package', dir, '--destination', out]);
  const path = join(out, 'webapp-0.1.0.tgz');
  return { path, bytes: await readFile(path) };
}

describeWithPostgres('chart sources: pulled once, pinned by digest (PostgreSQL)', () => {
  let work: string;
  let tls: Tls;
  let db: TestDatabase;
  let api: ApiHarness;
  let op: TestOperator;
  let opCache: string;
  let alice: string;
  let templateId: string;
  const created: Array<{ id: string; ns: string }> = [];

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'caelus-chart-sources-'));
    tls = await selfSignedCert(work);
    db = await postgres!.create();
    api = await startApi(db, {
      secretBox: box,
      maxInstancesPerUser: 100,
      charts: { puller: new ChartPuller(helmBin()), cache: new ChartCache(join(work, 'api-cache')), allowHttp: false },
    });
    opCache = join(work, 'operator-cache');
    op = await startTestOperator(shard, { CAELUS_ENCRYPTION_KEYS: `k1:${keyMaterial.toString('base64')}`, CAELUS_CHART_CACHE_DIR: opCache, CAELUS_CONCURRENCY: '8' }, { databaseUrl: db.url! });
    alice = await api.userToken(uniqueName('alice'));
    const t = await api.call('POST', '/templates', { token: api.admin, body: { name: `${shard}-web` } });
    expectOk(t, 201, 'POST /templates');
    templateId = t.body.id;
  }, STEP_MS);

  afterAll(async () => {
    await Promise.all(created.map(({ id }) => api?.call('DELETE', `/instances/${id}`, { token: api.admin }).catch(() => undefined)));
    await Promise.all(created.map(({ ns }) => eventually(async () => ((await getInstance(ns)) ? undefined : true), 120_000).catch(() => undefined)));
    await op?.stop();
    await api?.close();
    await db?.destroy();
    if (work) await rm(work, { recursive: true, force: true });
  }, STEP_MS);

  const publish = (version: string, body: Record<string, unknown>) =>
    api.call('POST', `/templates/${templateId}/versions`, { token: api.admin, body: { version, ...body } });

  const ready = (cr: CaelusInstance | undefined) => !!cr && condition(cr, ConditionType.Ready)?.status === 'True' && cr.status?.observedGeneration === cr.metadata.generation;

  async function createInstances(n: number, version: string): Promise<Array<{ id: string; ns: string }>> {
    const out: Array<{ id: string; ns: string }> = [];
    for (let i = 0; i < n; i++) {
      const res = await api.call('POST', '/instances', { token: alice, body: { templateVersionId: `${shard}-web@${version}` } });
      expectOk(res, 201, `POST /instances ${version} #${i}`);
      out.push({ id: res.body.id, ns: res.body.namespace });
    }
    created.push(...out);
    return out;
  }

  async function allReady(list: Array<{ ns: string }>, what: string): Promise<void> {
    let notReady: string[] = [];
    await eventually(async () => {
      const crs = await Promise.all(list.map(({ ns }) => getInstance(ns)));
      notReady = list.filter((_, i) => !ready(crs[i])).map((x) => x.ns);
      return notReady.length === 0 ? true : undefined;
    }, STEP_MS, 500).catch((err: unknown) => {
      throw new Error(`${what}: ${notReady.length} not Ready (${notReady.slice(0, 3).join(', ')}…): ${(err as Error).message}`, { cause: err });
    });
  }

  const message = async (ns: string) => (await core().readNamespacedConfigMap({ name: `${ns}-config`, namespace: ns })).data?.['message'];

  describe('OCI registry (docker-registry)', () => {
    let registry: Registry;
    let first: { path: string; bytes: Buffer };
    const ref = () => `oci://${registry.host}/charts/webapp`;
    /** GETs of the chart package (the OCI layer whose digest is the .tgz's sha256). */
    const packageFetches = (digest: string) => registry.lines.filter((l) => l.includes(`"GET /v2/charts/webapp/blobs/${digest}`)).length;

    beforeAll(async () => {
      registry = await startRegistry(join(work, 'registry'), tls);
      first = await packageWebapp(work, join(work, 'oci-v1'), 'from-oci-v1');
      await execa(helmBin(), ['push', first.path, `oci://${registry.host}/charts`, '--ca-file', tls.certFile], { env: { HELM_REGISTRY_CONFIG: join(work, 'registry.json') } });
    }, STEP_MS);
    afterAll(async () => registry?.stop());

    it('credentials are admin only and never echoed; a chart without its CA, or without chartVersion, is refused naming the field', async () => {
      const denied = await api.call('POST', '/chart-credentials', { token: alice, body: { name: 'local-registry', caCert: tls.cert } });
      expect(denied.status).toBe(403);
      const c = await api.call('POST', '/chart-credentials', { token: api.admin, body: { name: 'local-registry', caCert: tls.cert } });
      expectOk(c, 201, 'POST /chart-credentials');
      expect(c.headers.get('cache-control')).toBe('no-store');
      const noVersion = await publish('0.9.0', { chart: { kind: 'oci', ref: ref() }, chartCredentials: 'local-registry' });
      expect(noVersion.status).toBe(422);
      expect(noVersion.body.field).toBe('/body/chartVersion');
      const noCa = await publish('0.9.0', { chart: { kind: 'oci', ref: ref() }, chartVersion: '0.1.0' });
      expect(noCa.status).toBe(422);
      expect(noCa.body.field).toBe('/body/chart/ref');
      expect(noCa.body.detail).toMatch(/certificate/i);
    });

    it('publishing pulls once and pins the sha256; 20 instances later the registry served the package once; stopped, 5 more install', async () => {
      const v = await publish('1.0.0', { chart: { kind: 'oci', ref: ref() }, chartVersion: '0.1.0', chartCredentials: 'local-registry', defaultValues: {} });
      expectOk(v, 201, 'publish oci 1.0.0');
      expect(v.body.chartDigest).toBe(sha256(first.bytes));
      expect(v.body.chartVersion).toBe('0.1.0');
      expect(packageFetches(v.body.chartDigest)).toBe(1);

      const twenty = await createInstances(20, '1.0.0');
      await allReady(twenty, '20 instances from oci://');
      expect(await message(twenty[0]!.ns)).toBe('from-oci-v1');
      const fetched = packageFetches(v.body.chartDigest);
      process.stderr.write(`[figure] oci://: 20 instances installed; registry served the chart package ${fetched} time(s) in all (publish included)\n`);
      expect(fetched).toBe(1);

      await registry.stop();
      const five = await createInstances(5, '1.0.0');
      await allReady(five, '5 instances with the registry stopped');
      expect(await message(five[4]!.ns)).toBe('from-oci-v1');
      await registry.start();
    }, 2 * STEP_MS);

    it('a chart replaced under the same tag: instances keep the pinned bytes; a new version picks up the new digest', async () => {
      const second = await packageWebapp(work, join(work, 'oci-v2'), 'from-oci-v2');
      expect(sha256(second.bytes)).not.toBe(sha256(first.bytes));
      await execa(helmBin(), ['push', second.path, `oci://${registry.host}/charts`, '--ca-file', tls.certFile], { env: { HELM_REGISTRY_CONFIG: join(work, 'registry.json') } });
      // The operator's cache is gone too: the pinned package must come from the database, not the registry.
      await rm(opCache, { recursive: true, force: true });
      const [pinned] = await createInstances(1, '1.0.0');
      await allReady([pinned!], 'instance of the pinned version after the tag moved');
      expect(await message(pinned!.ns)).toBe('from-oci-v1');

      const v2 = await publish('1.1.0', { chart: { kind: 'oci', ref: ref() }, chartVersion: '0.1.0', chartCredentials: 'local-registry' });
      expectOk(v2, 201, 'publish oci 1.1.0');
      expect(v2.body.chartDigest).toBe(sha256(second.bytes));
      const [fresh] = await createInstances(1, '1.1.0');
      await allReady([fresh!], 'instance of the re-published version');
      expect(await message(fresh!.ns)).toBe('from-oci-v2');
    }, STEP_MS);

    it('bytes that do not hash to the pinned digest are refused with ChartDigestMismatch (condition and Event)', async () => {
      const digest = sha256((await readFile(join(work, 'oci-v2', 'webapp-0.1.0.tgz'))));
      await sql`update chart_package set content = ${Buffer.from('not the chart')} where digest = ${digest}`.execute(db.db);
      await rm(opCache, { recursive: true, force: true });
      const [bad] = await createInstances(1, '1.1.0');
      const cr = await eventually(async () => {
        const c = await getInstance(bad!.ns);
        return c && condition(c, ConditionType.Ready)?.reason === Reason.ChartDigestMismatch ? c : undefined;
      }, 60_000);
      expect(condition(cr, ConditionType.Ready)?.message).toContain(digest);
      expect(cr.status?.release?.revision).toBeUndefined();
      const events = await core().listEventForAllNamespaces({ fieldSelector: `involvedObject.name=${bad!.ns}` });
      expect(events.items.map((e) => e.reason)).toContain(Reason.ChartDigestMismatch);
    }, STEP_MS);
  });

  describe('Helm repository over HTTPS (basic auth, self-signed certificate)', () => {
    let repo: HelmRepoServer;
    let pkg: { path: string; bytes: Buffer };
    const auth = { username: 'charts', password: `pw-${randomBytes(8).toString('hex')}` };

    beforeAll(async () => {
      const dir = join(work, 'repo');
      pkg = await packageWebapp(work, dir, 'from-https-repo');
      await execa(helmBin(), ['repo', 'index', dir]);
      repo = await startHelmRepo(dir, tls, auth);
    }, STEP_MS);
    afterAll(async () => repo?.stop());

    it('http:// is refused unless allowed; credentials never appear in the chart reference', async () => {
      const port = await freePort();
      const http = await publish('3.0.0', { chart: { kind: 'repo', repoUrl: `http://127.0.0.1:${port}`, chart: 'webapp' }, chartVersion: '0.1.0' });
      expect(http.status).toBe(422);
      expect(http.body.field).toBe('/body/chart/repoUrl');
      expect(http.body.detail).toContain('CAELUS_CHART_ALLOW_HTTP_REPOSITORIES');
      const inline = await publish('3.0.0', { chart: { kind: 'repo', repoUrl: `https://u:p@127.0.0.1:${port}`, chart: 'webapp' }, chartVersion: '0.1.0' });
      expect(inline.status).toBe(422);
      expect(inline.body.field).toBe('/body/chart/repoUrl');
    });

    it('a version range resolves to the exact version; 20 instances later the package was fetched once; stopped, 5 more install', async () => {
      const c = await api.call('POST', '/chart-credentials', { token: api.admin, body: { name: 'https-repo', username: auth.username, password: auth.password, caCert: tls.cert } });
      expectOk(c, 201, 'POST /chart-credentials https-repo');
      expect(JSON.stringify(c.body)).not.toContain(auth.password);
      const list = await api.call('GET', '/chart-credentials', { token: api.admin });
      expect(JSON.stringify(list.body)).not.toContain(auth.password);

      const v = await publish('2.0.0', { chart: { kind: 'repo', repoUrl: repo.url, chart: 'webapp' }, chartVersion: '^0.1.0', chartCredentials: 'https-repo' });
      expectOk(v, 201, 'publish https 2.0.0');
      expect(v.body.chartVersion).toBe('0.1.0');
      expect(v.body.chartDigest).toBe(sha256(pkg.bytes));
      const fetches = () => repo.requests.filter((r) => r === 'GET /webapp-0.1.0.tgz').length;
      expect(fetches()).toBe(1);

      const twenty = await createInstances(20, '2.0.0');
      await allReady(twenty, '20 instances from https://');
      expect(await message(twenty[0]!.ns)).toBe('from-https-repo');
      process.stderr.write(`[figure] https repo: 20 instances installed; the package was fetched ${fetches()} time(s) in all (publish included)\n`);
      expect(fetches()).toBe(1);

      await repo.stop();
      const five = await createInstances(5, '2.0.0');
      await allReady(five, '5 instances with the repository stopped');
      expect(await message(five[0]!.ns)).toBe('from-https-repo');
      // The password is stored sealed: not in the database as text.
      const dump = await execa('pg_dump', ['--data-only', db.url!]);
      expect(dump.stdout).not.toContain(auth.password);
      expect((await readdir(join(work, 'api-cache', 'sha256'))).length).toBeGreaterThan(0);
    }, 2 * STEP_MS);
  });
});
