// Template versions carry their guardrails (migration 0007) through the
// repository and the DB catalog, on PGlite and PostgreSQL.
import { DbTemplateCatalog } from '../../src/db/catalog.ts';
import { testDatabases, type TestDatabase } from '../support/database.ts';
import { seedVersion } from '../support/db-fixtures.ts';

describe.each(testDatabases())('template version guardrails on $name', (dbCase) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await dbCase.create();
  });
  afterAll(async () => {
    await db?.destroy();
  });

  it('stores podSecurity, networkRules and allowedTiers and resolves them for the operator', async () => {
    const rules = [{ from: [{ namespaceSelector: { matchLabels: { team: 'monitoring' } } }], ports: [{ port: 9090 }] }];
    const { template, version } = await seedVersion(db.db, { tier: 'micro', podSecurity: 'baseline', networkRules: rules, allowedTiers: ['small', 'large'] });
    expect(version).toMatchObject({ podSecurity: 'baseline', networkRules: rules, allowedTiers: ['small', 'large'] });
    const resolved = await new DbTemplateCatalog(db.db).resolve(`${template.name}@1.0.0`);
    expect(resolved).toMatchObject({ tier: 'micro', podSecurity: 'baseline', networkRules: rules, allowedTiers: ['small', 'large'] });
  });

  it('leaves them out when a version declares none (restricted, no extra rules, no other tiers)', async () => {
    const { version } = await seedVersion(db.db);
    expect(version).toMatchObject({ podSecurity: null, networkRules: null, allowedTiers: null });
    const resolved = await new DbTemplateCatalog(db.db).resolve(version.id);
    expect(resolved).not.toHaveProperty('podSecurity');
    expect(resolved).not.toHaveProperty('networkRules');
    expect(resolved).not.toHaveProperty('allowedTiers');
  });

  it.each([
    [{ podSecurity: 'privileged' as never }, 'podSecurity'],
    [{ networkRules: [42] as never }, 'networkRules[0]'],
    [{ allowedTiers: ['Not A Tier'] }, 'allowedTiers[0]'],
  ])('refuses %j naming the field', async (input, field) => {
    await expect(seedVersion(db.db, input)).rejects.toMatchObject({ code: 'VALIDATION', message: expect.stringContaining(field) });
  });
});
