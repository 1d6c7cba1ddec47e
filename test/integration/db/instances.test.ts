// Deployment instances: spec changes, audit, status, constraints — on both dialects.
import {
  ConflictError,
  DuplicateNamespaceError,
  InvalidValuesError,
  NotFoundError,
  UnknownTemplateVersionError,
} from '../../../src/db/errors.ts';
import { listAuditEvents } from '../../../src/db/repositories/audit.ts';
import {
  createInstance,
  getInstance,
  getInstanceByNamespace,
  listInstances,
  markInstanceDeleted,
  recordInstanceStatus,
  updateInstanceSpec,
} from '../../../src/db/repositories/instances.ts';
import { testDatabases, type TestDatabase } from '../../support/database.ts';
import { ACTOR, countRows, seedVersion } from '../../support/db-fixtures.ts';

let ns = 0;
const namespace = () => `tenant-${process.pid}-${++ns}`;

describe.each(testDatabases())('instances on $name', ({ create }) => {
  let h: TestDatabase;
  let versionId: string;
  beforeAll(async () => {
    h = await create();
    versionId = (await seedVersion(h.db)).version.id;
  });
  afterAll(async () => {
    await h?.destroy();
  });

  test('create writes the row and an audit row; it starts Pending at spec_version 1', async () => {
    const i = await createInstance(h.db, { userId: 'alice', productTemplateVersionId: versionId, namespace: namespace(), values: { replicas: 2 } }, { actor: 'user:alice' });
    expect(i).toMatchObject({ userId: 'alice', status: 'Pending', state: 'Running', specVersion: 1, source: 'api', values: { replicas: 2 }, deletedAt: null });
    expect(await getInstance(h.db, i.id)).toEqual(i);
    expect(await getInstanceByNamespace(h.db, i.namespace)).toEqual(i);
    const audit = await listAuditEvents(h.db, { instanceId: i.id });
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor: 'user:alice', action: 'instance.create', instanceId: i.id });
  });

  test('every spec change bumps spec_version and is audited; status updates do neither', async () => {
    const i = await createInstance(h.db, { userId: 'bob', productTemplateVersionId: versionId, namespace: namespace() }, ACTOR);
    const a = await updateInstanceSpec(h.db, i.id, { values: { replicas: 3 } }, ACTOR);
    const b = await updateInstanceSpec(h.db, i.id, { state: 'Hibernated' }, ACTOR);
    expect([a.specVersion, b.specVersion]).toEqual([2, 3]);
    expect(b.values).toEqual({ replicas: 3 });
    const s = await recordInstanceStatus(h.db, i.id, { status: 'Running', observedSpecVersion: 3, helmRevision: 4, statusMessage: 'ready' });
    expect(s).toMatchObject({ specVersion: 3, observedSpecVersion: 3, helmRevision: 4, status: 'Running', statusMessage: 'ready' });
    expect(s.lastReconcileAt).toBeInstanceOf(Date);
    const actions = (await listAuditEvents(h.db, { instanceId: i.id })).map((e) => e.action).sort();
    expect(actions).toEqual(['instance.create', 'instance.spec', 'instance.spec']);
  });

  test('concurrent spec changes each bump spec_version once', async () => {
    const i = await createInstance(h.db, { userId: 'carol', productTemplateVersionId: versionId, namespace: namespace() }, ACTOR);
    await Promise.all([1, 2, 3, 4, 5].map((n) => updateInstanceSpec(h.db, i.id, { values: { replicas: n } }, ACTOR)));
    expect((await getInstance(h.db, i.id))?.specVersion).toBe(6);
  });

  test('a stale expectedSpecVersion → ConflictError, nothing changed', async () => {
    const i = await createInstance(h.db, { userId: 'dan', productTemplateVersionId: versionId, namespace: namespace() }, ACTOR);
    await updateInstanceSpec(h.db, i.id, { values: { replicas: 2 } }, { ...ACTOR, expectedSpecVersion: 1 });
    await expect(updateInstanceSpec(h.db, i.id, { values: { replicas: 4 } }, { ...ACTOR, expectedSpecVersion: 1 })).rejects.toBeInstanceOf(ConflictError);
    expect((await getInstance(h.db, i.id))?.values).toEqual({ replicas: 2 });
  });

  test('cluster-sourced instances refuse API spec changes but accept imports from the cluster', async () => {
    const i = await createInstance(h.db, { userId: 'gitops', productTemplateVersionId: versionId, namespace: namespace(), source: 'cluster' }, ACTOR);
    await expect(updateInstanceSpec(h.db, i.id, { values: { replicas: 2 } }, ACTOR)).rejects.toBeInstanceOf(ConflictError);
    expect((await updateInstanceSpec(h.db, i.id, { values: { replicas: 2 } }, { actor: 'manager:argocd', fromCluster: true })).specVersion).toBe(2);
  });

  test('duplicate namespace among live instances → DuplicateNamespaceError, nothing half-written', async () => {
    const n = namespace();
    await createInstance(h.db, { userId: 'erin', productTemplateVersionId: versionId, namespace: n }, ACTOR);
    const before = [await countRows(h.db, 'deployment_instance'), await countRows(h.db, 'audit_event')];
    const err = await createInstance(h.db, { userId: 'frank', productTemplateVersionId: versionId, namespace: n }, ACTOR).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DuplicateNamespaceError);
    expect((err as Error).message).toContain(n);
    expect([await countRows(h.db, 'deployment_instance'), await countRows(h.db, 'audit_event')]).toEqual(before);
  });

  test('a deleted instance frees its namespace', async () => {
    const n = namespace();
    const first = await createInstance(h.db, { userId: 'gina', productTemplateVersionId: versionId, namespace: n }, ACTOR);
    await markInstanceDeleted(h.db, first.id, ACTOR);
    expect(await getInstance(h.db, first.id)).toBeUndefined();
    expect((await getInstance(h.db, first.id, { includeDeleted: true }))?.deletedAt).toBeInstanceOf(Date);
    const second = await createInstance(h.db, { userId: 'gina', productTemplateVersionId: versionId, namespace: n }, ACTOR);
    expect((await getInstanceByNamespace(h.db, n))?.id).toBe(second.id);
    await expect(markInstanceDeleted(h.db, first.id, ACTOR)).rejects.toBeInstanceOf(NotFoundError);
  });

  test('unknown template version → UnknownTemplateVersionError, nothing half-written', async () => {
    const before = [await countRows(h.db, 'deployment_instance'), await countRows(h.db, 'audit_event')];
    await expect(
      createInstance(h.db, { userId: 'hal', productTemplateVersionId: '00000000-0000-4000-8000-000000000000', namespace: namespace() }, ACTOR),
    ).rejects.toBeInstanceOf(UnknownTemplateVersionError);
    expect([await countRows(h.db, 'deployment_instance'), await countRows(h.db, 'audit_event')]).toEqual(before);
  });

  test('overrides that break the version schema → InvalidValuesError naming each JSON path', async () => {
    const err = await createInstance(
      h.db,
      { userId: 'ivy', productTemplateVersionId: versionId, namespace: namespace(), values: { replicas: 9, image: { tag: 1, pull: 'Always' } } },
      ACTOR,
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidValuesError);
    const paths = (err as InvalidValuesError).violations.map((v) => v.path).sort();
    expect(paths).toEqual(['$.image.pull', '$.image.tag', '$.replicas']);
    expect((err as Error).message).toMatch(/\$\.replicas must be <= 5/);
  });

  test('listing filters by user and status, least recently updated first', async () => {
    const user = `lister-${process.pid}`;
    const a = await createInstance(h.db, { userId: user, productTemplateVersionId: versionId, namespace: namespace() }, ACTOR);
    const b = await createInstance(h.db, { userId: user, productTemplateVersionId: versionId, namespace: namespace() }, ACTOR);
    await recordInstanceStatus(h.db, a.id, { status: 'Failed', statusMessage: 'boom' });
    expect((await listInstances(h.db, { userId: user })).map((i) => i.id)).toEqual([b.id, a.id]);
    expect((await listInstances(h.db, { userId: user, status: 'Failed' })).map((i) => i.id)).toEqual([a.id]);
  });
});
