// Idle tracking and per-user quotas for the REST API.
// - deployment_instance.last_activity_at: the last time a client reported
//   activity (POST /instances/{id}/activity); idle hibernation compares it
//   with spec.idleTimeout. Null means "never reported".
// - user_quota: an admin's per-user override of the default maximum number of
//   live instances (CAELUS_MAX_INSTANCES_PER_USER).
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('deployment_instance').addColumn('last_activity_at', 'timestamptz').execute();
  await db.schema
    .createTable('user_quota')
    .addColumn('user_id', 'text', (c) => c.primaryKey())
    .addColumn('max_instances', 'integer', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('user_quota_max_instances_check', sql`max_instances >= 0`)
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('user_quota').execute();
  await db.schema.alterTable('deployment_instance').dropColumn('last_activity_at').execute();
}
