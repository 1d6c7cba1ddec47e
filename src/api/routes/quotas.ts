// Per-user instance quotas (admin): the default comes from
// CAELUS_MAX_INSTANCES_PER_USER, an override per user from user_quota.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { setUserQuota, userQuota } from '../../db/repositories/tenant-instances.ts';
import { principalOf, requireAdmin } from '../auth.ts';
import type { ApiDeps } from '../context.ts';
import { problems, quotaBody, quotaParams, quotaSchema } from '../schemas.ts';

export const quotaRoutes: FastifyPluginAsyncTypebox<{ deps: ApiDeps }> = async (app, { deps }) => {
  const tags = ['quotas'];
  app.get(
    '/users/:userId/quota',
    { schema: { tags, summary: "a user's instance quota and usage (admin)", params: quotaParams, response: { 200: quotaSchema, ...problems(403) } } },
    async (request) => {
      requireAdmin(principalOf(request));
      const { userId } = request.params;
      return { userId, ...(await userQuota(deps.db, userId, deps.maxInstancesPerUser)) };
    },
  );
  app.put(
    '/users/:userId/quota',
    {
      schema: { tags, summary: "set (or with null remove) a user's quota override (admin)", params: quotaParams, body: quotaBody, response: { 200: quotaSchema, ...problems(403) } },
    },
    async (request) => {
      const p = principalOf(request);
      requireAdmin(p);
      const { userId } = request.params;
      await setUserQuota(deps.db, userId, request.body.maxInstances, { actor: p.actor });
      return { userId, ...(await userQuota(deps.db, userId, deps.maxInstancesPerUser)) };
    },
  );
};
