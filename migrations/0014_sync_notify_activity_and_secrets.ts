// Two more reasons for the sync (src/sync) to look at an instance at once
// rather than at its next sweep, on the same `caelus_instances` channel:
// - last_activity_at moved (POST /instances/{id}/activity): the sync copies it
//   to the CR annotation caelus.io/last-activity that the idle job reads. The
//   sync throttles the patches (CAELUS_SYNC_ACTIVITY_SECONDS); a notification
//   only costs it a cached lookup and a row read.
// - an instance_secret row was written or deleted (put, rotation, key
//   re-encryption): the sync stamps the new fingerprint on the CR, which makes
//   the operator reconcile and roll the namespace Secret.
// Status copies and synced_spec writes still do not notify (see 0013).
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create or replace function caelus_notify_instance_change() returns trigger language plpgsql as $$
    begin
      if tg_op = 'UPDATE'
         and new.spec_version = old.spec_version
         and new.deleted_at is not distinct from old.deleted_at
         and new.last_activity_at is not distinct from old.last_activity_at then
        return null;
      end if;
      perform pg_notify('caelus_instances', new.id::text);
      return null;
    end
    $$
  `.execute(db);
  await sql`
    create function caelus_notify_instance_secret_change() returns trigger language plpgsql as $$
    begin
      perform pg_notify('caelus_instances', (case when tg_op = 'DELETE' then old.instance_id else new.instance_id end)::text);
      return null;
    end
    $$
  `.execute(db);
  await sql`
    create trigger instance_secret_notify
    after insert or update or delete on instance_secret
    for each row execute function caelus_notify_instance_secret_change()
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop trigger if exists instance_secret_notify on instance_secret`.execute(db);
  await sql`drop function if exists caelus_notify_instance_secret_change()`.execute(db);
  await sql`
    create or replace function caelus_notify_instance_change() returns trigger language plpgsql as $$
    begin
      if tg_op = 'UPDATE'
         and new.spec_version = old.spec_version
         and new.deleted_at is not distinct from old.deleted_at then
        return null;
      end if;
      perform pg_notify('caelus_instances', new.id::text);
      return null;
    end
    $$
  `.execute(db);
}
