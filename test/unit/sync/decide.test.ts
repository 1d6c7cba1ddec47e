import { bindingMismatch } from '../../../src/db/repositories/instance-sync.ts';
import { SyncAction, decide, type CrView, type RowView } from '../../../src/sync/decide.ts';
import {
  annotatedSpecVersion,
  crSpecFor,
  labelsFromSelector,
  lastSpecManager,
  specFromCr,
  specFromRow,
  storedSyncedSpec,
  userIdLabelValue,
  type SyncedSpec,
} from '../../../src/sync/spec.ts';

const V1 = '11111111-1111-4111-8111-111111111111';
const base: SyncedSpec = {
  userId: 'alice',
  productTemplateVersion: V1,
  namespace: 'web',
  domainName: null,
  values: { a: 1 },
  state: 'Running',
  expiresAt: null,
  deletionPolicy: 'Delete',
};
// What 0013-era rows hold in synced_spec: no deletionPolicy key.
const { deletionPolicy: _dropped, ...legacySynced } = base;
const edited: SyncedSpec = { ...base, values: { a: 2 } };
const apiEdit: SyncedSpec = { ...base, values: { a: 3 } };
const t0 = new Date('2026-01-01T00:00:00Z');
const t1 = new Date('2026-01-02T00:00:00Z');

const row = (o: Partial<RowView> = {}): RowView => ({ id: 'r1', source: 'api', specVersion: 2, spec: base, syncedSpec: base, deletedAt: null, crUid: 'uid-1', ...o });
const cr = (o: Partial<CrView> = {}): CrView => ({ spec: base, instanceId: 'r1', uid: 'uid-1', specVersion: 2, deleting: false, createdAt: t0, ...o });

describe('sync decision table', () => {
  it.each<[string, RowView | undefined, CrView | undefined, SyncAction]>([
    ['nothing on either side', undefined, undefined, SyncAction.Nothing],
    ['new API row, no CR yet', row({ syncedSpec: null, specVersion: 1 }), undefined, SyncAction.Apply],
    ['API row once pushed, CR gone (kubectl delete)', row(), undefined, SyncAction.MarkRowDeleted],
    ['adopted row, CR gone', row({ source: 'cluster' }), undefined, SyncAction.MarkRowDeleted],
    ['deleted row, CR gone', row({ deletedAt: t1 }), undefined, SyncAction.Nothing],
    ['live row, CR being deleted by someone', row(), cr({ deleting: true }), SyncAction.MarkRowDeleted],
    ['deleted row, CR being deleted', row({ deletedAt: t1 }), cr({ deleting: true }), SyncAction.Nothing],
    ['deleted row, CR still there', row({ deletedAt: t1 }), cr(), SyncAction.DeleteCR],
    ['deleted adopted row, unannotated CR older than the deletion', row({ source: 'cluster', deletedAt: t1 }), cr({ instanceId: undefined, specVersion: undefined }), SyncAction.DeleteCR],
    ['deleted row, GitOps re-created the CR afterwards', row({ source: 'cluster', deletedAt: t0 }), cr({ instanceId: undefined, specVersion: undefined, createdAt: t1 }), SyncAction.Adopt],
    ['CR without a row (GitOps)', undefined, cr({ instanceId: undefined, specVersion: undefined }), SyncAction.Adopt],
    ['annotated CR whose row was purged', undefined, cr(), SyncAction.Nothing],
    ['in sync', row(), cr(), SyncAction.Nothing],
    ['row changed (API update)', row({ specVersion: 3, spec: apiEdit }), cr(), SyncAction.Apply],
    ['CR edited (kubectl edit)', row(), cr({ spec: edited }), SyncAction.Import],
    ['both changed differently: DB wins', row({ specVersion: 3, spec: apiEdit }), cr({ spec: edited }), SyncAction.Conflict],
    ['both changed to the same spec', row({ specVersion: 3, spec: edited }), cr({ spec: edited }), SyncAction.Apply],
    ['CR edit of deletionPolicy (kubectl edit): imported', row(), cr({ spec: { ...base, deletionPolicy: 'Retain' } }), SyncAction.Import],
    ['API sets Retain: pushed', row({ specVersion: 3, spec: { ...base, deletionPolicy: 'Retain' } }), cr(), SyncAction.Apply],
    ['synced_spec stored before deletionPolicy was mapped: no phantom edit', row({ syncedSpec: storedSyncedSpec(legacySynced) }), cr(), SyncAction.Nothing],
    ['CR edit of userId only: revert', row(), cr({ spec: { ...base, userId: 'mallory' } }), SyncAction.Apply],
    ['unannotated CR at an API row: take over', row({ syncedSpec: null }), cr({ instanceId: undefined, specVersion: undefined, spec: edited }), SyncAction.Apply],
    ['no synced_spec, CR at the row version but edited', row({ syncedSpec: null }), cr({ spec: edited }), SyncAction.Import],
    ['CR in sync but row differs at the same version (repair)', row({ spec: apiEdit }), cr(), SyncAction.Apply],
    ['adopted row, CR unchanged', row({ source: 'cluster', syncedSpec: null }), cr({ instanceId: undefined, specVersion: undefined }), SyncAction.Nothing],
    ['adopted row, CR changed in git', row({ source: 'cluster' }), cr({ instanceId: undefined, spec: edited }), SyncAction.Import],
    ['adopted row, row changed: never pushed', row({ source: 'cluster', specVersion: 5, spec: apiEdit }), cr({ instanceId: undefined, specVersion: undefined, spec: apiEdit }), SyncAction.Nothing],
    // Binding by identity (issue 14.5): the annotation alone never links a CR to a row.
    ['CR in another namespace claims the row (edited values)', row(), cr({ uid: 'uid-x', spec: { ...edited, namespace: 'evil', userId: 'mallory' } }), SyncAction.Refuse],
    ['CR in another namespace claims the row, spec-version forged to the row’s', row(), cr({ uid: 'uid-x', specVersion: 2, spec: { ...edited, namespace: 'evil' } }), SyncAction.Refuse],
    ['CR claims a row not yet bound, from another namespace', row({ crUid: null }), cr({ uid: 'uid-x', spec: { ...edited, namespace: 'evil' } }), SyncAction.Refuse],
    ['CR claims a row not yet bound, with another owner', row({ crUid: null }), cr({ uid: 'uid-x', spec: { ...edited, userId: 'mallory' } }), SyncAction.Refuse],
    ['a second CR in the row’s namespace, same owner (row bound to another uid)', row(), cr({ uid: 'uid-x', spec: edited }), SyncAction.Refuse],
    ['a foreign CR claiming the row is deleted: the row stays', row(), cr({ uid: 'uid-x', deleting: true, spec: { ...base, namespace: 'evil' } }), SyncAction.Refuse],
    ['a foreign CR claiming an adopted row', row({ source: 'cluster' }), cr({ uid: 'uid-x', instanceId: 'r1', spec: { ...edited, namespace: 'evil' } }), SyncAction.Refuse],
    ['row not yet bound, its own CR (same namespace and owner): in sync', row({ crUid: null }), cr({ uid: 'uid-x' }), SyncAction.Nothing],
    ['the adopted row’s own CR gets another owner in git: refused, not imported', row({ source: 'cluster' }), cr({ instanceId: undefined, spec: { ...edited, userId: 'mallory' } }), SyncAction.Refuse],
  ])('%s', (_name, r, c, action) => {
    expect(decide(r, c).action).toBe(action);
  });
});

describe('bindingMismatch', () => {
  const r = { id: 'r1', namespace: 'web', userId: 'alice', crUid: 'uid-1' };
  it('binds the recorded CR with the row’s namespace and owner', () => {
    expect(bindingMismatch(r, { uid: 'uid-1', namespace: 'web', userId: 'alice' })).toBeUndefined();
    expect(bindingMismatch({ ...r, crUid: null }, { uid: 'uid-9', namespace: 'web', userId: 'alice' })).toBeUndefined();
  });
  it.each([
    ['another CR object', { uid: 'uid-9', namespace: 'web', userId: 'alice' }, /^instance r1 is bound to the CaelusInstance with uid uid-1, not to this one \(uid uid-9\)$/],
    ['another namespace', { uid: 'uid-1', namespace: 'evil', userId: 'alice' }, /^instance r1 owns namespace "web", but this CaelusInstance's namespace is "evil"$/],
    ['another owner', { uid: 'uid-1', namespace: 'web', userId: 'mallory' }, /^instance r1 belongs to user "alice", but this CaelusInstance's spec.userId is "mallory"$/],
    ['all three', { uid: 'uid-9', namespace: 'evil', userId: 'mallory' }, /^instance r1 is bound to .*; owns namespace .*; belongs to user .*$/],
  ])('names the reason: %s', (_name, identity, reason) => {
    expect(bindingMismatch(r, identity)).toMatch(reason);
  });
});

describe('spec mapping', () => {
  it('maps a row and a CR saying the same thing to equal specs', () => {
    const fromRow = specFromRow({
      userId: 'alice',
      productTemplateVersionId: V1,
      namespace: 'web',
      domainName: 'a.example.com',
      values: { list: [1, { b: 'x' }], nested: { deep: { k: true } } },
      state: 'Running',
      expiresAt: new Date('2030-01-01T00:00:00Z'),
      deletionPolicy: 'Retain',
    });
    const fromCr = specFromCr(
      { metadata: { name: 'web' }, spec: { ...crSpecFor(fromRow), productTemplateVersion: 'webapp@1.0.0', expiresAt: '2030-01-01T00:00:00.000Z' } },
      V1,
    );
    expect(fromCr).toEqual(fromRow);
  });

  it('fills CR defaults (state, namespace = name, no values, deletionPolicy Delete)', () => {
    expect(specFromCr({ metadata: { name: 'x' }, spec: { userId: 'u', productTemplateVersion: V1.toUpperCase() } })).toEqual({
      userId: 'u',
      productTemplateVersion: V1,
      namespace: 'x',
      domainName: null,
      values: {},
      state: 'Running',
      expiresAt: null,
      deletionPolicy: 'Delete',
    });
  });

  it('pushes deletionPolicy always (the row is canonical even for the default)', () => {
    expect(crSpecFor({ ...base, deletionPolicy: 'Retain' }).deletionPolicy).toBe('Retain');
    expect(crSpecFor(base).deletionPolicy).toBe('Delete');
    expect(storedSyncedSpec(null)).toBeNull();
    expect(storedSyncedSpec({ ...base, deletionPolicy: 'Retain' })?.deletionPolicy).toBe('Retain');
  });

  it('omits null fields from the applied spec so server-side apply removes them', () => {
    expect(crSpecFor(base)).not.toHaveProperty('domainName');
    expect(crSpecFor(base)).not.toHaveProperty('expiresAt');
  });

  it('labels the user only with label-safe values', () => {
    expect(userIdLabelValue('alice')).toBe('alice');
    expect(userIdLabelValue('alice@example.com')).toMatch(/^sha256-[0-9a-f]{40}$/);
    expect(userIdLabelValue('x'.repeat(64))).toMatch(/^sha256-/);
  });

  it('reads the spec-version annotation strictly', () => {
    const m = (v?: string) => ({ metadata: { name: 'a', ...(v === undefined ? {} : { annotations: { 'caelus.io/spec-version': v } }) } });
    expect(annotatedSpecVersion(m('7'))).toBe(7);
    expect(annotatedSpecVersion(m())).toBeUndefined();
    expect(annotatedSpecVersion(m('07'))).toBeUndefined();
    expect(annotatedSpecVersion(m('x'))).toBeUndefined();
  });

  it('names the last field manager that wrote spec, ignoring the sync and status writers', () => {
    const mf = [
      { manager: 'caelus-sync', operation: 'Apply', time: '2026-01-01T00:00:03Z', fieldsV1: { 'f:spec': {} } },
      { manager: 'kubectl-edit', operation: 'Update', time: '2026-01-01T00:00:02Z', fieldsV1: { 'f:spec': {} } },
      { manager: 'kubectl-patch', operation: 'Update', time: '2026-01-01T00:00:01Z', fieldsV1: { 'f:spec': {} } },
      { manager: 'caelus-operator', operation: 'Update', time: '2026-01-01T00:00:04Z', fieldsV1: { 'f:status': {} } },
    ];
    expect(lastSpecManager(mf)).toBe('kubectl-edit');
    expect(lastSpecManager(mf.slice(0, 1))).toBeUndefined();
  });

  it('derives labels from equality selectors only', () => {
    expect(labelsFromSelector('caelus.io/test-shard=abc')).toEqual({ 'caelus.io/test-shard': 'abc' });
    expect(labelsFromSelector('a=b, c==d')).toEqual({ a: 'b', c: 'd' });
    expect(labelsFromSelector(undefined)).toEqual({});
    expect(labelsFromSelector('a in (b)')).toBeUndefined();
    expect(labelsFromSelector('a!=b')).toBeUndefined();
  });
});
