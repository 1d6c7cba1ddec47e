import { FINALIZER, LAST_ACTIVITY_ANNOTATION, SECRETS_FINGERPRINT_ANNOTATION, type CaelusInstance } from '../../../src/domain/instance.ts';
import { planAnnotations, type AnnotationFacts } from '../../../src/sync/annotations.ts';
import { needsReconcile } from '../../../src/operator/operator.ts';
import { syncConfigFromEnv } from '../../../src/sync/runtime.ts';

const EMPTY = 'sha256:empty';
const now = new Date('2026-01-01T12:00:00.000Z');
const ago = (ms: number) => new Date(now.getTime() - ms);
const facts = (o: Partial<AnnotationFacts> = {}): AnnotationFacts => ({ lastActivityAt: null, secretsFingerprint: undefined, emptyFingerprint: EMPTY, ...o });
const G = 10_000;

describe('planAnnotations: last activity', () => {
  it('writes the first reported activity at once', () => {
    expect(planAnnotations(facts({ lastActivityAt: ago(1_000) }), undefined, now, G)).toEqual({ patch: { [LAST_ACTIVITY_ANNOTATION]: ago(1_000).toISOString() } });
  });
  it('writes a newer activity once the annotated one is a granularity old', () => {
    const annotations = { [LAST_ACTIVITY_ANNOTATION]: ago(G).toISOString() };
    expect(planAnnotations(facts({ lastActivityAt: ago(0) }), annotations, now, G)).toEqual({ patch: { [LAST_ACTIVITY_ANNOTATION]: now.toISOString() } });
  });
  it('coalesces activity within the granularity: nothing now, a look again when it is due', () => {
    const annotations = { [LAST_ACTIVITY_ANNOTATION]: ago(3_000).toISOString() };
    expect(planAnnotations(facts({ lastActivityAt: ago(500) }), annotations, now, G)).toEqual({ recheckAfterMs: 7_000 });
  });
  it('never moves activity backwards and ignores an unchanged value', () => {
    const annotations = { [LAST_ACTIVITY_ANNOTATION]: ago(1_000).toISOString() };
    expect(planAnnotations(facts({ lastActivityAt: ago(5_000) }), annotations, now, G)).toEqual({});
    expect(planAnnotations(facts({ lastActivityAt: ago(1_000) }), annotations, now, G)).toEqual({});
  });
  it('replaces an unparseable annotation; granularity 0 writes every report', () => {
    expect(planAnnotations(facts({ lastActivityAt: ago(1) }), { [LAST_ACTIVITY_ANNOTATION]: 'yesterday' }, now, G).patch).toBeDefined();
    expect(planAnnotations(facts({ lastActivityAt: ago(1) }), { [LAST_ACTIVITY_ANNOTATION]: ago(2).toISOString() }, now, 0).patch).toBeDefined();
  });
  it('writes nothing for an instance nobody reported on', () => {
    expect(planAnnotations(facts(), {}, now, G)).toEqual({});
  });
});

describe('planAnnotations: secrets fingerprint', () => {
  it('stamps a changed fingerprint', () => {
    expect(planAnnotations(facts({ secretsFingerprint: 'sha256:b' }), { [SECRETS_FINGERPRINT_ANNOTATION]: 'sha256:a' }, now, G)).toEqual({
      patch: { [SECRETS_FINGERPRINT_ANNOTATION]: 'sha256:b' },
    });
  });
  it('leaves an equal fingerprint, and a CR without secrets that never had any, alone', () => {
    expect(planAnnotations(facts({ secretsFingerprint: 'sha256:a' }), { [SECRETS_FINGERPRINT_ANNOTATION]: 'sha256:a' }, now, G)).toEqual({});
    expect(planAnnotations(facts({ secretsFingerprint: EMPTY }), {}, now, G)).toEqual({});
  });
  it('stamps the empty fingerprint when the last secret was deleted', () => {
    expect(planAnnotations(facts({ secretsFingerprint: EMPTY }), { [SECRETS_FINGERPRINT_ANNOTATION]: 'sha256:a' }, now, G).patch).toEqual({ [SECRETS_FINGERPRINT_ANNOTATION]: EMPTY });
  });
  it('does nothing for a CR that does not read secrets', () => {
    expect(planAnnotations(facts({ secretsFingerprint: undefined }), { [SECRETS_FINGERPRINT_ANNOTATION]: 'sha256:a' }, now, G)).toEqual({});
  });
  it('writes both annotations in one patch', () => {
    expect(Object.keys(planAnnotations(facts({ lastActivityAt: ago(1), secretsFingerprint: 'sha256:b' }), {}, now, G).patch ?? {}).sort()).toEqual([
      LAST_ACTIVITY_ANNOTATION,
      SECRETS_FINGERPRINT_ANNOTATION,
    ]);
  });
});

describe('needsReconcile and annotations', () => {
  const cr = (annotations: Record<string, string>): CaelusInstance =>
    ({ metadata: { name: 'a', generation: 1, annotations }, spec: { userId: 'u', productTemplateVersion: 'x@1' } }) as unknown as CaelusInstance;
  it('a last-activity stamp alone does not reconcile', () => {
    expect(needsReconcile('update', cr({ [LAST_ACTIVITY_ANNOTATION]: '2026-01-01T00:00:01Z' }), cr({ [LAST_ACTIVITY_ANNOTATION]: '2026-01-01T00:00:00Z' }))).toBe(false);
    expect(needsReconcile('update', cr({ [LAST_ACTIVITY_ANNOTATION]: '2026-01-01T00:00:01Z' }), cr({}))).toBe(false);
  });
  it('a secrets-fingerprint stamp (or any other annotation) does', () => {
    expect(needsReconcile('update', cr({ [SECRETS_FINGERPRINT_ANNOTATION]: 'sha256:b' }), cr({ [SECRETS_FINGERPRINT_ANNOTATION]: 'sha256:a' }))).toBe(true);
    expect(needsReconcile('update', cr({ 'caelus.io/reconcile-requested-at': 'now' }), cr({}))).toBe(true);
  });
});

describe('needsReconcile and finalizers', () => {
  const cr = (finalizers: string[] | undefined): CaelusInstance =>
    ({ metadata: { name: 'a', generation: 1, ...(finalizers ? { finalizers } : {}) }, spec: { userId: 'u', productTemplateVersion: 'x@1' } }) as unknown as CaelusInstance;
  it("our finalizer being added (the first reconcile's own write) does not reconcile again", () => {
    expect(needsReconcile('update', cr([FINALIZER]), cr(undefined))).toBe(false);
    expect(needsReconcile('update', cr(['other', FINALIZER]), cr(['other']))).toBe(false);
  });
  it('its removal, or any other finalizer added or removed, does', () => {
    expect(needsReconcile('update', cr([]), cr([FINALIZER]))).toBe(true);
    expect(needsReconcile('update', cr([FINALIZER, 'other']), cr([FINALIZER]))).toBe(true);
    expect(needsReconcile('update', cr([FINALIZER]), cr([FINALIZER, 'other']))).toBe(true);
  });
});

describe('CAELUS_SYNC_ACTIVITY_SECONDS', () => {
  it('defaults to 30 s and takes 0…3600', () => {
    expect(syncConfigFromEnv({}).activityGranularityMs).toBe(30_000);
    expect(syncConfigFromEnv({ CAELUS_SYNC_ACTIVITY_SECONDS: '0' }).activityGranularityMs).toBe(0);
    expect(syncConfigFromEnv({ CAELUS_SYNC_ACTIVITY_SECONDS: '3600' }).activityGranularityMs).toBe(3_600_000);
  });
  it.each(['-1', '1.5', 'soon', '3601'])('refuses %j naming the setting', (raw) => {
    expect(() => syncConfigFromEnv({ CAELUS_SYNC_ACTIVITY_SECONDS: raw })).toThrow(/CAELUS_SYNC_ACTIVITY_SECONDS/);
  });
});
