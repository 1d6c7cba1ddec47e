// Rollout rows on both dialects: who a run selects and why others are left
// out, its waves, the commands an admin may give in which state, the audit
// trail, and the active-run lookup a single-instance upgrade checks.
import { ConflictError } from '../../../src/db/errors.ts';
import { createInstance, updateInstanceSpec } from '../../../src/db/repositories/instances.ts';
import { activeRolloutOf, commandRollout, createRollout, deleteStrategy, getStrategy, listRolloutInstances, listWorkingRollouts, saveStrategy } from '../../../src/db/repositories/rollouts.ts';
import { createTemplateVersion } from '../../../src/db/repositories/templates.ts';
import { DEFAULT_STRATEGY, resolveStrategy } from '../../../src/domain/rollout.ts';
import { testDatabases, type TestDatabase } from '../../support/database.ts';
import { ACTOR, seedVersion } from '../../support/db-fixtures.ts';

let n = 0;
const namespace = () => `ro-${process.pid}-${++n}`;

describe.each(testDatabases())('rollouts on $name', ({ create }) => {
  let h: TestDatabase;
  beforeAll(async () => {
    h = await create();
  });
  afterAll(async () => {
    await h?.destroy();
  });

  async function fleet() {
    const { template, version: v1 } = await seedVersion(h.db);
    const v2 = await createTemplateVersion(h.db, { templateId: template.id, version: '2.0.0', chart: { kind: 'local', path: 'charts/webapp' } }, ACTOR);
    const v3 = await createTemplateVersion(h.db, { templateId: template.id, version: '3.0.0', chart: { kind: 'local', path: 'charts/webapp' } }, ACTOR);
    const make = (versionId: string, extra: Parameters<typeof createInstance>[1] extends infer T ? Partial<T> : never = {}) =>
      createInstance(h.db, { userId: 'alice', productTemplateVersionId: versionId, namespace: namespace(), ...extra }, ACTOR);
    const running = [];
    for (let i = 0; i < 7; i++) running.push(await make(v1.id));
    const asleep = await make(v1.id, { state: 'Hibernated' });
    const git = await make(v1.id, { source: 'cluster' });
    const atTarget = await make(v2.id);
    const above = await make(v3.id);
    const expired = await make(v1.id, { expiresAt: new Date(Date.now() - 60_000) });
    return { template, v1, v2, v3, running, asleep, git, atTarget, above, expired };
  }

  test('a run lists every instance of the template: waves for the upgradable, reasons for the rest; audited', async () => {
    const f = await fleet();
    const r = await createRollout(h.db, { templateId: f.template.id, targetVersionId: f.v2.id, strategy: DEFAULT_STRATEGY, selector: {}, includeHibernated: false }, ACTOR);
    expect(r).toMatchObject({ state: 'Pending', targetVersion: '2.0.0', waveCount: 3, currentWave: 0, createdBy: 'test' });
    const rows = await listRolloutInstances(h.db, r.id);
    const by = new Map(rows.map((x) => [x.instanceId, x]));
    expect(f.running.map((i) => by.get(i.id)!.wave)).toEqual([1, 2, 2, 3, 3, 3, 3]);
    expect(f.running.every((i) => by.get(i.id)!.state === 'Pending' && by.get(i.id)!.sourceVersion === '1.0.0')).toBe(true);
    expect(by.get(f.asleep.id)).toMatchObject({ state: 'Deferred', wave: null, reason: expect.stringMatching(/hibernated/) });
    expect(by.get(f.git.id)).toMatchObject({ state: 'Skipped', reason: expect.stringMatching(/owned by Git/) });
    expect(by.get(f.atTarget.id)).toMatchObject({ state: 'Skipped', reason: expect.stringMatching(/already at/) });
    expect(by.get(f.above.id)).toMatchObject({ state: 'Skipped', reason: expect.stringMatching(/above/) });
    expect(by.get(f.expired.id)).toMatchObject({ state: 'Skipped', reason: expect.stringMatching(/expired/) });
    const audit = await h.db.selectFrom('audit_event').selectAll().where('action', '=', 'rollout.create').execute();
    expect(audit.some((a) => (a.detail as { rolloutId?: string }).rolloutId === r.id)).toBe(true);
    expect((await listWorkingRollouts(h.db)).map((x) => x.id)).toContain(r.id);

    // The selector narrows; an instance waiting in an active run is listed as busy by a second run.
    const second = await createRollout(h.db, { templateId: f.template.id, targetVersionId: f.v3.id, strategy: DEFAULT_STRATEGY, selector: { fromVersions: ['1.0.0'] }, includeHibernated: true }, ACTOR);
    const rows2 = await listRolloutInstances(h.db, second.id);
    expect(rows2.map((x) => x.instanceId).sort()).toEqual([...f.running, f.asleep, f.git, f.expired].map((i) => i.id).sort());
    expect(rows2.find((x) => x.instanceId === f.running[0]!.id)).toMatchObject({ state: 'Skipped', reason: `in active rollout ${r.id}` });
    expect(await activeRolloutOf(h.db, f.running[0]!.id)).toBe(r.id);
    expect(await activeRolloutOf(h.db, f.atTarget.id)).toBeUndefined();
  });

  test('commands follow the run states; a refused one names the state', async () => {
    const f = await fleet();
    const r = await createRollout(h.db, { templateId: f.template.id, targetVersionId: f.v2.id, strategy: DEFAULT_STRATEGY, selector: {}, includeHibernated: false }, ACTOR);
    await expect(commandRollout(h.db, r.id, 'resume', ACTOR)).rejects.toThrow(ConflictError);
    expect((await commandRollout(h.db, r.id, 'pause', ACTOR)).state).toBe('Paused');
    expect((await commandRollout(h.db, r.id, 'resume', ACTOR)).state).toBe('Running');
    expect((await commandRollout(h.db, r.id, 'approve', ACTOR)).approvedAt).toBeInstanceOf(Date);
    const aborted = await commandRollout(h.db, r.id, 'abort', ACTOR);
    expect(aborted).toMatchObject({ state: 'Aborted', finishedAt: expect.any(Date) });
    await expect(commandRollout(h.db, r.id, 'pause', ACTOR)).rejects.toThrow(/cannot pause a rollout that is Aborted/);
    expect((await commandRollout(h.db, r.id, 'rollback', ACTOR)).rollbackRequestedAt).toBeInstanceOf(Date);
    await expect(commandRollout(h.db, r.id, 'rollback', ACTOR)).rejects.toThrow(/rollback already requested/);
    const actions = (await h.db.selectFrom('audit_event').select('action').where('action', 'like', 'rollout.%').execute()).map((a) => a.action);
    expect(actions).toEqual(expect.arrayContaining(['rollout.pause', 'rollout.resume', 'rollout.approve', 'rollout.abort', 'rollout.rollback']));
    // An instance's own spec writes still work while it is not in flight.
    await updateInstanceSpec(h.db, f.running[0]!.id, { values: { replicas: 2 } }, ACTOR);
  });

  test('named strategies: saved, replaced, resolved over the defaults, deleted', async () => {
    await saveStrategy(h.db, 'careful', { canary: 2, bakeSeconds: 300 }, ACTOR);
    await saveStrategy(h.db, 'careful', { canary: 3 }, ACTOR);
    const s = await getStrategy(h.db, 'careful');
    expect(s?.strategy).toEqual({ canary: 3 });
    expect(resolveStrategy(s?.strategy, { maxConcurrent: 8 }).strategy).toEqual({ ...DEFAULT_STRATEGY, canary: 3, maxConcurrent: 8 });
    expect(await deleteStrategy(h.db, 'careful', ACTOR)).toBe(true);
    expect(await deleteStrategy(h.db, 'careful', ACTOR)).toBe(false);
  });
});
