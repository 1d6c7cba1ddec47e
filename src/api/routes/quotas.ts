// Per-user instance quotas (admin): the default comes from
// CAELUS_MAX_INSTANCES_PER_USER, an override per user from user_quota. Usage
// counts live instances and the namespaces retained from deleted ones
// (deletionPolicy Retain) until an admin releases them.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { listRetainedNamespaces, releaseRetainedNamespace, type RetainedNamespace } from '../../db/repositories/instances.ts';
import { setUserQuota, userQuota } from '../../db/repositories/tenant-instances.ts';
import { principalOf, requireAdmin } from '../auth.ts';
import type { ApiDeps } from '../context.ts';
import {
  namespaceParams,
  problems,
  quotaBody,
  quotaParams,
  quotaSchema,
  retainedNamespaceListSchema,
  retainedNamespaceQuery,
  retainedNamespaceSchema,
} from '../schemas.ts';

const retainedView = (r: RetainedNamespace) => ({ namespace: r.namespace, userId: r.userId, instanceId: r.instanceId, retainedAt: r.retainedAt.toISOString() });

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

  app.get(
    '/retained-namespaces',
    {
      schema: {
        tags,
        summary: 'namespaces kept by Retain deletions; each counts toward its owner\'s quota until released (admin)',
        querystring: retainedNamespaceQuery,
        response: { 200: retainedNamespaceListSchema, ...problems(403) },
      },
    },
    async (request) => {
      requireAdmin(principalOf(request));
      const { userId } = request.query;
      return { items: (await listRetainedNamespaces(deps.db, userId === undefined ? {} : { userId })).map(retainedView) };
    },
  );
  app.delete(
    '/retained-namespaces/:namespace',
    {
      schema: {
        tags,
        summary: "release a retained namespace once it is deleted: frees its owner's quota and its name (admin)",
        params: namespaceParams,
        response: { 200: retainedNamespaceSchema, ...problems(403, 404) },
      },
    },
    async (request) => {
      const p = principalOf(request);
      requireAdmin(p);
      return retainedView(await releaseRetainedNamespace(deps.db, request.params.namespace, { actor: p.actor }));
    },
  );
};
