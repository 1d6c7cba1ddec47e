// A template's rule list that is gone must not leave its allow behind; a
// namespace this reconcile just created cannot hold one, so nothing is deleted.
import { guardrailsConfig } from '../../../src/config/guardrails.ts';
import type { CaelusInstance } from '../../../src/domain/instance.ts';
import type { GuardrailObjects } from '../../../src/operator/ports.ts';
import { guardrailsStep } from '../../../src/operator/steps/guardrails.ts';
import { fakeContext } from '../../support/fakes.ts';

const instance: CaelusInstance = {
  apiVersion: 'caelus.io/v1',
  kind: 'CaelusInstance',
  metadata: { name: 'i', generation: 1, creationTimestamp: '2030-01-01T10:00:00Z' },
  spec: { userId: 'u', productTemplateVersion: 'a@1.0.0' },
};

async function deletedPolicies(namespaceCreated: boolean): Promise<string[]> {
  const deleted: string[] = [];
  const objects: GuardrailObjects = {
    apply: async () => undefined,
    delete: async (ref) => {
      deleted.push(`${ref.kind}/${ref.name}`);
      return false;
    },
  };
  const step = guardrailsStep({ config: guardrailsConfig({}), objects, events: { record: () => undefined } });
  await step.run(Object.assign(fakeContext(structuredClone(instance)), { namespaceCreated }));
  return deleted;
}

describe('template NetworkPolicies without rules', () => {
  it('are deleted in a namespace that existed before this reconcile', async () => {
    expect(await deletedPolicies(false)).toEqual(['NetworkPolicy/caelus-template-rules', 'NetworkPolicy/caelus-template-egress']);
  });

  it('are not looked for in a namespace this reconcile created', async () => {
    expect(await deletedPolicies(true)).toEqual([]);
  });
});
