// Instance secrets (issue 17): set, list (names and versions, never values),
// delete. Owner or admin; another tenant's instance is a 404 like a missing
// one (GitOps-adopted instances too: their secrets are not in git). Values are sealed before they reach SQL (src/db/secret-box.ts), audited
// by name only, and never logged: Fastify logs no bodies, and errors here
// carry field names, not values. Every response says Cache-Control: no-store.
// The sync sees the write (pg_notify on instance_secret) and the operator rolls
// `<instance>-secrets` within a second or so.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { deleteSecret, listSecretMeta, putSecret, type SecretMeta } from '../../db/repositories/secrets.ts';
import type { ApiDeps } from '../context.ts';
import { ApiProblem, notFound, ProblemType } from '../problems.ts';
import { problems } from '../schemas.ts';
import { instanceSecretParams, putSecretBody, secretListSchema, secretMetaSchema, secretParams } from '../secret-schemas.ts';
import { visibleInstance } from './access.ts';

const metaView = (s: SecretMeta) => ({ name: s.name, version: s.version, createdAt: s.createdAt.toISOString(), updatedAt: s.updatedAt.toISOString() });

export const secretRoutes: FastifyPluginAsyncTypebox<{ deps: ApiDeps }> = async (app, { deps }) => {
  const { db } = deps;
  const tags = ['secrets'];

  app.addHook('onSend', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
  });

  const box = () => {
    if (!deps.secretBox) throw new ApiProblem(503, ProblemType.Unavailable, 'this API server has no encryption keys (CAELUS_ENCRYPTION_KEYS): secrets cannot be stored');
    return deps.secretBox;
  };

  app.put(
    '/instances/:id/secrets/:name',
    {
      schema: {
        tags,
        summary: 'set a secret of the instance (owner or admin); it reaches the Secret <instance>-secrets',
        params: secretParams,
        body: putSecretBody,
        response: { 200: secretMetaSchema, ...problems(404, 413, 503) },
      },
    },
    async (request) => {
      const { principal, instance } = await visibleInstance(db, request);
      const meta = await putSecret(db, box(), { instanceId: instance.id, name: request.params.name, value: request.body.value }, { actor: principal.actor });
      return metaView(meta);
    },
  );

  app.get(
    '/instances/:id/secrets',
    { schema: { tags, summary: "the instance's secrets: names, versions and times, never values", params: instanceSecretParams, response: { 200: secretListSchema, ...problems(404) } } },
    async (request) => {
      const { instance } = await visibleInstance(db, request);
      return { items: (await listSecretMeta(db, instance.id)).map(metaView) };
    },
  );

  app.delete(
    '/instances/:id/secrets/:name',
    { schema: { tags, summary: 'delete a secret of the instance (owner or admin)', params: secretParams, response: { 204: Type.Null({ description: 'deleted' }), ...problems(404) } } },
    async (request, reply) => {
      const { principal, instance } = await visibleInstance(db, request);
      if (!(await deleteSecret(db, instance.id, request.params.name, { actor: principal.actor }))) throw notFound(`secret ${request.params.name}`);
      return reply.code(204).send(null);
    },
  );
};
