import * as k8s from '@kubernetes/client-node';
import { Informer, type InformerEventType } from '../../src/k8s/informer.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { eventually, testKubeConfig, uniqueName } from '../support/kube.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';

const logger = createLogger({ level: process.env['TEST_LOG_LEVEL'] ?? 'silent', name: 'k8s-informer-test' });

/** The test kubeconfig, but talking to the API server through `proxy`. */
function throughProxy(kc: k8s.KubeConfig, proxy: TcpProxy): k8s.KubeConfig {
  const out = new k8s.KubeConfig();
  out.loadFromOptions({
    clusters: kc.clusters.map((c) => ({ ...c, server: `https://127.0.0.1:${proxy.port}` })),
    users: kc.users,
    contexts: kc.contexts,
    currentContext: kc.currentContext,
  });
  return out;
}

describe('Informer against the control plane', () => {
  const kc = testKubeConfig();
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const ns = uniqueName('inf');
  let proxy: TcpProxy;
  let informer: Informer<k8s.V1ConfigMap> | undefined;
  const events: Array<{ type: InformerEventType; name: string; value: string | undefined; at: number }> = [];

  beforeAll(async () => {
    await core.createNamespace({ body: { metadata: { name: ns } } });
    const server = new URL(kc.getCurrentCluster()!.server);
    proxy = await TcpProxy.start({ host: server.hostname, port: Number(server.port) });
  });

  afterAll(async () => {
    await informer?.stop();
    await proxy.close();
    await core.deleteNamespace({ name: ns });
  });

  const cm = (name: string, value: string): k8s.V1ConfigMap => ({
    metadata: { name, namespace: ns, labels: { 'caelus.io/test': 'informer' } },
    data: { value },
  });
  const seen = (type: InformerEventType, name: string, value?: string): Promise<true> =>
    eventually(async () =>
      events.some((e) => e.type === type && e.name === name && (value === undefined || e.value === value)) ? true : undefined,
    );

  it('syncs, sees add/update/delete, resyncs, and survives a broken and refused API connection', async () => {
    await core.createNamespacedConfigMap({ namespace: ns, body: cm('pre-existing', '0') });
    // Not selected by the label selector: must never show up.
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'other', namespace: ns } } });

    informer = new Informer<k8s.V1ConfigMap>(throughProxy(kc, proxy), {
      logger,
      resource: { apiVersion: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespace: ns },
      labelSelector: 'caelus.io/test=informer',
      resyncPeriodMs: 400,
      backoff: { initialMs: 100, maxMs: 1000 },
    });
    informer.onChange((obj, type) =>
      events.push({ type, name: obj.metadata!.name!, value: obj.data?.['value'], at: Date.now() }),
    );
    const t0 = Date.now();
    expect(informer.live).toBe(false);
    await informer.start();
    const syncMs = Date.now() - t0;
    expect(informer.synced).toBe(true);
    expect(informer.live).toBe(true);
    expect(informer.list().map((o) => o.metadata?.name)).toEqual(['pre-existing']);
    expect(informer.get('pre-existing', ns)?.kind).toBe('ConfigMap');
    expect(informer.get('other', ns)).toBeUndefined();

    await core.createNamespacedConfigMap({ namespace: ns, body: cm('a', '1') });
    await seen('add', 'a', '1');
    await core.patchNamespacedConfigMap(
      { name: 'a', namespace: ns, body: { data: { value: '2' } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    await seen('update', 'a', '2');
    expect(informer.get('a', ns)?.data?.['value']).toBe('2');
    await core.deleteNamespacedConfigMap({ name: 'a', namespace: ns });
    await seen('delete', 'a');
    expect(informer.get('a', ns)).toBeUndefined();
    await seen('resync', 'pre-existing');

    // Outage: every connection is reset and new ones are refused. Changes made meanwhile
    // (directly, not through the proxy) must all arrive once the informer has reconnected.
    proxy.setDown(true);
    const downAt = Date.now();
    await eventually(async () => (informer!.restarts >= 2 ? true : undefined), 20_000, 50);
    await core.createNamespacedConfigMap({ namespace: ns, body: cm('during-outage', 'x') });
    await core.deleteNamespacedConfigMap({ name: 'pre-existing', namespace: ns });
    expect(informer.lastError?.message).toMatch(/list\/watch/);
    // Synced once, but the cache is frozen: readers must not take it for the server's state.
    expect(informer.synced).toBe(true);
    expect(informer.live).toBe(false);
    proxy.setDown(false);
    const upAt = Date.now();
    await seen('add', 'during-outage', 'x');
    await seen('delete', 'pre-existing');
    const caughtUpMs = Date.now() - upAt;
    // The relist's events come before the new watch is connected; live follows that.
    await eventually(async () => (informer!.live ? true : undefined), 5_000, 20);

    await core.createNamespacedConfigMap({ namespace: ns, body: cm('after', 'y') });
    await seen('add', 'after', 'y');
    expect(informer.list().map((o) => o.metadata?.name).sort()).toEqual(['after', 'during-outage']);

    process.stderr.write(
      `[k8s-informer] initial sync ${syncMs} ms; outage ${upAt - downAt} ms with ${informer.restarts} restarts; ` +
        `caught up ${caughtUpMs} ms after the API came back\n`,
    );

    await informer.stop();
    expect(informer.live).toBe(false);
    const count = events.length;
    await core.createNamespacedConfigMap({ namespace: ns, body: cm('after-stop', 'z') });
    await new Promise((r) => setTimeout(r, 800));
    expect(events.slice(count)).toEqual([]);
  });

  it('caches objects without managedFields; a metadata-only informer caches identity and labels and sees label changes', async () => {
    const labels = { 'caelus.io/test': 'slim' };
    const resource = { apiVersion: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespace: ns };
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'slim-listed', namespace: ns, labels }, data: { value: 'l' } } });
    const live = await core.readNamespacedConfigMap({ name: 'slim-listed', namespace: ns });
    expect(live.metadata?.managedFields?.length).toBeGreaterThan(0);

    const full = new Informer<k8s.V1ConfigMap>(kc, { logger, resource, labelSelector: 'caelus.io/test=slim' });
    const meta = new Informer<k8s.V1ConfigMap>(kc, { logger, resource, labelSelector: 'caelus.io/test=slim', metadataOnly: true });
    const metaEvents: Array<{ type: InformerEventType; name: string; labels: Record<string, string> | undefined }> = [];
    meta.onChange((obj, type) => metaEvents.push({ type, name: obj.metadata!.name!, labels: obj.metadata?.labels }));
    try {
      await Promise.all([full.start(), meta.start()]);
      await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'slim-watched', namespace: ns, labels }, data: { value: 'w' } } });
      const watched = await eventually(async () => full.get('slim-watched', ns));
      for (const obj of [full.get('slim-listed', ns)!, watched]) {
        expect(obj.metadata?.managedFields).toBeUndefined();
        expect(obj.kind).toBe('ConfigMap');
        expect(obj.data?.['value']).toBeDefined();
      }

      const listed = meta.get('slim-listed', ns)!;
      expect(listed).toEqual({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'slim-listed', namespace: ns, uid: live.metadata!.uid, resourceVersion: live.metadata!.resourceVersion, labels } });
      await eventually(async () => (metaEvents.some((e) => e.type === 'add' && e.name === 'slim-watched') ? true : undefined));
      expect(Object.keys(meta.get('slim-watched', ns)!)).toEqual(['apiVersion', 'kind', 'metadata']);

      await core.patchNamespacedConfigMap(
        { name: 'slim-watched', namespace: ns, body: { metadata: { labels: { ...labels, extra: 'yes' } } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
      await eventually(async () => (metaEvents.some((e) => e.type === 'update' && e.labels?.['extra'] === 'yes') ? true : undefined));
      await core.deleteNamespacedConfigMap({ name: 'slim-watched', namespace: ns });
      await eventually(async () => (metaEvents.some((e) => e.type === 'delete' && e.name === 'slim-watched') ? true : undefined));
      expect(meta.list().map((o) => o.metadata?.name)).toEqual(['slim-listed']);
    } finally {
      await full.stop();
      await meta.stop();
    }
  });

  it('start() keeps retrying until the API is reachable, and stop() rejects a pending start', async () => {
    proxy.setDown(true);
    const inf = new Informer(throughProxy(kc, proxy), {
      logger,
      resource: { apiVersion: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespace: ns },
      backoff: { initialMs: 50, maxMs: 200 },
    });
    const started = inf.start();
    await eventually(async () => (inf.restarts >= 2 ? true : undefined), 10_000, 25);
    expect(inf.synced).toBe(false);
    proxy.setDown(false);
    await started;
    expect(inf.synced).toBe(true);
    await inf.stop();

    proxy.setDown(true);
    const inf2 = new Informer(throughProxy(kc, proxy), {
      logger,
      resource: { apiVersion: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespace: ns },
      backoff: { initialMs: 50, maxMs: 200 },
    });
    const pending = inf2.start();
    await new Promise((r) => setTimeout(r, 100));
    await inf2.stop();
    await expect(pending).rejects.toThrow(/stopped before the initial sync/);
    proxy.setDown(false);
  });
});
