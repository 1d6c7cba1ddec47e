// deployment_instance_live_user_created_idx (0030: user_id, created_at, id over
// live rows) serves everything deployment_instance_user_id_idx (0002: user_id
// over live rows) served, the quota counts of every create included; one index
// less to update on every instance write.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('deployment_instance_user_id_idx').ifExists().execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('deployment_instance_user_id_idx').on('deployment_instance').column('user_id').where(sql.ref('deleted_at'), 'is', null).execute();
}
