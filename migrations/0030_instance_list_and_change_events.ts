// The web console (issue 16):
// - keyset indexes for GET /instances sorted by creation (both directions,
//   with and without an owner), update time, or phase; live rows only, like
//   every list. Namespace order already has deployment_instance_namespace_live_key.
// - a second notification channel, `caelus_instance_events`, for the API's
//   change stream (GET /changes). Unlike `caelus_instances` (the sync's wake-up
//   call, 0013/0014) it fires on what a person watching the instance sees
//   change: status copies included, so the sync never listens to it. The
//   payload carries the event itself (id, owner and the visible fields), so
//   fanning it out to streams costs no query; updated_at alone (a status copy
//   that changed nothing) does not notify.
import { sql, type Kysely } from 'kysely';

const LIVE = sql<boolean>`deleted_at is null`;

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('deployment_instance_live_created_idx').on('deployment_instance').columns(['created_at', 'id']).where(LIVE).execute();
  await db.schema.createIndex('deployment_instance_live_user_created_idx').on('deployment_instance').columns(['user_id', 'created_at', 'id']).where(LIVE).execute();
  await db.schema.createIndex('deployment_instance_live_updated_idx').on('deployment_instance').columns(['updated_at', 'id']).where(LIVE).execute();
  await db.schema.createIndex('deployment_instance_live_status_idx').on('deployment_instance').columns(['status', 'id']).where(LIVE).execute();
  await sql`
    create function caelus_notify_instance_event() returns trigger language plpgsql as $$
    begin
      if tg_op = 'UPDATE'
         and new.status is not distinct from old.status
         and new.status_message is not distinct from old.status_message
         and new.state is not distinct from old.state
         and new.spec_version is not distinct from old.spec_version
         and new.observed_spec_version is not distinct from old.observed_spec_version
         and new.helm_revision is not distinct from old.helm_revision
         and new.deleted_at is not distinct from old.deleted_at then
        return null;
      end if;
      perform pg_notify('caelus_instance_events', json_build_object(
        'id', new.id,
        'userId', new.user_id,
        'status', new.status,
        'state', new.state,
        'specVersion', new.spec_version,
        'observedSpecVersion', new.observed_spec_version,
        'helmRevision', new.helm_revision,
        'updatedAt', new.updated_at,
        'deleted', new.deleted_at is not null
      )::text);
      return null;
    end
    $$
  `.execute(db);
  await sql`
    create trigger deployment_instance_event_notify
    after insert or update on deployment_instance
    for each row execute function caelus_notify_instance_event()
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop trigger if exists deployment_instance_event_notify on deployment_instance`.execute(db);
  await sql`drop function if exists caelus_notify_instance_event()`.execute(db);
  for (const name of ['deployment_instance_live_created_idx', 'deployment_instance_live_user_created_idx', 'deployment_instance_live_updated_idx', 'deployment_instance_live_status_idx']) {
    await db.schema.dropIndex(name).ifExists().execute();
  }
}
