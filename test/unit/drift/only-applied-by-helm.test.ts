import { onlyAppliedByHelm } from '../../../src/drift/checker.ts';

const live = (...managedFields: { manager: string; operation: string; subresource?: string }[]) => ({ metadata: { managedFields } });

describe('onlyAppliedByHelm', () => {
  it.each([
    ['helm server-side apply alone', live({ manager: 'helm', operation: 'Apply' }), true],
    ['plus a controller writing status', live({ manager: 'helm', operation: 'Apply' }, { manager: 'kube-controller-manager', operation: 'Update', subresource: 'status' }), true],
    ['Helm 3 (Update)', live({ manager: 'helm', operation: 'Update' }), false],
    ['a kubectl edit too', live({ manager: 'helm', operation: 'Apply' }, { manager: 'kubectl-edit', operation: 'Update' }), false],
    ['a scale by another applier', live({ manager: 'helm', operation: 'Apply' }, { manager: 'kubectl', operation: 'Apply' }), false],
    ['no managed fields at all', live(), false],
    ['status writes only', live({ manager: 'kube-controller-manager', operation: 'Update', subresource: 'status' }), false],
  ])('%s → %s', (_what, obj, expected) => {
    expect(onlyAppliedByHelm(obj)).toBe(expected);
  });
});
