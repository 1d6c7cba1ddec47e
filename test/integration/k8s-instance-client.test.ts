import * as k8s from '@kubernetes/client-node';
import { ObjectClient, KubeApiError } from '../../src/k8s/apply.ts';
import { Informer, type InformerEventType } from '../../src/k8s/informer.ts';
import {
  ConflictRetriesExhaustedError,
  InstanceClient,
  type ClusterResourceType,
  type CustomResource,
} from '../../src/k8s/instance-client.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { eventually, testKubeConfig, uniqueName } from '../support/kube.ts';

const logger = createLogger({ level: process.env['TEST_LOG_LEVEL'] ?? 'silent', name: 'k8s-instance-test' });

interface Spec {
  size: number;
}
interface Status {
  phase?: string;
  observed?: number;
  notes?: string[];
}
type Widget = CustomResource<Spec, Status>;

// A throwaway cluster-scoped CRD with a status subresource, under a group of
// its own so it can never clash with crds/caelusinstance.yaml or other test files.
const group = `${uniqueName('t')}.test.caelus.io`;
const type: ClusterResourceType = { group, version: 'v1', plural: 'widgets', kind: 'Widget' };
const apiVersion = `${group}/v1`;

describe('InstanceClient, ObjectClient and Informer on a cluster-scoped custom resource', () => {
  const kc = testKubeConfig();
  const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  const objects = new ObjectClient(kc, { logger });
  const client = new InstanceClient<Spec, Status>(kc, { logger, resource: type });

  beforeAll(async () => {
    await ext.createCustomResourceDefinition({
      body: {
        metadata: { name: `widgets.${group}` },
        spec: {
          group,
          scope: 'Cluster',
          names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
          versions: [
            {
              name: 'v1',
              served: true,
              storage: true,
              subresources: { status: {} },
              schema: {
                openAPIV3Schema: {
                  type: 'object',
                  properties: {
                    spec: { type: 'object', properties: { size: { type: 'integer' } } },
                    status: {
                      type: 'object',
                      properties: {
                        phase: { type: 'string' },
                        observed: { type: 'integer' },
                        notes: { type: 'array', items: { type: 'string' } },
                      },
                    },
                  },
                },
              },
            },
          ],
        },
      },
    });
    // Served shortly after it is Established.
    await eventually(async () => {
      await custom.listClusterCustomObject({ group, version: 'v1', plural: 'widgets' });
      return true;
    });
  });

  afterAll(async () => {
    await ext.deleteCustomResourceDefinition({ name: `widgets.${group}` });
  });

  const widget = (name: string, size: number): Widget => ({
    apiVersion,
    kind: 'Widget',
    metadata: { name },
    spec: { size },
  });

  it('applies server-side, gets, and deletes; 404 is undefined/false, other errors are KubeApiErrors', async () => {
    const applied = await objects.apply(widget('w-apply', 1), { fieldManager: 'caelus-test' });
    expect(applied.metadata?.managedFields?.map((m) => m.manager)).toContain('caelus-test');
    // Dry run: validated and returned, not stored.
    const dry = await objects.apply(widget('w-apply', 5), { fieldManager: 'caelus-test', dryRun: true });
    expect((dry as Widget).spec.size).toBe(5);
    expect((await client.get('w-apply'))?.spec.size).toBe(1);
    // Another manager changing our field conflicts unless forced.
    const conflict = await objects.apply(widget('w-apply', 2), { fieldManager: 'someone-else' }).catch((e: unknown) => e);
    expect(conflict).toBeInstanceOf(KubeApiError);
    expect((conflict as KubeApiError).statusCode).toBe(409);
    expect((conflict as KubeApiError).apiMessage).toMatch(/conflict/i);
    expect((conflict as KubeApiError).message).toMatch(/apply .*Widget w-apply failed: HTTP 409/);
    await objects.apply(widget('w-apply', 2), { fieldManager: 'someone-else', force: true });
    expect((await objects.get<Widget>({ apiVersion, kind: 'Widget', name: 'w-apply' }))?.spec.size).toBe(2);

    const invalid = await objects
      .apply({ ...widget('w-invalid', 1), spec: { size: 'big' } } as unknown as Widget, { fieldManager: 'caelus-test' })
      .catch((e: unknown) => e);
    expect(invalid).toBeInstanceOf(KubeApiError);
    // Server-side apply reports a schema type mismatch while building the typed patch
    // (HTTP 500 on 1.35, not 422): what matters is the server's message reaching the caller.
    expect((invalid as KubeApiError).statusCode).toBeGreaterThanOrEqual(400);
    expect((invalid as KubeApiError).apiMessage).toMatch(/spec\.size/);

    expect(await objects.delete({ apiVersion, kind: 'Widget', name: 'w-apply' })).toBe(true);
    expect(await objects.delete({ apiVersion, kind: 'Widget', name: 'w-apply' })).toBe(false);
    expect(await objects.get({ apiVersion, kind: 'Widget', name: 'w-apply' })).toBeUndefined();
    expect(await objects.get({ apiVersion: 'v1', kind: 'ConfigMap', name: 'nope', namespace: 'default' })).toBeUndefined();
  });

  it('gets and lists typed objects', async () => {
    await objects.apply(widget('w-list', 3), { fieldManager: 'caelus-test' });
    expect(await client.get('missing')).toBeUndefined();
    const got = await client.get('w-list');
    expect(got?.spec.size).toBe(3);
    const all = await client.list();
    expect(all.map((w) => w.metadata?.name)).toContain('w-list');
    expect(all.every((w) => w.kind === 'Widget' && w.apiVersion === apiVersion)).toBe(true);
  });

  it('sets the whole status through the subresource without a resourceVersion', async () => {
    await objects.apply(widget('w-status', 1), { fieldManager: 'caelus-test' });
    const first = await client.writeStatus('w-status', { phase: 'Pending', observed: 1, notes: ['a'] });
    expect(first?.status).toEqual({ phase: 'Pending', observed: 1, notes: ['a'] });
    // The status subresource ignores spec changes and vice versa.
    expect(first?.spec.size).toBe(1);
    await objects.apply(widget('w-status', 2), { fieldManager: 'caelus-test' });

    // Written whole: a key left out is gone, and a spec change since is no conflict.
    const second = await client.writeStatus('w-status', { phase: 'Running' });
    expect(second?.status).toEqual({ phase: 'Running' });
    expect(second?.spec.size).toBe(2);
    expect((await client.get('w-status'))?.status).toEqual({ phase: 'Running' });
    expect(await client.writeStatus('w-missing', { phase: 'Running' })).toBeUndefined();

    // A status meant for an object of the same name that was deleted and made again does not land.
    const uid = second?.metadata?.uid;
    expect(await client.writeStatus('w-status', { phase: 'Stale' }, 'uid-of-an-older-object')).toBeUndefined();
    expect((await client.writeStatus('w-status', { phase: 'Current' }, uid))?.status).toEqual({ phase: 'Current' });
    expect((await client.get('w-status'))?.status).toEqual({ phase: 'Current' });
    // A status the schema refuses is an error, not mistaken for a replaced object.
    const refused = await client.writeStatus('w-status', { phase: 5 as unknown as string }, uid).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(KubeApiError);
    expect((refused as KubeApiError).statusCode).toBe(422);
  });

  it('tries a known copy first, re-reads after a 409, and gives up after maxAttempts', async () => {
    await objects.apply(widget('w-conflict', 1), { fieldManager: 'caelus-test' });
    const known = (await client.get('w-conflict'))!;
    // Another writer gets in after our copy was taken: the known copy's resourceVersion is stale.
    await objects.apply({ ...widget('w-conflict', 1), metadata: { name: 'w-conflict', finalizers: ['other.io/keep'] } }, { fieldManager: 'caelus-test' });

    const once = new InstanceClient<Spec, Status>(kc, { logger, resource: type, maxAttempts: 1 });
    const err = await once.addFinalizer('w-conflict', 'caelus.io/finalizer', known).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictRetriesExhaustedError);
    expect((err as ConflictRetriesExhaustedError).attempts).toBe(1);
    expect(((err as Error).cause as KubeApiError).statusCode).toBe(409);
    expect((await client.get('w-conflict'))?.metadata?.finalizers).toEqual(['other.io/keep']);

    // With a second attempt the fresh copy wins, and the other writer's finalizer stays.
    const ok = await client.addFinalizer('w-conflict', 'caelus.io/finalizer', known);
    expect(ok?.metadata?.finalizers).toEqual(['other.io/keep', 'caelus.io/finalizer']);
    await client.removeFinalizer('w-conflict', 'caelus.io/finalizer');
    await client.removeFinalizer('w-conflict', 'other.io/keep');
  });

  it('adds and removes finalizers idempotently without dropping others', async () => {
    await objects.apply({ ...widget('w-fin', 1), metadata: { name: 'w-fin', finalizers: ['other.io/keep'] } }, {
      fieldManager: 'caelus-test',
    });
    const added = await client.addFinalizer('w-fin', 'caelus.io/finalizer');
    expect(added?.metadata?.finalizers).toEqual(['other.io/keep', 'caelus.io/finalizer']);
    const again = await client.addFinalizer('w-fin', 'caelus.io/finalizer');
    expect(again?.metadata?.resourceVersion).toBe(added?.metadata?.resourceVersion);

    // Deleting: the object stays (finalizers) with a deletionTimestamp until both are removed.
    await objects.delete({ apiVersion, kind: 'Widget', name: 'w-fin' });
    const deleting = await client.get('w-fin');
    expect(deleting?.metadata?.deletionTimestamp).toBeDefined();
    const removed = await client.removeFinalizer('w-fin', 'caelus.io/finalizer');
    expect(removed?.metadata?.finalizers).toEqual(['other.io/keep']);
    expect(await client.removeFinalizer('w-fin', 'caelus.io/finalizer')).toBeDefined();
    // Removing the last finalizer lets the object go; the result is then undefined or the final state.
    await client.removeFinalizer('w-fin', 'other.io/keep');
    await eventually(async () => ((await client.get('w-fin')) === undefined ? true : undefined));
    expect(await client.addFinalizer('w-fin', 'caelus.io/finalizer')).toBeUndefined();
    expect(await client.writeStatus('w-fin', {})).toBeUndefined();
  });

  it('an informer on the cluster-scoped kind sees its changes', async () => {
    const informer = new Informer<Widget>(kc, {
      logger,
      resource: { apiVersion, kind: 'Widget', plural: 'widgets' },
    });
    const events: Array<[InformerEventType, string]> = [];
    informer.onChange((o, t) => events.push([t, o.metadata!.name!]));
    try {
      await informer.start();
      await objects.apply(widget('w-watch', 1), { fieldManager: 'caelus-test' });
      await eventually(async () => (informer.get('w-watch') ? true : undefined));
      await client.writeStatus('w-watch', { phase: 'Running' });
      await eventually(async () => (informer.get('w-watch')?.status?.phase === 'Running' ? true : undefined));
      await objects.delete({ apiVersion, kind: 'Widget', name: 'w-watch' });
      await eventually(async () => (events.some(([t, n]) => t === 'delete' && n === 'w-watch') ? true : undefined));
      expect(events.filter(([, n]) => n === 'w-watch').map(([t]) => t)).toEqual(['add', 'update', 'delete']);
    } finally {
      await informer.stop();
    }
  });
});
