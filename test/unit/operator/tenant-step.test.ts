// The tenant step's choice of when to (re)apply the tenant identity, and how
// refusals from helm become ForbiddenResource: pure decisions on in-memory ports.
import { ConditionType, Reason, type CaelusInstance } from '../../../src/domain/instance.ts';
import { HelmError, HelmErrorReason } from '../../../src/helm/index.ts';
import { helmFailure } from '../../../src/operator/release/helm-failure.ts';
import { tenantStep } from '../../../src/operator/steps/tenant.ts';
import { fakeContext, fakeInstance } from '../../support/fakes.ts';

const instance = (ready: boolean): CaelusInstance =>
  fakeInstance('web', {}, { conditions: [{ type: ConditionType.Ready, status: ready ? 'True' : 'False', reason: Reason.InSync, message: '', lastTransitionTime: '2030-01-01T00:00:00Z' }] });
const context = (i: CaelusInstance, uid: string) => fakeContext({ ...i, metadata: { ...i.metadata, uid } });

describe('tenant step', () => {
  it('applies once per namespace and instance, and again whenever the last reconcile did not end Ready', async () => {
    const applied: string[] = [];
    const step = tenantStep({ tenants: { ensure: async (ns) => void applied.push(ns) } });
    await step.run(context(instance(true), 'a'));
    await step.run(context(instance(true), 'a'));
    expect(applied).toEqual(['web']);
    // e.g. a deleted RoleBinding made helm fail Forbidden: put the identity back on the retry.
    await step.run(context(instance(false), 'a'));
    expect(applied).toEqual(['web', 'web']);
    // A new instance (uid) in a namespace of the same name.
    await step.run(context(instance(true), 'b'));
    expect(applied).toEqual(['web', 'web', 'web']);
  });
});

describe('helmFailure for refusals', () => {
  it('maps the API server refusing the tenant identity to ForbiddenResource', () => {
    const err = new HelmError({
      reason: HelmErrorReason.Forbidden,
      verb: 'upgrade',
      stderrTail: 'Error: secrets "db" is forbidden: User "system:serviceaccount:web:caelus-tenant" cannot get resource "secrets"',
    });
    const failure = helmFailure(err, Reason.InstallFailed);
    expect(failure.reason).toBe('ForbiddenResource');
    expect(failure.message).toContain('caelus-tenant');
    expect(failure.requeueAfterMs).toBe(300_000);
  });

  it('names each refused Kind/name for a policy violation', () => {
    const err = new HelmError({
      reason: HelmErrorReason.PolicyViolation,
      verb: 'upgrade',
      stderrTail: '',
      violations: [{ reason: 'HelmStorage', kind: 'Secret', name: 'sh.helm.release.v1.web.v99', message: 'Secret/sh.helm.release.v1.web.v99: named like a Helm release record' }],
    });
    const failure = helmFailure(err, Reason.UpgradeFailed);
    expect(failure.reason).toBe('ForbiddenResource');
    expect(failure.message).toContain('Secret/sh.helm.release.v1.web.v99');
  });
});
