// Namespaces kept after their instance was deleted with deletionPolicy Retain
// (issue 14.6). They still hold the tenant's volumes and objects, so they
// count toward the owner's instance quota until an admin releases them (after
// deleting the namespace), and no new instance may take their name meanwhile.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('retained_namespace')
    .addColumn('namespace', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('instance_id', 'uuid', (c) => c.notNull().references('deployment_instance.id'))
    .addColumn('retained_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('retained_namespace_user_id_idx').on('retained_namespace').column('user_id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('retained_namespace').execute();
}
