// Bad input to repositories is refused with typed errors naming the field,
// before any SQL runs; SQL metacharacters are plain data, never SQL.
import { ValidationError } from '../../../src/db/errors.ts';
import { createInstance, getInstance, listInstances, recordInstanceStatus, updateInstanceSpec } from '../../../src/db/repositories/instances.ts';
import { putSecret } from '../../../src/db/repositories/secrets.ts';
import { createTemplate, createTemplateVersion, getTemplate } from '../../../src/db/repositories/templates.ts';
import { createApiToken } from '../../../src/db/repositories/tokens.ts';
import { SecretBox } from '../../../src/db/secret-box.ts';
import { MAX_JSON_BYTES } from '../../../src/db/validate.ts';
import { testDatabases, type TestDatabase } from '../../support/database.ts';
import { ACTOR, countRows, seedVersion } from '../../support/db-fixtures.ts';

const INJECTIONS = ["x'; drop table product_template; --", 'a"b', 'robert); delete from api_token; --', 'name\u0000nul', '$1', '\\'];

async function fieldOf(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof ValidationError)) throw new Error(`expected a ValidationError, got ${String(err)}`);
  return err.field;
}

describe.each(testDatabases())('bad input on $name', ({ create }) => {
  let h: TestDatabase;
  let versionId: string;
  let instanceId: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- deliberately ill-typed input, as from an API payload
  const anyInput = (v: unknown): any => v;
  beforeAll(async () => {
    h = await create();
    versionId = (await seedVersion(h.db)).version.id;
    instanceId = (await createInstance(h.db, { userId: 'u', productTemplateVersionId: versionId, namespace: `bad-${process.pid}` }, ACTOR)).id;
  });
  afterAll(async () => {
    await h?.destroy();
  });

  test('SQL metacharacters in names are rejected as invalid names, and the tables are intact', async () => {
    for (const name of INJECTIONS) {
      expect(await fieldOf(createTemplate(h.db, { name }, ACTOR))).toBe('name');
      expect(await fieldOf(createInstance(h.db, { userId: 'u', productTemplateVersionId: versionId, namespace: name }, ACTOR))).toBe('namespace');
      expect(await fieldOf(getTemplate(h.db, name + 'x'.repeat(64)))).toBe('template');
    }
    expect(await getTemplate(h.db, "x'; drop table product_template; --")).toBeUndefined();
    expect(await countRows(h.db, 'product_template')).toBeGreaterThan(0);
  });

  test('SQL metacharacters in free text are stored verbatim (bound parameters, not SQL)', async () => {
    const description = "it's a \"quote\"; drop table api_token; -- $1 \\";
    const t = await createTemplate(h.db, { name: `free-text-${process.pid}`, description }, ACTOR);
    expect((await getTemplate(h.db, t.id))?.description).toBe(description);
    const { record } = await createApiToken(h.db, { name: "o'brien; --", role: 'user', userId: "' or '1'='1" }, ACTOR);
    expect(record).toMatchObject({ name: "o'brien; --", userId: "' or '1'='1" });
    const i = await updateInstanceSpec(h.db, instanceId, { values: { "key'; --": "value'); drop table x; --" } }, ACTOR);
    expect(i.values).toEqual({ "key'; --": "value'); drop table x; --" });
    await updateInstanceSpec(h.db, instanceId, { values: {} }, ACTOR);
  });

  test('wrong types are refused with the field named', async () => {
    expect(await fieldOf(createTemplate(h.db, anyInput({ name: 42 }), ACTOR))).toBe('name');
    expect(await fieldOf(createTemplate(h.db, anyInput({ name: 'ok-name', description: {} }), ACTOR))).toBe('description');
    expect(await fieldOf(createInstance(h.db, anyInput({ userId: 'u', productTemplateVersionId: 'not-a-uuid', namespace: 'ns-a' }), ACTOR))).toBe('productTemplateVersionId');
    expect(await fieldOf(createInstance(h.db, anyInput({ userId: 'u', productTemplateVersionId: versionId, namespace: 'ns-b', values: [1, 2] }), ACTOR))).toBe('values');
    expect(await fieldOf(createInstance(h.db, anyInput({ userId: 'u', productTemplateVersionId: versionId, namespace: 'ns-c', values: 'x' }), ACTOR))).toBe('values');
    expect(await fieldOf(createInstance(h.db, anyInput({ userId: 'u', productTemplateVersionId: versionId, namespace: 'ns-d', state: 'Exploded' }), ACTOR))).toBe('state');
    expect(await fieldOf(createInstance(h.db, anyInput({ userId: 'u', productTemplateVersionId: versionId, namespace: 'ns-e', expiresAt: 'tomorrow' }), ACTOR))).toBe('expiresAt');
    expect(await fieldOf(createTemplateVersion(h.db, anyInput({ templateId: versionId, version: 'v1', chart: { kind: 'local', path: 'c' } }), ACTOR))).toBe('version');
    expect(await fieldOf(createTemplateVersion(h.db, anyInput({ templateId: versionId, version: '1.0.0', chart: { kind: 'ftp', path: 'c' } }), ACTOR))).toBe('chart.kind');
    expect(await fieldOf(createTemplateVersion(h.db, anyInput({ templateId: versionId, version: '1.0.0', chart: { kind: 'repo', repoUrl: 'https://x.example.com#a', chart: 'b' } }), ACTOR))).toBe('helmChart');
    expect(await fieldOf(recordInstanceStatus(h.db, instanceId, anyInput({ status: 'running; --' })))).toBe('status');
    expect(await fieldOf(recordInstanceStatus(h.db, instanceId, anyInput({ status: 'Running', helmRevision: -1 })))).toBe('helmRevision');
    expect(await fieldOf(createApiToken(h.db, anyInput({ name: 't', role: 'root' }), ACTOR))).toBe('role');
    expect(await fieldOf(createApiToken(h.db, { name: 't', role: 'user' }, ACTOR))).toBe('userId');
    expect(await fieldOf(getInstance(h.db, "1' or '1'='1"))).toBe('id');
    expect(await fieldOf(listInstances(h.db, { limit: -5 }))).toBe('limit');
    expect(await fieldOf(putSecret(h.db, new SecretBox([{ id: 'k', key: Buffer.alloc(32, 1) }]), anyInput({ instanceId, name: 'a/b', value: 'v' }), ACTOR))).toBe('name');
    expect(await fieldOf(putSecret(h.db, new SecretBox([{ id: 'k', key: Buffer.alloc(32, 1) }]), anyInput({ instanceId, name: 'ok', value: 5 }), ACTOR))).toBe('value');
  });

  test('oversized values are refused before reaching the database', async () => {
    const big = { blob: 'x'.repeat(MAX_JSON_BYTES) };
    const before = await countRows(h.db, 'audit_event');
    const err = await updateInstanceSpec(h.db, instanceId, { values: big }, ACTOR).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).field).toBe('values');
    expect((err as Error).message).toMatch(/more than the limit of 262144/);
    expect(await fieldOf(createTemplate(h.db, { name: 'a'.repeat(64) }, ACTOR))).toBe('name');
    expect(await fieldOf(createTemplate(h.db, { name: 'ok-long', description: 'd'.repeat(5000) }, ACTOR))).toBe('description');
    expect(await countRows(h.db, 'audit_event')).toBe(before);
  });
});
