// rollout, rollout_instance and rollout_strategy (migration 0024). Creating a
// run selects its instances and records each one's source version, wave and,
// for those left out, the reason, in one transaction with its audit row. The
// runner (src/rollout) reads and advances runs only through this module.
import { sql, type Kysely, type Selectable, type Updateable } from 'kysely';
import semverCompare from 'semver/functions/compare.js';
import {
  ACTIVE_ROLLOUT_STATES,
  IN_FLIGHT,
  RolloutInstanceState,
  RolloutState,
  classify,
  waveOfPositions,
  type RolloutStrategy,
} from '../../domain/rollout.ts';
import { ConflictError, NotFoundError } from '../errors.ts';
import { jsonb } from '../json.ts';
import { translateErrors } from '../map-error.ts';
import type { Database, JsonObject, RolloutInstanceTable, RolloutTable } from '../schema.ts';
import { text, uuid } from '../validate.ts';
import { recordAudit } from './audit.ts';

export interface RolloutSelector {
  fromVersions?: string[];
  userIds?: string[];
  instanceIds?: string[];
}

export interface Rollout {
  id: string;
  templateId: string;
  templateName: string;
  targetVersionId: string;
  targetVersion: string;
  targetChartVersion: string | null;
  state: RolloutState;
  strategy: RolloutStrategy;
  strategyName: string | null;
  selector: RolloutSelector;
  includeHibernated: boolean;
  currentWave: number;
  waveCount: number;
  approvedAt: Date | null;
  rollbackRequestedAt: Date | null;
  message: string | null;
  createdBy: string;
  createdAt: Date;
  updatedAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

export interface RolloutInstance {
  rolloutId: string;
  instanceId: string;
  namespace: string;
  userId: string;
  position: number;
  wave: number | null;
  sourceVersionId: string;
  sourceVersion: string;
  state: RolloutInstanceState;
  reason: string | null;
  beforeRevision: number | null;
  targetGeneration: number | null;
  startedAt: Date | null;
  bakingSince: Date | null;
  finishedAt: Date | null;
  rollbackStartedAt: Date | null;
  rollbackGeneration: number | null;
}

export interface NewRollout {
  templateId: string;
  targetVersionId: string;
  strategy: RolloutStrategy;
  strategyName?: string | null;
  selector: RolloutSelector;
  includeHibernated: boolean;
}

const semverOrder = (a: string, b: string): number => {
  try {
    return semverCompare(a, b);
  } catch {
    // Not semver (the catalog validates versions; be safe anyway): only equality is known.
    return a === b ? 0 : -1;
  }
};

function rolloutQuery(db: Kysely<Database>) {
  return db
    .selectFrom('rollout as r')
    .innerJoin('product_template_version as v', 'v.id', 'r.target_version_id')
    .innerJoin('product_template as t', 't.id', 'r.template_id')
    .selectAll('r')
    .select(['v.version as target_version', 'v.chart_version as target_chart_version', 't.name as template_name']);
}

type RolloutRow = Selectable<RolloutTable> & { target_version: string; target_chart_version: string | null; template_name: string };

function toRollout(r: RolloutRow): Rollout {
  return {
    id: r.id,
    templateId: r.template_id,
    templateName: r.template_name,
    targetVersionId: r.target_version_id,
    targetVersion: r.target_version,
    targetChartVersion: r.target_chart_version,
    state: r.state as RolloutState,
    strategy: r.strategy as unknown as RolloutStrategy,
    strategyName: r.strategy_name,
    selector: r.selector as unknown as RolloutSelector,
    includeHibernated: r.include_hibernated,
    currentWave: r.current_wave,
    waveCount: r.wave_count,
    approvedAt: r.approved_at,
    rollbackRequestedAt: r.rollback_requested_at,
    message: r.message,
    createdBy: r.created_by,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
  };
}

/**
 * Creates a run: every live instance of the template that the selector
 * matches is listed, with its wave or the reason it is left out. An instance
 * already waiting or upgrading in another active run is listed as Skipped.
 */
export async function createRollout(db: Kysely<Database>, input: NewRollout, opts: { actor: string }): Promise<Rollout> {
  const templateId = uuid('templateId', input.templateId);
  const targetVersionId = uuid('targetVersionId', input.targetVersionId);
  const now = new Date();
  return translateErrors(() =>
    db.transaction().execute(async (trx) => {
      const target = await trx.selectFrom('product_template_version').select(['id', 'version', 'template_id']).where('id', '=', targetVersionId).executeTakeFirst();
      if (!target || target.template_id !== templateId) throw new NotFoundError('template version', { id: targetVersionId, templateId });
      let q = trx
        .selectFrom('deployment_instance as i')
        .innerJoin('product_template_version as v', 'v.id', 'i.product_template_version_id')
        .select(['i.id', 'i.source', 'i.state', 'i.expires_at', 'i.product_template_version_id', 'v.version'])
        .where('v.template_id', '=', templateId)
        .where('i.deleted_at', 'is', null)
        .orderBy('i.created_at')
        .orderBy('i.id');
      const sel = input.selector;
      if (sel.fromVersions?.length) q = q.where('v.version', 'in', sel.fromVersions);
      if (sel.userIds?.length) q = q.where('i.user_id', 'in', sel.userIds);
      if (sel.instanceIds?.length) q = q.where('i.id', 'in', sel.instanceIds.map((id, i) => uuid(`selector.instanceIds[${i}]`, id)));
      const candidates = await q.execute();
      const busy = new Map(
        (
          await trx
            .selectFrom('rollout_instance as ri')
            .innerJoin('rollout as r', 'r.id', 'ri.rollout_id')
            .select(['ri.instance_id', 'r.id'])
            .where('r.state', 'in', [...ACTIVE_ROLLOUT_STATES])
            .where('ri.state', 'in', [RolloutInstanceState.Pending, ...IN_FLIGHT, RolloutInstanceState.Deferred])
            .execute()
        ).map((b) => [b.instance_id, b.id]),
      );

      const selections = candidates.map((c) => {
        const other = busy.get(c.id);
        if (other) return { state: RolloutInstanceState.Skipped, reason: `in active rollout ${other}` } as const;
        return classify(
          {
            source: c.source,
            state: c.state,
            versionVsTarget: semverOrder(c.version, target.version),
            expiresAt: c.expires_at,
            deleted: false,
          },
          { includeHibernated: input.includeHibernated, now },
        );
      });
      const pendingCount = selections.filter((s) => s.state === RolloutInstanceState.Pending).length;
      const waves = waveOfPositions(pendingCount, input.strategy);

      const created = await trx
        .insertInto('rollout')
        .values({
          template_id: templateId,
          target_version_id: targetVersionId,
          state: RolloutState.Pending,
          strategy: jsonb(input.strategy),
          strategy_name: input.strategyName ?? null,
          selector: jsonb(sel),
          include_hibernated: input.includeHibernated,
          wave_count: waves.at(-1) ?? 0,
          created_by: opts.actor,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      let next = 0;
      const rows = candidates.map((c, position) => {
        const s = selections[position]!;
        return {
          rollout_id: created.id,
          instance_id: c.id,
          position,
          wave: s.state === RolloutInstanceState.Pending ? waves[next++]! : null,
          source_version_id: c.product_template_version_id,
          state: s.state,
          reason: 'reason' in s ? s.reason : null,
          finished_at: s.state === RolloutInstanceState.Skipped ? now : null,
        };
      });
      for (let i = 0; i < rows.length; i += 500) await trx.insertInto('rollout_instance').values(rows.slice(i, i + 500)).execute();
      await recordAudit(trx, {
        actor: opts.actor,
        action: 'rollout.create',
        detail: { rolloutId: created.id, templateId, targetVersionId, selected: rows.length, waved: pendingCount, strategy: input.strategy as unknown as JsonObject },
      });
      return toRollout((await rolloutQuery(trx).where('r.id', '=', created.id).executeTakeFirstOrThrow()));
    }),
  );
}

export async function getRollout(db: Kysely<Database>, id: string): Promise<Rollout | undefined> {
  const key = uuid('id', id);
  return translateErrors(async () => {
    const row = await rolloutQuery(db).where('r.id', '=', key).executeTakeFirst();
    return row && toRollout(row);
  });
}

export async function listRollouts(db: Kysely<Database>, opts: { limit?: number } = {}): Promise<Rollout[]> {
  return translateErrors(async () =>
    (await rolloutQuery(db).orderBy('r.created_at', 'desc').orderBy('r.id').limit(opts.limit ?? 100).execute()).map((r) => toRollout(r)),
  );
}

/** Runs the runner still has work in: active ones, and ended ones with pending, in-flight, deferred or rollback work left. */
export async function listWorkingRollouts(db: Kysely<Database>): Promise<Rollout[]> {
  return translateErrors(async () =>
    (
      await rolloutQuery(db)
        .where((eb) =>
          eb.or([
            eb('r.state', 'in', [...ACTIVE_ROLLOUT_STATES]),
            eb.and([eb('r.rollback_requested_at', 'is not', null), eb('r.state', '!=', RolloutState.RolledBack)]),
            eb.exists(
              eb
                .selectFrom('rollout_instance as ri')
                .select(sql`1`.as('one'))
                .whereRef('ri.rollout_id', '=', 'r.id')
                // Pending rows of an ended run are still to be listed as not reached (or, in a Succeeded run, woken instances to upgrade).
                .where('ri.state', 'in', [RolloutInstanceState.Pending, ...IN_FLIGHT, RolloutInstanceState.Deferred]),
            ),
          ]),
        )
        .orderBy('r.created_at')
        .execute()
    ).map((r) => toRollout(r)),
  );
}

export async function listRolloutInstances(db: Kysely<Database>, rolloutId: string): Promise<RolloutInstance[]> {
  const key = uuid('rolloutId', rolloutId);
  return translateErrors(async () =>
    (
      await db
        .selectFrom('rollout_instance as ri')
        .innerJoin('deployment_instance as i', 'i.id', 'ri.instance_id')
        .innerJoin('product_template_version as v', 'v.id', 'ri.source_version_id')
        .selectAll('ri')
        .select(['i.namespace', 'i.user_id', 'v.version as source_version'])
        .where('ri.rollout_id', '=', key)
        .orderBy('ri.position')
        .execute()
    ).map((r) => ({
      rolloutId: r.rollout_id,
      instanceId: r.instance_id,
      namespace: r.namespace,
      userId: r.user_id,
      position: r.position,
      wave: r.wave,
      sourceVersionId: r.source_version_id,
      sourceVersion: r.source_version,
      state: r.state as RolloutInstanceState,
      reason: r.reason,
      beforeRevision: r.before_revision,
      targetGeneration: r.target_generation,
      startedAt: r.started_at,
      bakingSince: r.baking_since,
      finishedAt: r.finished_at,
      rollbackStartedAt: r.rollback_started_at,
      rollbackGeneration: r.rollback_generation,
    })),
  );
}

export type RolloutPatch = Pick<Updateable<RolloutTable>, 'state' | 'current_wave' | 'message' | 'started_at' | 'finished_at'>;

/** Advances a run (the runner); `from`: only if it is still in one of these states (an API pause/abort wins the race). */
export async function updateRollout(db: Kysely<Database>, id: string, patch: RolloutPatch, opts: { from?: readonly RolloutState[] } = {}): Promise<boolean> {
  return translateErrors(async () => {
    let q = db
      .updateTable('rollout')
      .set({ ...patch, updated_at: new Date() })
      .where('id', '=', uuid('id', id));
    if (opts.from) q = q.where('state', 'in', [...opts.from]);
    const r = await q.executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  });
}

export type RolloutInstancePatch = Omit<Updateable<RolloutInstanceTable>, 'rollout_id' | 'instance_id' | 'position' | 'source_version_id'>;

export async function updateRolloutInstance(db: Kysely<Database>, rolloutId: string, instanceId: string, patch: RolloutInstancePatch): Promise<void> {
  await translateErrors(() =>
    db.updateTable('rollout_instance').set(patch).where('rollout_id', '=', uuid('rolloutId', rolloutId)).where('instance_id', '=', uuid('instanceId', instanceId)).execute(),
  );
}

/** What an admin may ask of a run, and from which states. */
export const ROLLOUT_COMMANDS = {
  pause: { from: [RolloutState.Pending, RolloutState.Running], to: RolloutState.Paused },
  resume: { from: [RolloutState.Paused], to: RolloutState.Running },
  abort: { from: [RolloutState.Pending, RolloutState.Running, RolloutState.Paused], to: RolloutState.Aborted },
  approve: { from: [RolloutState.Pending, RolloutState.Running, RolloutState.Paused], to: undefined },
  rollback: { from: [RolloutState.Running, RolloutState.Paused, RolloutState.Succeeded, RolloutState.Failed, RolloutState.Aborted], to: undefined },
} as const satisfies Record<string, { from: readonly RolloutState[]; to: RolloutState | undefined }>;
export type RolloutCommand = keyof typeof ROLLOUT_COMMANDS;

/** Applies an admin command (audited); a command the run's state does not allow is a ConflictError naming the state. */
export async function commandRollout(db: Kysely<Database>, id: string, command: RolloutCommand, opts: { actor: string }): Promise<Rollout> {
  const key = uuid('id', id);
  const rule = ROLLOUT_COMMANDS[command];
  return translateErrors(() =>
    db.transaction().execute(async (trx) => {
      const current = await trx.selectFrom('rollout').select(['state', 'rollback_requested_at']).where('id', '=', key).forUpdate().executeTakeFirst();
      if (!current) throw new NotFoundError('rollout', { id: key });
      if (!(rule.from as readonly string[]).includes(current.state) || (command === 'rollback' && current.rollback_requested_at)) {
        throw new ConflictError(`cannot ${command} a rollout that is ${current.state}${current.rollback_requested_at ? ' (rollback already requested)' : ''}`, {
          id: key,
          state: current.state,
        });
      }
      const now = new Date();
      await trx
        .updateTable('rollout')
        .set({
          updated_at: now,
          ...(rule.to ? { state: rule.to } : {}),
          ...(command === 'approve' ? { approved_at: now } : {}),
          ...(command === 'rollback' ? { rollback_requested_at: now } : {}),
          ...(command === 'abort' ? { finished_at: now } : {}),
        })
        .where('id', '=', key)
        .execute();
      await recordAudit(trx, { actor: opts.actor, action: `rollout.${command}`, detail: { rolloutId: key, from: current.state } });
      return toRollout((await rolloutQuery(trx).where('r.id', '=', key).executeTakeFirstOrThrow()));
    }),
  );
}

/** The active run an instance is waiting or upgrading in, if any (a single-instance upgrade must not race it). */
export async function activeRolloutOf(db: Kysely<Database>, instanceId: string): Promise<string | undefined> {
  const key = uuid('instanceId', instanceId);
  return translateErrors(async () => {
    const row = await db
      .selectFrom('rollout_instance as ri')
      .innerJoin('rollout as r', 'r.id', 'ri.rollout_id')
      .select('r.id')
      .where('ri.instance_id', '=', key)
      .where((eb) => eb.or([eb('r.state', 'in', [...ACTIVE_ROLLOUT_STATES]).and('ri.state', 'in', [RolloutInstanceState.Pending, ...IN_FLIGHT]), eb('ri.state', 'in', [...IN_FLIGHT])]))
      .executeTakeFirst();
    return row?.id;
  });
}

// ---- named strategies -------------------------------------------------------

export interface SavedStrategy {
  id: string;
  name: string;
  strategy: Partial<RolloutStrategy>;
  createdAt: Date;
  updatedAt: Date;
}

const STRATEGY_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

function toSaved(r: { id: string; name: string; strategy: unknown; created_at: Date; updated_at: Date }): SavedStrategy {
  return { id: r.id, name: r.name, strategy: r.strategy as Partial<RolloutStrategy>, createdAt: r.created_at, updatedAt: r.updated_at };
}

/** Creates or replaces the strategy `name` (audited). */
export async function saveStrategy(db: Kysely<Database>, name: string, strategy: Partial<RolloutStrategy>, opts: { actor: string }): Promise<SavedStrategy> {
  const key = text('name', name, { max: 63, pattern: STRATEGY_NAME, patternHint: 'must be a lower-case DNS label' });
  return translateErrors(() =>
    db.transaction().execute(async (trx) => {
      const row = await trx
        .insertInto('rollout_strategy')
        .values({ name: key, strategy: jsonb(strategy) })
        .onConflict((oc) => oc.column('name').doUpdateSet({ strategy: jsonb(strategy), updated_at: new Date() }))
        .returningAll()
        .executeTakeFirstOrThrow();
      await recordAudit(trx, { actor: opts.actor, action: 'rollout.strategy.save', detail: { name: key, strategy: strategy as unknown as JsonObject } });
      return toSaved(row);
    }),
  );
}

export async function getStrategy(db: Kysely<Database>, name: string): Promise<SavedStrategy | undefined> {
  return translateErrors(async () => {
    const row = await db.selectFrom('rollout_strategy').selectAll().where('name', '=', text('name', name, { max: 63 })).executeTakeFirst();
    return row && toSaved(row);
  });
}

export async function listStrategies(db: Kysely<Database>): Promise<SavedStrategy[]> {
  return translateErrors(async () => (await db.selectFrom('rollout_strategy').selectAll().orderBy('name').execute()).map(toSaved));
}

export async function deleteStrategy(db: Kysely<Database>, name: string, opts: { actor: string }): Promise<boolean> {
  return translateErrors(() =>
    db.transaction().execute(async (trx) => {
      const r = await trx.deleteFrom('rollout_strategy').where('name', '=', text('name', name, { max: 63 })).executeTakeFirst();
      const gone = Number(r.numDeletedRows) > 0;
      if (gone) await recordAudit(trx, { actor: opts.actor, action: 'rollout.strategy.delete', detail: { name } });
      return gone;
    }),
  );
}
