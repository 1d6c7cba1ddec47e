// Instance lists page in creation order (keyset on created_at, id) over live
// rows, for one tenant or for everyone. Without an index in that order every
// page sorts all of the owner's (or all) live rows; with one, a page reads
// limit + 1 index entries however many instances exist. The per-user one
// also serves what deployment_instance_user_id_idx served (quota counts), so
// that one goes: one index less to update on every write.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createIndex('deployment_instance_user_created_live_idx')
    .on('deployment_instance')
    .columns(['user_id', 'created_at', 'id'])
    .where(sql.ref('deleted_at'), 'is', null)
    .execute();
  await db.schema
    .createIndex('deployment_instance_created_live_idx')
    .on('deployment_instance')
    .columns(['created_at', 'id'])
    .where(sql.ref('deleted_at'), 'is', null)
    .execute();
  await db.schema.dropIndex('deployment_instance_user_id_idx').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('deployment_instance_user_id_idx').on('deployment_instance').column('user_id').where(sql.ref('deleted_at'), 'is', null).execute();
  await db.schema.dropIndex('deployment_instance_created_live_idx').execute();
  await db.schema.dropIndex('deployment_instance_user_created_live_idx').execute();
}
