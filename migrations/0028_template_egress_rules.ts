// Egress a template version's chart needs beyond its own namespace and DNS:
// NetworkPolicy egress rules, applied as caelus-template-egress next to the
// default-deny (issue 14 point 7). null = no extra egress.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('product_template_version').addColumn('egress_rules', 'jsonb').execute();
  await sql`alter table product_template_version add constraint product_template_version_egress_rules_check
    check (egress_rules is null or jsonb_typeof(egress_rules) = 'array')`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('product_template_version').dropColumn('egress_rules').execute();
}
