// Upgrades and lifecycle actions on one instance. They only change the row:
// the sync carries the change to the CR and the operator acts on it; status
// (Upgrading → Running, Hibernated) comes back the same way.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { updateInstanceSpec } from '../../db/repositories/instances.ts';
import { recordInstanceActivity } from '../../db/repositories/tenant-instances.ts';
import { InstanceState } from '../../domain/instance.ts';
import { requireAdmin } from '../auth.ts';
import type { ApiDeps } from '../context.ts';
import { ProblemType, unprocessable } from '../problems.ts';
import { idParams, instanceSchema, problems, upgradeBody } from '../schemas.ts';
import semver from 'semver';
import { resolveVersionRef } from '../versions.ts';
import { instanceView } from '../views.ts';
import { assertApiManaged, rereadInstance, visibleInstance } from './access.ts';
import { assertNotInRollout } from './rollouts.ts';

export const lifecycleRoutes: FastifyPluginAsyncTypebox<{ deps: ApiDeps }> = async (app, { deps }) => {
  const { db } = deps;
  const tags = ['lifecycle'];

  app.post(
    '/instances/:id/upgrade',
    {
      schema: {
        tags,
        summary: 'move an instance to another version of its template (admin; downgrades need allowDowngrade)',
        params: idParams,
        body: upgradeBody,
        response: { 202: instanceSchema, 200: instanceSchema, ...problems(403, 404, 409, 422) },
      },
    },
    async (request, reply) => {
      // Visibility first: a tenant probing another tenant's id learns nothing (404), only then the role (403).
      const { principal, instance } = await visibleInstance(db, request);
      requireAdmin(principal);
      assertApiManaged(instance);
      await assertNotInRollout(db, instance.id);
      const body = request.body;
      const target = await resolveVersionRef(db, body.templateVersionId);
      if (target.template.id !== instance.templateId) {
        throw unprocessable(
          ProblemType.UpgradeRefused,
          '/body/templateVersionId',
          `is a version of template ${target.template.name}, but the instance runs template ${instance.templateName}`,
        );
      }
      if (target.version.id === instance.productTemplateVersionId) return reply.code(200).send(instanceView(instance));
      if (semver.lt(target.version.version, instance.templateVersion) && body.allowDowngrade !== true) {
        throw unprocessable(
          ProblemType.UpgradeRefused,
          '/body/templateVersionId',
          `${target.version.version} is older than the current ${instance.templateVersion}; send allowDowngrade: true to downgrade`,
        );
      }
      // expectedSpecVersion: the checks above were made against this spec; a concurrent change makes it a 409.
      await updateInstanceSpec(
        db,
        instance.id,
        { productTemplateVersionId: target.version.id },
        { actor: principal.actor, expectedSpecVersion: instance.specVersion },
      );
      return reply.code(202).send(instanceView(await rereadInstance(db, instance.id, principal)));
    },
  );

  const stateRoute = (path: string, state: InstanceState, summary: string) =>
    app.post(path, { schema: { tags, summary, params: idParams, response: { 200: instanceSchema, 202: instanceSchema, ...problems(404, 409) } } }, async (request, reply) => {
      const { principal, instance } = await visibleInstance(db, request);
      assertApiManaged(instance);
      // Already there: nothing to write, nothing for the operator to do.
      if (instance.state === state) return reply.code(200).send(instanceView(instance));
      await updateInstanceSpec(db, instance.id, { state }, { actor: principal.actor });
      return reply.code(202).send(instanceView(await rereadInstance(db, instance.id, principal)));
    });
  stateRoute('/instances/:id/hibernate', InstanceState.Hibernated, 'hibernate: scale the release to zero');
  stateRoute('/instances/:id/wake', InstanceState.Running, 'wake: restore the replicas');

  app.post(
    '/instances/:id/activity',
    { schema: { tags, summary: 'report activity now (idle tracking)', params: idParams, response: { 200: instanceSchema, ...problems(404) } } },
    async (request) => {
      const { principal, instance } = await visibleInstance(db, request);
      return instanceView(await recordInstanceActivity(db, instance.id, { actor: principal.actor }));
    },
  );
};
