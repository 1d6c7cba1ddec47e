// The API server itself rejects invalid CaelusInstances (schema + CEL), with
// messages that name the field.
import { ApiException } from '@kubernetes/client-node';
import { uniqueName } from '../support/kube.ts';
import { createInstance, deleteInstance, instanceBody, patchInstance, getInstance } from '../support/operator.ts';

const shard = 'crd-validation-no-operator';

async function rejection(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApiException);
  expect((err as ApiException<unknown>).code).toBe(422);
  return String((err as ApiException<unknown>).body);
}

describe('CaelusInstance CRD validation', () => {
  const spec = { userId: 'u1', productTemplateVersion: 'webapp@1.0.0' };

  it('rejects a namespace that is not a DNS-1123 label', async () => {
    const body = await rejection(createInstance(instanceBody(uniqueName('bad'), shard, { ...spec, namespace: 'Bad_NS' })));
    expect(body).toContain('spec.namespace');
  });

  it('rejects a Kubernetes system namespace', async () => {
    const body = await rejection(createInstance(instanceBody(uniqueName('sys'), shard, { ...spec, namespace: 'kube-system' })));
    expect(body).toContain('system namespace');
  });

  it('rejects an unknown state and a malformed template version reference', async () => {
    const state = await rejection(
      createInstance(instanceBody(uniqueName('st'), shard, { ...spec, state: 'Sleeping' as unknown as 'Running' })),
    );
    expect(state).toContain('spec.state');
    const ref = await rejection(createInstance(instanceBody(uniqueName('ref'), shard, { ...spec, productTemplateVersion: 'not a ref' })));
    expect(ref).toContain('spec.productTemplateVersion');
  });

  it('rejects changing spec.namespace after creation', async () => {
    const name = uniqueName('imm');
    await createInstance(instanceBody(name, shard, { ...spec, namespace: `${name}-ns` }));
    try {
      const body = await rejection(patchInstance(name, { spec: { namespace: `${name}-other` } }));
      expect(body).toContain('spec.namespace is immutable');
      expect((await getInstance(name))?.spec.namespace).toBe(`${name}-ns`);
    } finally {
      await deleteInstance(name);
    }
  });

  it('rejects a name that is too long for a Helm release', async () => {
    const body = await rejection(createInstance(instanceBody(`x${'a'.repeat(55)}`, shard, { ...spec, namespace: 'fine' })));
    expect(body).toContain('at most 53 characters');
  });

  it('applies defaults for state, suspend, deletionPolicy', async () => {
    const name = uniqueName('def');
    await createInstance(instanceBody(name, shard, spec));
    try {
      expect((await getInstance(name))?.spec).toMatchObject({ state: 'Running', suspend: false, deletionPolicy: 'Delete' });
    } finally {
      await deleteInstance(name);
    }
  });
});
