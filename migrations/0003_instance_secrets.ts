// Per-instance secrets, encrypted with AES-256-GCM by the application
// (src/db/secret-box.ts); the database only ever sees ciphertext.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('instance_secret')
    .addColumn('instance_id', 'uuid', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('ciphertext', 'bytea', (c) => c.notNull())
    .addColumn('nonce', 'bytea', (c) => c.notNull())
    .addColumn('key_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('instance_secret_pkey', ['instance_id', 'name'])
    .addForeignKeyConstraint('instance_secret_instance_id_fkey', ['instance_id'], 'deployment_instance', ['id'], (fk) =>
      fk.onDelete('cascade'),
    )
    .addCheckConstraint('instance_secret_nonce_check', sql`octet_length(nonce) = 12`)
    .execute();
  // `caelus secrets rotate` looks for rows not yet under the newest key.
  await db.schema.createIndex('instance_secret_key_id_idx').on('instance_secret').column('key_id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('instance_secret').execute();
}
