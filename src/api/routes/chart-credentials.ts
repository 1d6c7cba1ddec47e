// Chart repository/registry credentials (admin only): stored encrypted like
// instance secrets, referenced by name from a template version
// (chartCredentials), never part of the chart reference. No route returns a
// username or password; Cache-Control: no-store on every response.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { createChartCredential, listChartCredentials, type ChartCredential } from '../../db/repositories/chart-credentials.ts';
import { principalOf, requireAdmin } from '../auth.ts';
import type { ApiDeps } from '../context.ts';
import { ApiProblem, ProblemType } from '../problems.ts';
import { problems } from '../schemas.ts';
import { chartCredentialListSchema, chartCredentialSchema, createChartCredentialBody } from '../secret-schemas.ts';

const view = (c: ChartCredential) => ({ id: c.id, name: c.name, caCert: c.caCert, createdAt: c.createdAt.toISOString() });

export const chartCredentialRoutes: FastifyPluginAsyncTypebox<{ deps: ApiDeps }> = async (app, { deps }) => {
  const tags = ['chart credentials'];
  app.addHook('onSend', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
  });

  app.post(
    '/chart-credentials',
    {
      schema: {
        tags,
        summary: 'store credentials and/or a CA for a chart registry or repository (admin); the password is never returned',
        body: createChartCredentialBody,
        response: { 201: chartCredentialSchema, ...problems(403, 409, 503) },
      },
    },
    async (request, reply) => {
      const p = principalOf(request);
      requireAdmin(p);
      if (!deps.secretBox) throw new ApiProblem(503, ProblemType.Unavailable, 'this API server has no encryption keys (CAELUS_ENCRYPTION_KEYS): credentials cannot be stored');
      const b = request.body;
      const c = await createChartCredential(
        deps.db,
        deps.secretBox,
        { name: b.name, username: b.username ?? null, password: b.password ?? null, caCert: b.caCert ?? null },
        { actor: p.actor },
      );
      return reply.code(201).send(view(c));
    },
  );

  app.get(
    '/chart-credentials',
    { schema: { tags, summary: 'stored chart credentials: names and CAs only (admin)', response: { 200: chartCredentialListSchema, ...problems(403) } } },
    async (request) => {
      requireAdmin(principalOf(request));
      return { items: (await listChartCredentials(deps.db)).map(view) };
    },
  );
};
