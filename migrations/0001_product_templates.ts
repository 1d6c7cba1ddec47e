// Product templates and their immutable versions.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('product_template')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('product_template_name_key', ['name'])
    .addCheckConstraint('product_template_name_check', sql`name ~ '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$'`)
    .execute();

  await db.schema
    .createTable('product_template_version')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('template_id', 'uuid', (c) => c.notNull())
    .addColumn('version', 'text', (c) => c.notNull())
    .addColumn('helm_chart_path', 'text', (c) => c.notNull())
    .addColumn('chart_version', 'text')
    .addColumn('default_values', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('values_schema', 'jsonb')
    .addColumn('tier', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addForeignKeyConstraint('product_template_version_template_id_fkey', ['template_id'], 'product_template', ['id'], (fk) =>
      fk.onDelete('restrict'),
    )
    .addUniqueConstraint('product_template_version_template_version_key', ['template_id', 'version'])
    .addCheckConstraint('product_template_version_default_values_check', sql`jsonb_typeof(default_values) = 'object'`)
    .addCheckConstraint(
      'product_template_version_values_schema_check',
      sql`values_schema is null or jsonb_typeof(values_schema) = 'object'`,
    )
    .execute();

  // Versions are immutable once created: instances pin them, and a changed
  // chart under an unchanged version would redeploy every instance silently.
  // The repository offers no update; this trigger makes the rule hold for any
  // writer. SQLSTATE CAE01 is mapped to ImmutableRowError (src/db/map-error.ts).
  await sql`
    create function product_template_version_immutable() returns trigger language plpgsql as $$
    begin
      raise exception 'product_template_version % is immutable; publish a new version instead', old.id
        using errcode = 'CAE01';
    end
    $$`.execute(db);
  await sql`
    create trigger product_template_version_immutable before update on product_template_version
    for each row execute function product_template_version_immutable()`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('product_template_version').execute();
  await sql`drop function product_template_version_immutable()`.execute(db);
  await db.schema.dropTable('product_template').execute();
}
