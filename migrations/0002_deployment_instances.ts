// Deployment instances: one row per instance of a template version, the
// source of truth mirrored to a CaelusInstance CR (DESIGN §5).
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('deployment_instance')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('product_template_version_id', 'uuid', (c) => c.notNull())
    .addColumn('namespace', 'text', (c) => c.notNull())
    .addColumn('domain_name', 'text')
    .addColumn('values', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('state', 'text', (c) => c.notNull().defaultTo('Running'))
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('Pending'))
    .addColumn('status_message', 'text')
    .addColumn('spec_version', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('observed_spec_version', 'integer')
    .addColumn('helm_revision', 'integer')
    .addColumn('source', 'text', (c) => c.notNull().defaultTo('api'))
    .addColumn('last_reconcile_at', 'timestamptz')
    .addColumn('expires_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('deleted_at', 'timestamptz')
    .addForeignKeyConstraint('deployment_instance_version_fkey', ['product_template_version_id'], 'product_template_version', ['id'], (fk) =>
      fk.onDelete('restrict'),
    )
    .addCheckConstraint('deployment_instance_namespace_check', sql`namespace ~ '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$'`)
    .addCheckConstraint('deployment_instance_state_check', sql`state in ('Running', 'Hibernated')`)
    .addCheckConstraint('deployment_instance_source_check', sql`source in ('api', 'cluster')`)
    .addCheckConstraint('deployment_instance_values_check', sql`jsonb_typeof("values") = 'object'`)
    .addCheckConstraint('deployment_instance_spec_version_check', sql`spec_version >= 1`)
    .execute();

  // A namespace belongs to at most one live instance; a soft-deleted row keeps
  // its namespace for the record without blocking a new instance there.
  await db.schema
    .createIndex('deployment_instance_namespace_live_key')
    .on('deployment_instance')
    .column('namespace')
    .unique()
    .where(sql.ref('deleted_at'), 'is', null)
    .execute();
  // Listing by phase, oldest update first (stale instances, dashboards).
  await db.schema.createIndex('deployment_instance_status_updated_at_idx').on('deployment_instance').columns(['status', 'updated_at']).execute();
  // A tenant's instances.
  await db.schema.createIndex('deployment_instance_user_id_idx').on('deployment_instance').column('user_id').where(sql.ref('deleted_at'), 'is', null).execute();
  // The FK side: "which instances use this version" (upgrade campaigns, safe deletes).
  await db.schema.createIndex('deployment_instance_version_idx').on('deployment_instance').column('product_template_version_id').execute();
  // The TTL job scans only instances that expire.
  await db.schema
    .createIndex('deployment_instance_expires_at_idx')
    .on('deployment_instance')
    .column('expires_at')
    .where(sql<boolean>`expires_at is not null and deleted_at is null`)
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('deployment_instance').execute();
}
