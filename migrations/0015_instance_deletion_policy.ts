// deployment_instance.deletion_policy: what deleting the instance does to its
// namespace, mirrored into CaelusInstance spec.deletionPolicy by the sync.
// `Delete` (the CRD's default too) removes the namespace with everything in it;
// `Retain` keeps the namespace and its PVCs after the release is uninstalled.
// Existing rows get `Delete`, which is what their CRs already defaulted to.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('deployment_instance')
    .addColumn('deletion_policy', 'text', (c) => c.notNull().defaultTo('Delete').check(sql`deletion_policy in ('Delete', 'Retain')`))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('deployment_instance').dropColumn('deletion_policy').execute();
}
