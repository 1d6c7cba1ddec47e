import type { Kysely } from 'kysely';
import type { Database } from '../../src/db/schema.ts';
import { createTemplate, createTemplateVersion, type NewTemplateVersion } from '../../src/db/repositories/templates.ts';

export const ACTOR = { actor: 'test' };

let counter = 0;
/** A template with one version (schema requires replicas ≤ 5 when given). */
export async function seedVersion(db: Kysely<Database>, overrides: Partial<NewTemplateVersion> = {}) {
  const template = await createTemplate(db, { name: `webapp-${process.pid}-${++counter}`, description: 'a web app' }, ACTOR);
  const version = await createTemplateVersion(
    db,
    {
      templateId: template.id,
      version: '1.0.0',
      chart: { kind: 'local', path: 'charts/webapp' },
      defaultValues: { replicas: 1, image: { tag: 'stable' } },
      valuesSchema: {
        type: 'object',
        properties: {
          replicas: { type: 'integer', minimum: 0, maximum: 5 },
          image: { type: 'object', properties: { tag: { type: 'string' } }, additionalProperties: false },
        },
      },
      tier: 'small',
      ...overrides,
    },
    ACTOR,
  );
  return { template, version };
}

export async function countRows(db: Kysely<Database>, table: keyof Database): Promise<number> {
  const r = await db.selectFrom(table).select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
  return Number(r.n);
}
