// API tokens: only a sha256 of each token is stored (src/db/repositories/tokens.ts says why not bcrypt).
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('api_token')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text')
    .addColumn('token_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_used_at', 'timestamptz')
    .addColumn('revoked_at', 'timestamptz')
    .addUniqueConstraint('api_token_token_hash_key', ['token_hash'])
    .addCheckConstraint('api_token_role_check', sql`role in ('admin', 'user')`)
    .addCheckConstraint('api_token_user_id_check', sql`role <> 'user' or user_id is not null`)
    .addCheckConstraint('api_token_token_hash_check', sql`token_hash ~ '^[0-9a-f]{64}$'`)
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('api_token').execute();
}
