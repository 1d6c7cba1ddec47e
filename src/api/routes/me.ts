// Who the caller is (the console's sign-in check) and, for an admin, every
// user with their instance count and quota (the console's quotas page).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { listUserUsage } from '../../db/repositories/tenant-instances.ts';
import { principalOf, requireAdmin } from '../auth.ts';
import type { ApiDeps } from '../context.ts';
import { meSchema, userListSchema } from '../console-schemas.ts';
import { problems } from '../schemas.ts';

export const meRoutes: FastifyPluginAsyncTypebox<{ deps: ApiDeps }> = async (app, { deps }) => {
  app.get('/me', { schema: { tags: ['tokens'], summary: 'the calling token: role, user, name, expiry', response: { 200: meSchema, ...problems() } } }, async (request) => {
    const p = principalOf(request);
    return { role: p.role, userId: p.userId, tokenName: p.tokenName, expiresAt: p.expiresAt?.toISOString() ?? null };
  });

  app.get(
    '/users',
    {
      schema: {
        tags: ['quotas'],
        summary: 'every known user (instance owners, quota overrides, user tokens) with instances and quota (admin)',
        response: { 200: userListSchema, ...problems(403) },
      },
    },
    async (request) => {
      requireAdmin(principalOf(request));
      return { items: await listUserUsage(deps.db, deps.maxInstancesPerUser) };
    },
  );
};
