// Fleet rollouts (DESIGN §5b): a run pins its target version, the instances it
// selected with each one's source version, and the strategy it runs with
// (resolved, every knob explicit), so a restarted or new leader resumes from
// these rows alone. Named strategies are saved separately and copied into a
// run when it is created: editing a strategy never changes a running run.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('rollout_strategy')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('strategy', 'jsonb', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('rollout')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('template_id', 'uuid', (c) => c.notNull().references('product_template.id'))
    .addColumn('target_version_id', 'uuid', (c) => c.notNull().references('product_template_version.id'))
    .addColumn('state', 'text', (c) =>
      c.notNull().defaultTo('Pending').check(sql`state in ('Pending', 'Running', 'Paused', 'Succeeded', 'Failed', 'Aborted', 'RolledBack')`),
    )
    .addColumn('strategy', 'jsonb', (c) => c.notNull())
    .addColumn('strategy_name', 'text')
    .addColumn('selector', 'jsonb', (c) => c.notNull())
    .addColumn('include_hibernated', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('current_wave', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('wave_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('approved_at', 'timestamptz')
    .addColumn('rollback_requested_at', 'timestamptz')
    .addColumn('message', 'text')
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('started_at', 'timestamptz')
    .addColumn('finished_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('rollout_state_idx').on('rollout').column('state').execute();

  await db.schema
    .createTable('rollout_instance')
    .addColumn('rollout_id', 'uuid', (c) => c.notNull().references('rollout.id').onDelete('cascade'))
    .addColumn('instance_id', 'uuid', (c) => c.notNull().references('deployment_instance.id'))
    .addColumn('position', 'integer', (c) => c.notNull())
    /** 1-based; null for instances that are in no wave (skipped, deferred). */
    .addColumn('wave', 'integer')
    .addColumn('source_version_id', 'uuid', (c) => c.notNull().references('product_template_version.id'))
    .addColumn('state', 'text', (c) =>
      c.notNull().check(sql`state in ('Pending', 'Upgrading', 'Baking', 'Succeeded', 'Failed', 'Skipped', 'Deferred', 'RolledBack')`),
    )
    .addColumn('reason', 'text')
    .addColumn('before_revision', 'integer')
    .addColumn('target_generation', 'integer')
    .addColumn('started_at', 'timestamptz')
    .addColumn('baking_since', 'timestamptz')
    .addColumn('finished_at', 'timestamptz')
    /** Set when the source version was written back (rollback); proof is awaited against it. */
    .addColumn('rollback_started_at', 'timestamptz')
    .addColumn('rollback_generation', 'integer')
    .addPrimaryKeyConstraint('rollout_instance_pk', ['rollout_id', 'instance_id'])
    .execute();
  await db.schema.createIndex('rollout_instance_instance_idx').on('rollout_instance').column('instance_id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('rollout_instance').execute();
  await db.schema.dropTable('rollout').execute();
  await db.schema.dropTable('rollout_strategy').execute();
}
