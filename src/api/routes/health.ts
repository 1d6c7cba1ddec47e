// Probes and metrics. /healthz: the process serves requests. /readyz: the
// database answers, so traffic should be routed here. /metrics: Prometheus.
import { sql } from 'kysely';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { ApiDeps } from '../context.ts';
import { ApiProblem, ProblemType } from '../problems.ts';

const READY_TIMEOUT_MS = 2_000;

export const healthRoutes: FastifyPluginAsyncTypebox<{ deps: ApiDeps }> = async (app, { deps }) => {
  const probe = { tags: ['health'], security: [] };
  app.get('/healthz', { schema: { ...probe, summary: 'liveness' } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { ...probe, summary: 'readiness: the database is reachable' } }, async (request) => {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        sql`select 1`.execute(deps.db),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
        }),
      ]);
    } catch (err) {
      // Public and unauthenticated: the driver's message (host, user, database) goes to the log only.
      request.log.warn({ err }, 'readiness check: the database is not reachable');
      throw new ApiProblem(503, ProblemType.Unavailable, 'the database is not reachable', { cause: err });
    } finally {
      clearTimeout(timer);
    }
    return { status: 'ok', database: 'reachable' };
  });

  app.get('/metrics', { schema: { ...probe, summary: 'Prometheus metrics' } }, async (_request, reply) => {
    reply.type(deps.metrics.registry.contentType);
    return deps.metrics.registry.metrics();
  });
};
