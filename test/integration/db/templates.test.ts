// Templates, immutable versions and the TemplateCatalog, on both dialects.
import { sql } from 'kysely';
import { DbTemplateCatalog } from '../../../src/db/catalog.ts';
import { DuplicateTemplateNameError, DuplicateTemplateVersionError, ImmutableRowError, UnknownTemplateError, ValidationError } from '../../../src/db/errors.ts';
import { mapDatabaseError } from '../../../src/db/map-error.ts';
import { createTemplate, createTemplateVersion, findTemplateVersion, getTemplate, listTemplateVersions } from '../../../src/db/repositories/templates.ts';
import { testDatabases, type TestDatabase } from '../../support/database.ts';
import { ACTOR, countRows, seedVersion } from '../../support/db-fixtures.ts';

describe.each(testDatabases())('templates on $name', ({ create }) => {
  let h: TestDatabase;
  beforeAll(async () => {
    h = await create();
  });
  afterAll(async () => {
    await h?.destroy();
  });

  test('egressRules are stored with the version, reach the catalog, and are answered from memory once resolved', async () => {
    const egressRules = [{ to: [{ ipBlock: { cidr: '203.0.113.0/24' } }], ports: [{ port: 443, protocol: 'TCP' }] }];
    const { template, version } = await seedVersion(h.db, { egressRules });
    expect(version.egressRules).toEqual(egressRules);
    const catalog = new DbTemplateCatalog(h.db);
    const first = await catalog.resolve(`${template.name}@1.0.0`);
    expect(first?.egressRules).toEqual(egressRules);
    // Immutable versions: a resolved reference needs no query (the cache answers even with the database gone).
    const queries: string[] = [];
    const spy = new DbTemplateCatalog(h.db.withPlugin({ transformQuery: (a) => (queries.push(a.node.kind), a.node), transformResult: async (a) => a.result }));
    await spy.resolve(version.id);
    const afterFirst = queries.length;
    expect(await spy.resolve(version.id)).toEqual(first);
    expect(await spy.resolve(`${template.name}@1.0.0`)).toEqual(first);
    expect(queries.length).toBe(afterFirst);
    await expect(createTemplateVersion(h.db, { templateId: template.id, version: '2.0.0', chart: { kind: 'local', path: 'charts/webapp' }, egressRules: {} as never }, ACTOR)).rejects.toBeInstanceOf(ValidationError);
  });

  test('a template is found by id and by name', async () => {
    const t = await createTemplate(h.db, { name: 'found-me', description: 'x' }, ACTOR);
    expect(await getTemplate(h.db, t.id)).toEqual(t);
    expect(await getTemplate(h.db, 'found-me')).toEqual(t);
    expect(await getTemplate(h.db, 'no-such-template')).toBeUndefined();
  });

  test('duplicate template name → DuplicateTemplateNameError, one row, one audit row', async () => {
    await createTemplate(h.db, { name: 'twice' }, ACTOR);
    const audits = await countRows(h.db, 'audit_event');
    await expect(createTemplate(h.db, { name: 'twice' }, ACTOR)).rejects.toBeInstanceOf(DuplicateTemplateNameError);
    expect(await countRows(h.db, 'audit_event')).toBe(audits);
  });

  test('second version with the same number → DuplicateTemplateVersionError, nothing half-written', async () => {
    const { template } = await seedVersion(h.db);
    const before = { versions: await countRows(h.db, 'product_template_version'), audits: await countRows(h.db, 'audit_event') };
    const err = await createTemplateVersion(h.db, { templateId: template.id, version: '1.0.0', chart: { kind: 'local', path: 'charts/other' } }, ACTOR).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DuplicateTemplateVersionError);
    expect((err as Error).message).toMatch(/already has a version with this number/);
    expect({ versions: await countRows(h.db, 'product_template_version'), audits: await countRows(h.db, 'audit_event') }).toEqual(before);
    const other = await createTemplateVersion(h.db, { templateId: template.id, version: '1.1.0', chart: { kind: 'local', path: 'charts/webapp' } }, ACTOR);
    expect((await listTemplateVersions(h.db, template.id)).map((v) => v.version)).toEqual(['1.0.0', other.version]);
  });

  test('a version of an unknown template → UnknownTemplateError', async () => {
    await expect(
      createTemplateVersion(h.db, { templateId: '00000000-0000-4000-8000-000000000000', version: '1.0.0', chart: { kind: 'local', path: 'c' } }, ACTOR),
    ).rejects.toBeInstanceOf(UnknownTemplateError);
  });

  test('versions are immutable even to raw SQL (trigger) → ImmutableRowError', async () => {
    const { version } = await seedVersion(h.db);
    const err = await h.db.updateTable('product_template_version').set({ tier: 'large' }).where('id', '=', version.id).execute().catch((e: unknown) => mapDatabaseError(e));
    expect(err).toBeInstanceOf(ImmutableRowError);
    expect((await sql<{ tier: string }>`select tier from product_template_version where id = ${version.id}`.execute(h.db)).rows[0]?.tier).toBe('small');
  });

  test('a values schema that is not a JSON Schema is refused at creation', async () => {
    const { template } = await seedVersion(h.db);
    const err = await createTemplateVersion(
      h.db,
      { templateId: template.id, version: '2.0.0', chart: { kind: 'local', path: 'c' }, valuesSchema: { type: 'no-such-type' } },
      ACTOR,
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).field).toBe('valuesSchema');
  });

  test('chart references of every kind round-trip through helm_chart_path', async () => {
    const { template } = await seedVersion(h.db);
    const charts = [
      { kind: 'local', path: 'charts/webapp-0.1.0.tgz' },
      { kind: 'oci', ref: 'oci://registry.example.com/charts/webapp' },
      { kind: 'repo', repoUrl: 'https://charts.example.com/stable', chart: 'webapp' },
    ] as const;
    for (const [i, chart] of charts.entries()) {
      const v = await createTemplateVersion(h.db, { templateId: template.id, version: `3.0.${i}`, chart, chartVersion: '0.1.0' }, ACTOR);
      expect((await findTemplateVersion(h.db, template.name, `3.0.${i}`))?.version.chart).toEqual(chart);
      expect(v.chart).toEqual(chart);
    }
    const stored = await h.db.selectFrom('product_template_version').select('helm_chart_path').where('template_id', '=', template.id).where('version', '=', '3.0.2').executeTakeFirstOrThrow();
    expect(stored.helm_chart_path).toBe('https://charts.example.com/stable#webapp');
  });

  describe('DbTemplateCatalog', () => {
    test('resolves a version id and <name>@<version> to chart, defaults and schema', async () => {
      const { template, version } = await seedVersion(h.db, { chart: { kind: 'oci', ref: 'oci://r.example.com/webapp' }, chartVersion: '1.2.3' });
      const catalog = new DbTemplateCatalog(h.db);
      const expected = {
        id: version.id,
        templateId: template.id,
        templateName: template.name,
        version: '1.0.0',
        chart: { kind: 'oci', ref: 'oci://r.example.com/webapp' },
        chartVersion: '1.2.3',
        defaultValues: { replicas: 1, image: { tag: 'stable' } },
        valuesSchema: version.valuesSchema,
        tier: 'small',
      };
      expect(await catalog.resolve(version.id)).toEqual(expected);
      expect(await catalog.resolve(version.id.toUpperCase())).toEqual(expected);
      expect(await catalog.resolve(`${template.name}@1.0.0`)).toEqual(expected);
    });

    test('unknown or malformed references resolve to undefined', async () => {
      const catalog = new DbTemplateCatalog(h.db);
      for (const ref of ['00000000-0000-4000-8000-000000000000', 'nope@1.0.0', 'webapp', '@1.0.0', 'webapp@', 'webapp@1.x', "x'; drop table product_template; --@1.0.0"]) {
        expect(await catalog.resolve(ref)).toBeUndefined();
      }
    });
  });
});
