// The migrations in migrations/, in order. An explicit import map rather than
// kysely's FileMigrationProvider: it works unchanged under Node type stripping
// (.ts), the compiled build (.js) and jest, and a test checks it lists every
// file in migrations/ so none is forgotten.
import type { Migration, MigrationProvider } from 'kysely/migration';
import * as m0001 from '../../migrations/0001_product_templates.ts';
import * as m0002 from '../../migrations/0002_deployment_instances.ts';
import * as m0003 from '../../migrations/0003_instance_secrets.ts';
import * as m0004 from '../../migrations/0004_api_tokens.ts';
import * as m0005 from '../../migrations/0005_audit_events.ts';
import * as m0006 from '../../migrations/0006_idempotency_keys.ts';
import * as m0007 from '../../migrations/0007_template_guardrails.ts';
import * as m0010 from '../../migrations/0010_instance_activity_and_quotas.ts';
import * as m0013 from '../../migrations/0013_instance_sync.ts';
import * as m0014 from '../../migrations/0014_sync_notify_activity_and_secrets.ts';
import * as m0015 from '../../migrations/0015_instance_deletion_policy.ts';
import * as m0016 from '../../migrations/0016_instance_domain_owners.ts';
import * as m0017 from '../../migrations/0017_retained_namespaces.ts';
import * as m0018 from '../../migrations/0018_api_token_expiry.ts';
import * as m0020 from '../../migrations/0020_instance_secret_versions.ts';
import * as m0021 from '../../migrations/0021_chart_pins_and_declared_secrets.ts';
import * as m0024 from '../../migrations/0024_rollouts.ts';
import * as m0028 from '../../migrations/0028_template_egress_rules.ts';
import * as m0029 from '../../migrations/0029_instance_cr_uid.ts';
import * as m0030 from '../../migrations/0030_instance_list_and_change_events.ts';
import * as m0035 from '../../migrations/0035_instance_shard.ts';
import * as m0040 from '../../migrations/0040_drop_covered_user_index.ts';

export const MIGRATIONS: Readonly<Record<string, Migration>> = {
  '0001_product_templates': m0001,
  '0002_deployment_instances': m0002,
  '0003_instance_secrets': m0003,
  '0004_api_tokens': m0004,
  '0005_audit_events': m0005,
  '0006_idempotency_keys': m0006,
  '0007_template_guardrails': m0007,
  '0010_instance_activity_and_quotas': m0010,
  '0013_instance_sync': m0013,
  '0014_sync_notify_activity_and_secrets': m0014,
  '0015_instance_deletion_policy': m0015,
  '0016_instance_domain_owners': m0016,
  '0017_retained_namespaces': m0017,
  '0018_api_token_expiry': m0018,
  '0020_instance_secret_versions': m0020,
  '0021_chart_pins_and_declared_secrets': m0021,
  '0024_rollouts': m0024,
  '0028_template_egress_rules': m0028,
  '0029_instance_cr_uid': m0029,
  '0030_instance_list_and_change_events': m0030,
  '0035_instance_shard': m0035,
  '0040_drop_covered_user_index': m0040,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => ({ ...MIGRATIONS }),
};
