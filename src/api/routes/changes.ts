// GET /changes: a Server-Sent Events stream of instance changes the caller
// may see (src/api/change-stream.ts). Authenticated by the normal bearer
// header (the console reads it with fetch(), so the token is never in a URL).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { getScopedInstance } from '../../db/repositories/tenant-instances.ts';
import { ownerScope, principalOf } from '../auth.ts';
import { ChangeHub } from '../change-stream.ts';
import { changesQuery } from '../console-schemas.ts';
import type { ApiDeps } from '../context.ts';
import { ApiProblem, ProblemType, notFound } from '../problems.ts';
import { problems } from '../schemas.ts';

export const changeRoutes: FastifyPluginAsyncTypebox<{ deps: ApiDeps }> = async (app, { deps }) => {
  const hub = deps.changeFeed ? new ChangeHub({ feed: deps.changeFeed, db: deps.db, logger: deps.logger, ...(deps.changeKeepaliveMs ? { keepaliveMs: deps.changeKeepaliveMs } : {}) }) : undefined;
  if (hub) {
    app.addHook('onReady', async () => hub.start());
    // Before the server closes: open streams would otherwise keep it waiting for ever.
    app.addHook('preClose', async () => hub.stop());
  }

  app.get(
    '/changes',
    {
      schema: {
        tags: ['instances'],
        summary: 'a text/event-stream of instance changes the caller may see (event: instance; resync after a gap; keepalive comments)',
        querystring: changesQuery,
        produces: ['text/event-stream'],
        response: {
          200: Type.String({
            description:
              'event: instance, data: {id, status, state, specVersion, observedSpecVersion, helmRevision, updatedAt, deleted}; event: resync (refetch: changes may have been missed); event: unauthorized (the token stopped being valid; the stream ends); ": keepalive" every 15 s',
          }),
          ...problems(404),
        },
      },
    },
    async (request, reply) => {
      const p = principalOf(request);
      if (!hub) throw new ApiProblem(503, ProblemType.Unavailable, 'this API process has no change feed');
      const { instanceId } = request.query;
      // A filter on an instance the caller may not see is a 404, like reading it.
      if (instanceId !== undefined && !(await getScopedInstance(deps.db, instanceId, ownerScope(p)))) throw notFound(`instance ${instanceId}`);
      reply.hijack();
      hub.open(reply.raw, { scope: ownerScope(p), tokenId: p.tokenId, ...(instanceId === undefined ? {} : { instanceId }) }, { 'x-request-id': request.id });
    },
  );
};
