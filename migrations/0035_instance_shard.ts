// deployment_instance.shard: the shard (caelus.io/shard, src/domain/shard.ts)
// an instance was assigned to when the API created it, so the sync of that
// shard finds its rows before their CR exists and after it was deleted. Null:
// the default shard (rows from before sharding, installs without it). The
// CR's label stays what the operators go by; the sync makes the row follow
// an admin's relabelling.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('deployment_instance').addColumn('shard', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('deployment_instance').dropColumn('shard').execute();
}
