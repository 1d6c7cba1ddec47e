// The declared-secrets step on the shared fakes: generated secrets are asked
// for once per reconcile and kept; missing required ones stop the pipeline in
// Pending with Ready=False/SecretsMissing naming them, with one Event.
import { declaredSecretsStep, type DeclaredSecretsPort } from '../../../src/operator/steps/declared-secrets.ts';
import { chartStep } from '../../../src/operator/steps/chart.ts';
import { ChartErrorReason, ChartSourceError } from '../../../src/charts/errors.ts';
import { ReconcileError } from '../../../src/operator/errors.ts';
import type { DeclaredSecret } from '../../../src/domain/declared-secrets.ts';
import { FakeEvents, fakeContext, fakeInstance } from '../../support/fakes.ts';

class MemorySecrets implements DeclaredSecretsPort {
  readonly values = new Map<string, string>();
  async prepare(_instance: unknown, declared: readonly DeclaredSecret[]) {
    const created: string[] = [];
    for (const d of declared) {
      if (!('generate' in d) || this.values.has(d.name)) continue;
      this.values.set(d.name, 'x'.repeat(d.generate.length));
      created.push(d.name);
    }
    return { instanceId: '3f1c0a56-8a3b-4b43-9d0e-1f2a3b4c5d6e', created, names: new Set(this.values.keys()) };
  }
}

const declared: DeclaredSecret[] = [
  { name: 'redisPassword', generate: { length: 32, charset: 'alphanumeric' } },
  { name: 'apiKey', required: true },
];

function ctxWith(secrets: DeclaredSecret[]) {
  const instance = fakeInstance('web');
  instance.metadata.annotations = { 'caelus.io/instance-id': '3f1c0a56-8a3b-4b43-9d0e-1f2a3b4c5d6e' };
  const ctx = fakeContext(instance);
  return Object.assign(ctx, { template: { ...ctx.template, secrets } });
}

describe('declared-secrets step', () => {
  it('generates once, then waits Pending/SecretsMissing for the required one; set → continues', async () => {
    const store = new MemorySecrets();
    const events = new FakeEvents();
    const step = declaredSecretsStep({ secrets: store, events });
    const ctx = ctxWith(declared);
    expect(await step.run(ctx)).toEqual({ stop: true, requeueAfterMs: 300_000 });
    expect(store.values.get('redisPassword')).toHaveLength(32);
    expect(ctx.status.current.phase).toBe('Pending');
    const ready = ctx.status.current.conditions?.find((c) => c.type === 'Ready');
    expect(ready).toMatchObject({ status: 'False', reason: 'SecretsMissing' });
    expect(ready?.message).toContain('apiKey');
    expect(ready?.message).not.toContain('redisPassword');
    expect(events.reasons()).toEqual(['SecretsMissing']);

    const first = store.values.get('redisPassword');
    store.values.set('apiKey', 'set by the user');
    expect(await step.run(ctxWith(declared))).toEqual({ stop: false });
    expect(store.values.get('redisPassword')).toBe(first);
  });

  it('without a database (file catalog) it installs anyway; without declarations it does nothing', async () => {
    const events = new FakeEvents();
    expect(await declaredSecretsStep({ secrets: undefined, events }).run(ctxWith(declared))).toEqual({ stop: false });
    expect(await declaredSecretsStep({ secrets: new MemorySecrets(), events }).run(ctxWith([]))).toEqual({ stop: false });
    expect(events.reasons()).toEqual([]);
  });
});

describe('chart step', () => {
  it('puts the verified package in place of a pinned chart, and a content digest on a local one', async () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    const charts = { pinned: async (d: string) => `/cache/${d.slice(7)}.tgz`, local: async () => ({ digest: `sha256:${'b'.repeat(64)}`, path: '/cache/dirs/b' }) };
    const pinned = ctxWith([]);
    Object.assign(pinned, { template: { ...pinned.template, chart: { kind: 'oci', ref: 'oci://r/c' }, chartDigest: digest } });
    const out = await chartStep(charts).run(pinned);
    expect(out.template.chart).toEqual({ kind: 'local', path: `/cache/${'a'.repeat(64)}.tgz` });
    expect(out.template.chartDigest).toBe(digest);
    const local = ctxWith([]);
    Object.assign(local, { template: { ...local.template, chart: { kind: 'local', path: '/charts/web' } } });
    const l = await chartStep(charts).run(local);
    expect(l.template.chartDigest).toBe(`sha256:${'b'.repeat(64)}`);
    expect(l.template.chart).toEqual({ kind: 'local', path: '/cache/dirs/b' });
  });

  it('a digest mismatch is ChartDigestMismatch', async () => {
    const charts = {
      pinned: async () => {
        throw new ChartSourceError(ChartErrorReason.DigestMismatch, 'chartDigest', 'bytes differ');
      },
      local: async () => ({ digest: '', path: '' }),
    };
    const ctx = ctxWith([]);
    Object.assign(ctx, { template: { ...ctx.template, chartDigest: `sha256:${'c'.repeat(64)}` } });
    const err = await chartStep(charts).run(ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReconcileError);
    expect((err as ReconcileError).reason).toBe('ChartDigestMismatch');
  });
});
