// Tenant guardrails a template version declares: the Pod Security level of
// its namespaces, extra NetworkPolicy ingress rules, and the tiers an
// instance may pick instead of the version's own (spec.tier).
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('product_template_version')
    // null = restricted, the safe default; only an admin publishing the version can lower it.
    .addColumn('pod_security', 'text')
    .addColumn('network_rules', 'jsonb')
    .addColumn('allowed_tiers', 'jsonb')
    .execute();
  await sql`alter table product_template_version add constraint product_template_version_pod_security_check
    check (pod_security is null or pod_security in ('restricted', 'baseline'))`.execute(db);
  await sql`alter table product_template_version add constraint product_template_version_network_rules_check
    check (network_rules is null or jsonb_typeof(network_rules) = 'array')`.execute(db);
  await sql`alter table product_template_version add constraint product_template_version_allowed_tiers_check
    check (allowed_tiers is null or jsonb_typeof(allowed_tiers) = 'array')`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('product_template_version')
    .dropColumn('pod_security')
    .dropColumn('network_rules')
    .dropColumn('allowed_tiers')
    .execute();
}
