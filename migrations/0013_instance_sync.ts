// DB ↔ CR sync (DESIGN §5):
// - deployment_instance.synced_spec: the mapped spec last pushed to (or
//   imported from) the CaelusInstance. Comparing the CR with it tells a
//   foreign edit (kubectl, GitOps) from our own push, and both-sides-changed
//   (a conflict) from a plain DB change. Null = never synced.
// - a trigger that NOTIFYs `caelus_instances` with the row id when a row is
//   inserted or its spec / deletion changes, so the sync reacts within a
//   second instead of at the next sweep. Status copies (recordInstanceStatus)
//   and synced_spec writes do not notify: they never need a push, and
//   notifying them would wake the sync once more for every write it makes.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('deployment_instance').addColumn('synced_spec', 'jsonb').execute();
  await sql`
    create function caelus_notify_instance_change() returns trigger language plpgsql as $$
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
  await sql`
    create trigger deployment_instance_notify
    after insert or update on deployment_instance
    for each row execute function caelus_notify_instance_change()
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop trigger if exists deployment_instance_notify on deployment_instance`.execute(db);
  await sql`drop function if exists caelus_notify_instance_change()`.execute(db);
  await db.schema.alterTable('deployment_instance').dropColumn('synced_spec').execute();
}
