// instance_secret gains a version (1 on create, +1 on every put through the
// API or CLI) and updated_at, so `GET /instances/{id}/secrets` can say which
// value is current without ever showing one. Re-encryption by
// `caelus secrets rotate` changes neither: the value is the same.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('instance_secret')
    .addColumn('version', 'integer', (c) => c.notNull().defaultTo(1).check(sql`version >= 1`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await sql`update instance_secret set updated_at = created_at`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('instance_secret').dropColumn('version').dropColumn('updated_at').execute();
}
