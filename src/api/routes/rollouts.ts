// Fleet rollouts (admin only, DESIGN §5b): create a run, watch it, pause,
// resume, abort, approve after the canary, roll back; named strategies. The
// routes only write rows: the operator's rollout runner (leader-only) moves
// the runs along and edits instances' desired versions.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Kysely } from 'kysely';
import {
  activeRolloutOf,
  commandRollout,
  createRollout,
  deleteStrategy,
  getRollout,
  getStrategy,
  listRolloutInstances,
  listRollouts,
  listStrategies,
  saveStrategy,
  type Rollout,
  type RolloutCommand,
  type RolloutInstance,
  type SavedStrategy,
} from '../../db/repositories/rollouts.ts';
import type { Database } from '../../db/schema.ts';
import { countStates, planWaves, resolveStrategy } from '../../domain/rollout.ts';
import { principalOf, requireAdmin } from '../auth.ts';
import type { ApiDeps } from '../context.ts';
import { ApiProblem, ProblemType, notFound, unprocessable } from '../problems.ts';
import {
  createRolloutBody,
  listRolloutsQuery,
  rolloutDetailSchema,
  rolloutListSchema,
  rolloutParams,
  rolloutSchema,
  strategyListSchema,
  strategyParams,
  strategySchema,
  strategyViewSchema,
} from '../rollout-schemas.ts';
import { problems } from '../schemas.ts';
import { resolveVersionRef } from '../versions.ts';

/** A single-instance upgrade must not race a run that owns the instance: 409 naming the run. */
export async function assertNotInRollout(db: Kysely<Database>, instanceId: string): Promise<void> {
  const rollout = await activeRolloutOf(db, instanceId);
  if (rollout) {
    throw new ApiProblem(409, ProblemType.Conflict, `instance ${instanceId} is part of rollout ${rollout}; pause or abort that rollout, or wait for it, before upgrading the instance alone`, {
      extensions: { rolloutId: rollout },
    });
  }
}

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

function rolloutView(r: Rollout, rows: readonly RolloutInstance[]) {
  return {
    id: r.id,
    template: { id: r.templateId, name: r.templateName },
    targetVersion: { id: r.targetVersionId, version: r.targetVersion },
    state: r.state,
    strategy: r.strategy as unknown as Record<string, unknown>,
    strategyName: r.strategyName,
    selector: r.selector as Record<string, unknown>,
    includeHibernated: r.includeHibernated,
    currentWave: r.currentWave,
    waveCount: r.waveCount,
    counts: countStates(rows),
    total: rows.length,
    message: r.message,
    createdBy: r.createdBy,
    createdAt: r.createdAt.toISOString(),
    startedAt: iso(r.startedAt),
    finishedAt: iso(r.finishedAt),
    approvedAt: iso(r.approvedAt),
    rollbackRequestedAt: iso(r.rollbackRequestedAt),
  };
}

function detailView(r: Rollout, rows: readonly RolloutInstance[]) {
  return {
    ...rolloutView(r, rows),
    waves: planWaves(rows.filter((x) => x.wave !== null).length, r.strategy),
    instances: rows.map((x) => ({
      instanceId: x.instanceId,
      namespace: x.namespace,
      userId: x.userId,
      wave: x.wave,
      sourceVersion: { id: x.sourceVersionId, version: x.sourceVersion },
      state: x.state,
      reason: x.reason,
      beforeRevision: x.beforeRevision,
      startedAt: iso(x.startedAt),
      bakingSince: iso(x.bakingSince),
      finishedAt: iso(x.finishedAt),
      rollbackStartedAt: iso(x.rollbackStartedAt),
    })),
  };
}

function strategyView(s: SavedStrategy) {
  return { name: s.name, strategy: s.strategy as Record<string, unknown>, resolved: resolveStrategy(s.strategy).strategy as unknown as Record<string, unknown>, createdAt: s.createdAt.toISOString(), updatedAt: s.updatedAt.toISOString() };
}

function strategyProblem(violations: { field: string; message: string }[], base: string): ApiProblem {
  return new ApiProblem(422, ProblemType.Validation, `the strategy is inconsistent: ${violations.map((v) => `${v.field.slice(1)} ${v.message}`).join('; ')}`, {
    errors: violations.map((v) => ({ field: `${base}${v.field}`, message: v.message })),
  });
}

export const rolloutRoutes: FastifyPluginAsyncTypebox<{ deps: ApiDeps }> = async (app, { deps }) => {
  const { db } = deps;
  const tags = ['rollouts'];
  // Every route here is admin only; after the root auth hook, before validation (a tenant learns nothing from a 422).
  app.addHook('onRequest', async (request) => requireAdmin(principalOf(request)));

  app.post(
    '/rollouts',
    {
      schema: {
        tags,
        summary: 'start a fleet rollout to a template version: canary, growing waves, bake, failure budget (admin)',
        body: createRolloutBody,
        response: { 201: rolloutDetailSchema, ...problems(403, 404, 422) },
      },
    },
    async (request, reply) => {
      const p = principalOf(request);
      const body = request.body;
      const { template, version } = await resolveVersionRef(db, body.templateVersionId);
      let saved: SavedStrategy | undefined;
      if (body.strategyName !== undefined) {
        saved = await getStrategy(db, body.strategyName);
        if (!saved) throw unprocessable(ProblemType.Validation, '/body/strategyName', `names no saved strategy (${body.strategyName})`);
      }
      const { strategy, violations } = resolveStrategy(saved?.strategy, body.strategy);
      if (violations.length) throw strategyProblem(violations, '/body/strategy');
      const rollout = await createRollout(
        db,
        {
          templateId: template.id,
          targetVersionId: version.id,
          strategy,
          strategyName: saved?.name ?? null,
          selector: body.selector ?? {},
          includeHibernated: body.includeHibernated ?? false,
        },
        { actor: p.actor },
      );
      reply.header('location', `/rollouts/${rollout.id}`);
      return reply.code(201).send(detailView(rollout, await listRolloutInstances(db, rollout.id)));
    },
  );

  app.get(
    '/rollouts',
    { schema: { tags, summary: 'fleet rollouts, newest first, with counts per instance state (admin)', querystring: listRolloutsQuery, response: { 200: rolloutListSchema, ...problems(403) } } },
    async (request) => {
      const runs = await listRollouts(db, { limit: request.query.limit ?? 100 });
      return { items: await Promise.all(runs.map(async (r) => rolloutView(r, await listRolloutInstances(db, r.id)))) };
    },
  );

  app.get(
    '/rollouts/:id',
    {
      schema: { tags, summary: 'a rollout: state, current wave, counts, and every selected instance with its state, reason and times (admin)', params: rolloutParams, response: { 200: rolloutDetailSchema, ...problems(403, 404) } },
    },
    async (request) => {
      const r = await getRollout(db, request.params.id);
      if (!r) throw notFound(`rollout ${request.params.id}`);
      return detailView(r, await listRolloutInstances(db, r.id));
    },
  );

  const command = (name: RolloutCommand, summary: string, status: 200 | 202) =>
    app.post(
      `/rollouts/:id/${name}`,
      { schema: { tags, summary, params: rolloutParams, response: { [status]: rolloutSchema, ...problems(403, 404, 409) } } },
      async (request, reply) => {
        const r = await commandRollout(db, request.params.id, name, { actor: principalOf(request).actor });
        return reply.code(status).send(rolloutView(r, await listRolloutInstances(db, r.id)));
      },
    );
  command('pause', 'pause: upgrades in flight finish, nothing new starts (admin)', 200);
  command('resume', 'resume a paused rollout (admin)', 200);
  command('abort', 'abort: upgrades in flight finish, nothing new starts, the run ends Aborted (admin)', 200);
  command('approve', 'approve the waves after the canary (strategy approval: manual) (admin)', 200);
  command('rollback', 'roll back: every instance the run upgraded gets its source version back as desired state (admin)', 202);

  app.get('/rollout-strategies', { schema: { tags, summary: 'saved rollout strategies (admin)', response: { 200: strategyListSchema, ...problems(403) } } }, async () => ({
    items: (await listStrategies(db)).map(strategyView),
  }));

  app.get(
    '/rollout-strategies/:name',
    { schema: { tags, summary: 'a saved rollout strategy, as saved and resolved with the defaults (admin)', params: strategyParams, response: { 200: strategyViewSchema, ...problems(403, 404) } } },
    async (request) => {
      const s = await getStrategy(db, request.params.name);
      if (!s) throw notFound(`rollout strategy ${request.params.name}`);
      return strategyView(s);
    },
  );

  app.put(
    '/rollout-strategies/:name',
    { schema: { tags, summary: 'save (create or replace) a named rollout strategy (admin)', params: strategyParams, body: strategySchema, response: { 200: strategyViewSchema, ...problems(403, 422) } } },
    async (request) => {
      const { violations } = resolveStrategy(request.body);
      if (violations.length) throw strategyProblem(violations, '/body');
      return strategyView(await saveStrategy(db, request.params.name, request.body, { actor: principalOf(request).actor }));
    },
  );

  app.delete(
    '/rollout-strategies/:name',
    { schema: { tags, summary: 'delete a saved rollout strategy (runs keep the copy they started with) (admin)', params: strategyParams, response: { 204: { type: 'null' }, ...problems(403, 404) } } },
    async (request, reply) => {
      if (!(await deleteStrategy(db, request.params.name, { actor: principalOf(request).actor }))) throw notFound(`rollout strategy ${request.params.name}`);
      return reply.code(204).send(null);
    },
  );
};
