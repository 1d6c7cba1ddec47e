// Charts pulled once and pinned (DESIGN §5c), and the secrets a template
// version declares:
// - chart_package: every pulled chart package by its sha256, so any operator
//   replica can materialise it without reaching the registry again.
// - chart_credential: repository credentials (username/password sealed with
//   the same AES-256-GCM key ring as instance secrets; the CA certificate is
//   public and stored as text). A version references one by id; the chart
//   reference itself never carries credentials.
// - product_template_version: chart_digest (the package it is pinned to;
//   null for local development charts, which are hashed at every reconcile),
//   chart_credential_id, and secrets (the declared secrets, a JSON array).
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('chart_package')
    .addColumn('digest', 'text', (c) => c.primaryKey().check(sql`digest ~ '^sha256:[0-9a-f]{64}$'`))
    .addColumn('content', 'bytea', (c) => c.notNull())
    .addColumn('size', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema
    .createTable('chart_credential')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('ciphertext', 'bytea', (c) => c.notNull())
    .addColumn('nonce', 'bytea', (c) => c.notNull().check(sql`octet_length(nonce) = 12`))
    .addColumn('key_id', 'text', (c) => c.notNull())
    .addColumn('ca_cert', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema
    .alterTable('product_template_version')
    .addColumn('chart_digest', 'text', (c) => c.references('chart_package.digest'))
    .addColumn('chart_credential_id', 'uuid', (c) => c.references('chart_credential.id'))
    .addColumn('secrets', 'jsonb')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('product_template_version').dropColumn('chart_digest').dropColumn('chart_credential_id').dropColumn('secrets').execute();
  await db.schema.dropTable('chart_credential').execute();
  await db.schema.dropTable('chart_package').execute();
}
