// deployment_instance.cr_uid: metadata.uid of the CaelusInstance the row is
// bound to, recorded by the sync the first time it creates, adopts or meets
// the row's CR. From then on only that very object is the row's CR: another
// CR that names the row in its caelus.io/instance-id annotation (a copy, or a
// tenant's forgery) is refused by the sync and gets none of the row's secrets
// (src/db/repositories/instance-sync.ts, bindingMismatch). Null until then:
// the row's namespace and owner must still agree with the CR's spec.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('deployment_instance').addColumn('cr_uid', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('deployment_instance').dropColumn('cr_uid').execute();
}
