// Which watched changes make Caelus re-apply its own objects in an instance
// namespace, and how the tenant and guardrails steps take that mark: pure
// decisions on in-memory ports (the integration test guardrails-restore
// deletes the real objects).
import { guardrailsConfig } from '../../../src/config/guardrails.ts';
import { ConditionType, INSTANCE_LABEL, MANAGED_BY, MANAGED_BY_LABEL, Reason, type CaelusInstance } from '../../../src/domain/instance.ts';
import type { WatchedChange } from '../../../src/drift/watches.ts';
import type { GuardrailObjects } from '../../../src/operator/ports.ts';
import { describeChange, ownedPartChanged, OwnWrites, RestoreRequests, unwatchedKinds } from '../../../src/operator/restore.ts';
import { DEFAULT_WATCHED } from '../../../src/drift/watches.ts';
import { guardrailsStep } from '../../../src/operator/steps/guardrails.ts';
import { tenantStep } from '../../../src/operator/steps/tenant.ts';
import { FakeEvents, fakeContext, fakeInstance } from '../../support/fakes.ts';

const owned = { [INSTANCE_LABEL]: 'web', [MANAGED_BY_LABEL]: MANAGED_BY };
const change = (over: Partial<WatchedChange>): Omit<WatchedChange, 'instance'> => ({
  type: 'delete',
  kind: 'NetworkPolicy',
  name: 'caelus-default-deny',
  namespace: 'web',
  resourceVersion: '7',
  labels: owned,
  ...over,
});

describe('ownedPartChanged', () => {
  it.each([
    ['NetworkPolicy', 'caelus-default-deny', 'guardrails'],
    ['NetworkPolicy', 'caelus-allow-dns', 'guardrails'],
    ['NetworkPolicy', 'caelus-template-egress', 'guardrails'],
    ['LimitRange', 'caelus-limits', 'guardrails'],
    ['ResourceQuota', 'caelus-quota', 'guardrails'],
    ['RoleBinding', 'caelus-tenant-reader', 'tenant'],
    ['RoleBinding', 'caelus-tenant', 'tenant'],
    ['ServiceAccount', 'caelus-tenant', 'tenant'],
  ])('a deleted or edited %s/%s is re-applied by the %s step', (kind, name, part) => {
    expect(ownedPartChanged(change({ kind, name }), 'web')).toBe(part);
    expect(ownedPartChanged(change({ kind, name, type: 'update' }), 'web')).toBe(part);
  });

  it.each([
    ['a chart object of another name', change({ name: 'app-policy' })],
    ['our name in another kind', change({ kind: 'ConfigMap' })],
    ['our name without the managed-by label (a release object)', change({ labels: { [INSTANCE_LABEL]: 'web' } })],
    ['our name and labels in another namespace (forged to reach another instance)', change({ namespace: 'other' })],
  ])('ignores %s', (_what, c) => {
    expect(ownedPartChanged(c, 'web')).toBeUndefined();
  });

  it('says what happened', () => {
    expect(describeChange(change({}))).toBe('NetworkPolicy/caelus-default-deny deleted');
    expect(describeChange(change({ type: 'update', kind: 'RoleBinding', name: 'caelus-tenant-reader' }))).toBe('RoleBinding/caelus-tenant-reader changed');
  });
});

describe('unwatchedKinds', () => {
  it('leaves the periodic check the quota and the secrets Secret with the default watches, more when an admin watches less', () => {
    const all = new Set(DEFAULT_WATCHED.map((r) => r.kind));
    expect(unwatchedKinds(all)).toEqual(new Map([
      ['tenant', new Set()],
      ['guardrails', new Set(['ResourceQuota', 'Secret'])],
    ]));
    const fewer = new Set([...all].filter((k) => k !== 'RoleBinding' && k !== 'NetworkPolicy'));
    expect(unwatchedKinds(fewer)).toEqual(new Map([
      ['tenant', new Set(['RoleBinding'])],
      ['guardrails', new Set(['ResourceQuota', 'NetworkPolicy', 'Secret'])],
    ]));
  });
});

describe('RestoreRequests', () => {
  it('hands each part its mark once, with what changed, and forgets an instance', () => {
    const r = new RestoreRequests();
    r.changed('web', 'guardrails', change({}));
    r.changed('web', 'guardrails', change({}));
    r.changed('web', 'guardrails', change({ type: 'update', kind: 'LimitRange', name: 'caelus-limits' }));
    expect(r.take('web', 'tenant')).toBeUndefined();
    expect(r.take('web', 'guardrails')).toEqual({ whats: ['NetworkPolicy/caelus-default-deny deleted', 'LimitRange/caelus-limits changed'] });
    expect(r.take('web', 'guardrails')).toBeUndefined();
    expect(r.size).toBe(0);
    // The periodic check: only the kinds no watch follows, nothing known to have changed.
    r.kinds('web', 'guardrails', new Set(['ResourceQuota', 'Secret']));
    r.kinds('web', 'tenant', new Set());
    expect(r.take('web', 'tenant')).toBeUndefined();
    expect(r.take('web', 'guardrails')).toEqual({ whats: [], kinds: new Set(['ResourceQuota', 'Secret']) });
    // A watched change on top of it: everything.
    r.kinds('web', 'guardrails', new Set(['ResourceQuota']));
    r.changed('web', 'guardrails', change({}));
    expect(r.take('web', 'guardrails')).toEqual({ whats: ['NetworkPolicy/caelus-default-deny deleted'] });
    // Given back after a failure: the same again.
    r.giveBack('web', 'tenant', { whats: ['RoleBinding/caelus-tenant deleted'] });
    expect(r.take('web', 'tenant')).toEqual({ whats: ['RoleBinding/caelus-tenant deleted'] });
    r.giveBack('web', 'guardrails', { whats: [], kinds: new Set(['Secret']) });
    expect(r.take('web', 'guardrails')).toEqual({ whats: [], kinds: new Set(['Secret']) });
    r.changed('web', 'tenant', change({ kind: 'RoleBinding', name: 'caelus-tenant' }));
    r.forget('web');
    expect(r.take('web', 'tenant')).toBeUndefined();
    expect(r.size).toBe(0);
  });

  it('judges changes when taken: the events of our own writes (often in before the write\'s answer) mark nothing', () => {
    const own = new OwnWrites();
    const r = new RestoreRequests((c) => own.isOwn(c));
    const ours = change({ type: 'update', name: 'caelus-template-rules', resourceVersion: '41' });
    // The watch event arrives first ...
    r.changed('web', 'guardrails', ours);
    // ... then the apply's answer.
    own.wrote({ kind: 'NetworkPolicy', namespace: 'web', name: 'caelus-template-rules' }, '41');
    expect(r.take('web', 'guardrails')).toBeUndefined();
    // Someone else's edit right after ours counts.
    r.changed('web', 'guardrails', change({ type: 'update', name: 'caelus-template-rules', resourceVersion: '42' }));
    expect(r.take('web', 'guardrails')).toEqual({ whats: ['NetworkPolicy/caelus-template-rules changed'] });
  });
});

describe('OwnWrites', () => {
  const policy = { kind: 'NetworkPolicy', namespace: 'web', name: 'caelus-template-rules' };

  it('recognises the watch event of our own write once, and nobody else\'s', () => {
    const w = new OwnWrites();
    w.wrote(policy, '41');
    // Someone else's edit after ours: another resourceVersion.
    expect(w.isOwn(change({ ...policy, type: 'update', resourceVersion: '42' }))).toBe(false);
    expect(w.isOwn(change({ ...policy, type: 'update', resourceVersion: '41' }))).toBe(true);
    expect(w.isOwn(change({ ...policy, type: 'update', resourceVersion: '41' }))).toBe(false);
    // A delete counts as ours only if we deleted it.
    expect(w.isOwn(change({ ...policy, type: 'delete' }))).toBe(false);
    w.deleted(policy);
    expect(w.isOwn(change({ ...policy, type: 'delete' }))).toBe(true);
    // Same name in another namespace is another object.
    w.wrote(policy, '50');
    expect(w.isOwn(change({ ...policy, namespace: 'other', type: 'update', resourceVersion: '50' }))).toBe(false);
    w.forgetNamespace('web');
    expect(w.isOwn(change({ ...policy, type: 'update', resourceVersion: '50' }))).toBe(false);
    expect(w.size).toBe(0);
  });
});

const ready = (i: CaelusInstance): CaelusInstance => ({
  ...i,
  metadata: { ...i.metadata, uid: 'u1' },
  status: { ...i.status, conditions: [{ type: ConditionType.Ready, status: 'True', reason: Reason.InSync, message: '', lastTransitionTime: '2030-01-01T00:00:00Z' }] },
});

describe('the tenant step takes its mark', () => {
  it('re-applies a Ready instance it already applied when marked, once, with an Event naming the object', async () => {
    const applied: string[] = [];
    const restore = new RestoreRequests();
    const events = new FakeEvents();
    const step = tenantStep({ tenants: { ensure: async (ns) => void applied.push(ns) }, restore, events });
    await step.run(fakeContext(ready(fakeInstance('web'))));
    await step.run(fakeContext(ready(fakeInstance('web'))));
    expect(applied).toHaveLength(1);
    restore.changed('web', 'tenant', change({ kind: 'RoleBinding', name: 'caelus-tenant-reader' }));
    await step.run(fakeContext(ready(fakeInstance('web'))));
    await step.run(fakeContext(ready(fakeInstance('web'))));
    expect(applied).toHaveLength(2);
    expect(events.events).toEqual([expect.objectContaining({ reason: 'GuardrailsRestored', type: 'Normal', message: expect.stringContaining('RoleBinding/caelus-tenant-reader deleted') })]);
  });

  it('keeps the mark when the re-apply fails, so the retry re-applies', async () => {
    const restore = new RestoreRequests();
    let fail = true;
    const applied: string[] = [];
    const step = tenantStep({
      tenants: {
        ensure: async (ns) => {
          if (fail) throw new Error('connection reset');
          applied.push(ns);
        },
      },
      restore,
    });
    restore.changed('web', 'tenant', change({ kind: 'ServiceAccount', name: 'caelus-tenant' }));
    await expect(step.run(fakeContext(ready(fakeInstance('web'))))).rejects.toThrow('connection reset');
    fail = false;
    await step.run(fakeContext(ready(fakeInstance('web'))));
    expect(applied).toEqual(['web']);
    expect(restore.size).toBe(0);
  });
});

describe('the guardrails step takes its mark', () => {
  it('re-applies every guardrail although the digest is unchanged, only when marked', async () => {
    const applied: string[] = [];
    let fail = false;
    const objects: GuardrailObjects = {
      apply: async (obj) => {
        if (fail) throw new Error('etcd timeout');
        applied.push(`${String(obj['kind'])}/${String((obj['metadata'] as { name: string }).name)}`);
      },
      delete: async () => true,
    };
    const restore = new RestoreRequests();
    const events = new FakeEvents();
    const step = guardrailsStep({ config: guardrailsConfig({}), objects, events, restore });
    const first = fakeContext(fakeInstance('web'));
    await step.run(first);
    const count = applied.length;
    const steady = () => fakeContext(fakeInstance('web', {}, { ...first.status.snapshot(), namespace: 'web' }));
    await step.run(steady());
    expect(applied).toHaveLength(count);

    restore.changed('web', 'guardrails', change({}));
    fail = true;
    await expect(step.run(steady())).rejects.toThrow('etcd timeout');
    fail = false;
    await step.run(steady());
    expect(applied.slice(count)).toEqual(applied.slice(0, count));
    expect(applied.slice(count)).toContain('NetworkPolicy/caelus-default-deny');
    await step.run(steady());
    expect(applied).toHaveLength(2 * count);
    expect(events.events.filter((e) => e.reason === 'GuardrailsRestored')).toEqual([
      expect.objectContaining({ type: 'Normal', message: expect.stringContaining('NetworkPolicy/caelus-default-deny deleted') }),
    ]);

    // The periodic check re-applies only what no watch follows, and records no Event.
    restore.kinds('web', 'guardrails', new Set(['ResourceQuota', 'Secret']));
    await step.run(steady());
    expect(applied.slice(2 * count)).toEqual(['ResourceQuota/caelus-quota']);
    expect(events.events.filter((e) => e.reason === 'GuardrailsRestored')).toHaveLength(1);
  });
});
