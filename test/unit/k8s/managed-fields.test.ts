// Which writers besides Caelus still own an object's content after its forced
// apply: the trigger for replacing a guardrail object whole.
import { otherContentWriters } from '../../../src/k8s/managed-fields.ts';

const entry = (manager: string, fields: Record<string, unknown>, extra: Record<string, string> = {}) => ({ manager, operation: 'Update', fieldsV1: fields, ...extra });

describe('otherContentWriters', () => {
  it('names a writer that added spec content the apply does not set', () => {
    const live = {
      metadata: {
        managedFields: [
          entry('caelus-guardrails', { 'f:spec': { 'f:podSelector': {} } }, { operation: 'Apply' }),
          entry('kubectl-edit', { 'f:spec': { 'f:ingress': {} } }),
        ],
      },
    };
    expect(otherContentWriters(live, 'caelus-guardrails')).toEqual(['kubectl-edit']);
  });

  it('names a writer of Secret data', () => {
    expect(otherContentWriters({ metadata: { managedFields: [entry('kubectl', { 'f:data': { 'f:extra': {} } })] } }, 'caelus-guardrails')).toEqual(['kubectl']);
  });

  it('ignores our own entries, metadata-only writers and status writers (the quota controller)', () => {
    const live = {
      metadata: {
        managedFields: [
          entry('caelus-guardrails', { 'f:spec': {} }, { operation: 'Apply' }),
          entry('caelus-guardrails', { 'f:spec': {} }),
          entry('kubectl-label', { 'f:metadata': { 'f:labels': { 'f:team': {} } } }),
          entry('kube-controller-manager', { 'f:status': { 'f:used': {} } }, { subresource: 'status' }),
        ],
      },
    };
    expect(otherContentWriters(live, 'caelus-guardrails')).toEqual([]);
    expect(otherContentWriters({}, 'caelus-guardrails')).toEqual([]);
  });
});
