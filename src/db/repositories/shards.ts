// Live instances per assigned shard (GET /shards, caelus_shard_instances).
import type { Kysely } from 'kysely';
import { translateErrors } from '../map-error.ts';
import type { Database } from '../schema.ts';

/** Live (not deleted) instances by deployment_instance.shard; null = unassigned (the default shard). */
export async function countInstancesByShard(db: Kysely<Database>): Promise<Array<{ shard: string | null; instances: number }>> {
  return translateErrors(async () => {
    const rows = await db
      .selectFrom('deployment_instance')
      .select((eb) => ['shard', eb.fn.countAll<string>().as('n')])
      .where('deleted_at', 'is', null)
      .groupBy('shard')
      .execute();
    return rows.map((r) => ({ shard: r.shard, instances: Number(r.n) }));
  });
}
