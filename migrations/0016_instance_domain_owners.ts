// Domains with owners (issue 14.4). A host name belongs to at most one live
// instance: a partial unique index, so a deleted instance's name becomes free
// again. A template version may list the domain suffixes its instances may
// use (`*.apps.example.com`, `{userId}.dev.example.com`); null = none declared
// (src/domain/naming.ts says what that allows).
// Creating the index fails if two live instances already share a domain:
// resolve that by hand (change or clear one of them) and run it again.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('product_template_version')
    .addColumn('domain_suffixes', 'jsonb', (c) => c.check(sql`domain_suffixes is null or jsonb_typeof(domain_suffixes) = 'array'`))
    .execute();
  await db.schema
    .createIndex('deployment_instance_domain_live_key')
    .on('deployment_instance')
    .column('domain_name')
    .unique()
    .where(sql.ref('deleted_at'), 'is', null)
    .where(sql.ref('domain_name'), 'is not', null)
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('deployment_instance_domain_live_key').execute();
  await db.schema.alterTable('product_template_version').dropColumn('domain_suffixes').execute();
}
