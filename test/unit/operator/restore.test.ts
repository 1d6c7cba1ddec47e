// Which watched changes make Caelus re-apply its own objects in an instance
// namespace, and how the tenant and guardrails steps take that mark: pure
// decisions on in-memory ports (the integration test guardrails-restore
// deletes the real objects).
import { guardrailsConfig } from '../../../src/config/guardrails.ts';
import { ConditionType, INSTANCE_LABEL, MANAGED_BY, MANAGED_BY_LABEL, Reason, type CaelusInstance } from '../../../src/domain/instance.ts';
import type { WatchedChange } from '../../../src/drift/watches.ts';
import type { GuardrailObjects } from '../../../src/operator/ports.ts';
import { describeChange, ownedPartChanged, RestoreRequests } from '../../../src/operator/restore.ts';
import { guardrailsStep } from '../../../src/operator/steps/guardrails.ts';
import { tenantStep } from '../../../src/operator/steps/tenant.ts';
import { FakeEvents, fakeContext, fakeInstance } from '../../support/fakes.ts';

const owned = { [INSTANCE_LABEL]: 'web', [MANAGED_BY_LABEL]: MANAGED_BY };
const change = (over: Partial<WatchedChange>): Omit<WatchedChange, 'instance'> => ({
  type: 'delete',
  kind: 'NetworkPolicy',
  name: 'caelus-default-deny',
  namespace: 'web',
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

  it('ignores adds: the initial list, a relist and our own creates (a restore does not trigger another)', () => {
    expect(ownedPartChanged(change({ type: 'add' }), 'web')).toBeUndefined();
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

describe('RestoreRequests', () => {
  it('hands each part its mark once, with what changed, and forgets an instance', () => {
    const r = new RestoreRequests();
    r.request('web', 'guardrails', 'NetworkPolicy/caelus-default-deny deleted');
    r.request('web', 'guardrails', 'NetworkPolicy/caelus-default-deny deleted');
    r.request('web', 'guardrails', 'LimitRange/caelus-limits changed');
    expect(r.take('web', 'tenant')).toBeUndefined();
    expect(r.take('web', 'guardrails')).toEqual(['NetworkPolicy/caelus-default-deny deleted', 'LimitRange/caelus-limits changed']);
    expect(r.take('web', 'guardrails')).toBeUndefined();
    expect(r.size).toBe(0);
    // The periodic check marks both parts without knowing what changed.
    r.request('web');
    expect(r.take('web', 'tenant')).toEqual([]);
    r.giveBack('web', 'tenant', ['RoleBinding/caelus-tenant deleted']);
    expect(r.take('web', 'tenant')).toEqual(['RoleBinding/caelus-tenant deleted']);
    r.forget('web');
    expect(r.take('web', 'guardrails')).toBeUndefined();
    expect(r.size).toBe(0);
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
    restore.request('web', 'tenant', 'RoleBinding/caelus-tenant-reader deleted');
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
    restore.request('web', 'tenant', 'ServiceAccount/caelus-tenant deleted');
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

    restore.request('web', 'guardrails', 'NetworkPolicy/caelus-default-deny deleted');
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
  });
});
