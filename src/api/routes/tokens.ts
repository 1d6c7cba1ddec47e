// API tokens (admin): create (the token is returned once; only its sha256 is
// stored), list (never any secret), revoke. Each write is an audit row
// (src/db/repositories/tokens.ts), naming the admin token that made it.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { createApiToken, listApiTokens, revokeApiToken, type ApiToken } from '../../db/repositories/tokens.ts';
import { principalOf, requireAdmin, type TokenCache } from '../auth.ts';
import type { ApiDeps } from '../context.ts';
import { expiryOf } from '../../domain/duration.ts';
import { badRequest, ProblemType, unprocessable } from '../problems.ts';
import { createTokenBody, createdTokenSchema, idParams, problems, tokenListSchema, tokenSchema } from '../schemas.ts';

const iso = (d: Date | null): string | null => (d === null ? null : d.toISOString());

function tokenView(t: ApiToken) {
  return {
    id: t.id,
    name: t.name,
    role: t.role,
    userId: t.userId,
    createdAt: t.createdAt.toISOString(),
    lastUsedAt: iso(t.lastUsedAt),
    revokedAt: iso(t.revokedAt),
    expiresAt: iso(t.expiresAt),
  };
}

export const tokenRoutes: FastifyPluginAsyncTypebox<{ deps: ApiDeps; tokens: TokenCache }> = async (app, { deps, tokens }) => {
  const tags = ['tokens'];

  app.post(
    '/tokens',
    { schema: { tags, summary: 'create an API token (admin); the token is in this response only', body: createTokenBody, response: { 201: createdTokenSchema, ...problems(403, 413) } } },
    async (request, reply) => {
      const p = principalOf(request);
      requireAdmin(p);
      const body = request.body;
      if (body.role === 'user' && body.userId === undefined) throw badRequest('/body/userId', 'is required for a user token');
      if (body.expiresIn !== undefined && body.expiresAt !== undefined) throw badRequest('/body/expiresAt', 'give expiresIn or expiresAt, not both');
      const expires = body.expiresIn ?? body.expiresAt;
      const expiresAt = expires === undefined ? null : expiryOf(expires);
      if (expiresAt === undefined) {
        throw unprocessable(ProblemType.Validation, body.expiresIn === undefined ? '/body/expiresAt' : '/body/expiresIn', 'must lie in the future');
      }
      const { token, record } = await createApiToken(deps.db, { name: body.name, role: body.role, userId: body.userId ?? null, expiresAt }, { actor: p.actor });
      return reply.code(201).header('cache-control', 'no-store').send({ ...tokenView(record), token });
    },
  );

  app.get(
    '/tokens',
    { schema: { tags, summary: 'list API tokens, revoked and expired ones included (admin); never the tokens themselves', response: { 200: tokenListSchema, ...problems(403) } } },
    async (request) => {
      requireAdmin(principalOf(request));
      return { items: (await listApiTokens(deps.db)).map(tokenView) };
    },
  );

  app.delete(
    '/tokens/:id',
    { schema: { tags, summary: 'revoke an API token (admin); it stops working at once', params: idParams, response: { 200: tokenSchema, ...problems(403, 404) } } },
    async (request) => {
      const p = principalOf(request);
      requireAdmin(p);
      const { id } = request.params;
      const revoked = await revokeApiToken(deps.db, id, { actor: p.actor });
      tokens.forget(revoked.id);
      return tokenView(revoked);
    },
  );
};
