// Instances: create (quota, idempotency), list (scoped, paginated), read
// (live status, effective values), change, delete. Every lookup is scoped to
// the caller in the query (src/db/repositories/tenant-instances.ts).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { assignShard } from '../../domain/shard.ts';
import { createHash } from 'node:crypto';
import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { createInstance, markInstanceDeleted, updateInstanceSpec, type SpecPatch } from '../../db/repositories/instances.ts';
import { claimIdempotencyKey, completeIdempotencyKey, releaseIdempotencyKey, requestHash } from '../../db/repositories/idempotency.ts';
import { countScopedInstances, listScopedInstances, newestTemplateVersions, type InstanceSortField, type ScopedListFilter } from '../../db/repositories/tenant-instances.ts';
import { ownerScope, principalOf, type Principal } from '../auth.ts';
import type { ApiDeps } from '../context.ts';
import { decodeCursor, encodeCursor } from '../cursor.ts';
import { assertMayWrite, checkDomain, checkNamespace } from '../instance-policy.ts';
import { ApiProblem, badRequest, ProblemType } from '../problems.ts';
import {
  createInstanceBody,
  DEFAULT_PAGE_SIZE,
  deletedInstanceSchema,
  type CreateInstanceBody,
  idempotencyHeaders,
  idParams,
  instanceDetailSchema,
  instanceListSchema,
  instanceSchema,
  listInstancesQuery,
  patchInstanceBody,
  problems,
} from '../schemas.ts';
import { generateNamespace } from '../../domain/naming.ts';
import { VersionCache } from '../versions.ts';
import { instanceDetailView, instanceListItemView, instanceView } from '../views.ts';
import { assertApiManaged, rereadInstance, visibleInstance } from './access.ts';

/** What an idempotent POST stores and replays. */
interface StoredResponse {
  status: number;
  body: Record<string, unknown>;
}

export const instanceRoutes: FastifyPluginAsyncTypebox<{ deps: ApiDeps }> = async (app, { deps }) => {
  const { db } = deps;
  const versions = new VersionCache(db);
  const tags = ['instances'];

  app.post(
    '/instances',
    {
      schema: {
        tags,
        summary: 'create an instance (honours Idempotency-Key)',
        headers: idempotencyHeaders,
        body: createInstanceBody,
        response: { 201: instanceSchema, ...problems(403, 409, 413, 422) },
      },
    },
    async (request, reply) => {
      const p = principalOf(request);
      const body = request.body;
      // Refused before the idempotency claim: a refused request must leave no row at all.
      assertMayWrite(p, body);
      if (body.namespace !== undefined) checkNamespace(body.namespace);
      const key = request.headers['idempotency-key'];
      if (key === undefined) return send(reply, await create(p, body));

      const claim = await claimIdempotencyKey(db, {
        actor: p.actor,
        key,
        requestHash: requestHash('POST', '/instances', body),
        ...(deps.idempotencyClaimTtlMs === undefined ? {} : { claimTtlMs: deps.idempotencyClaimTtlMs }),
      });
      if (claim.kind === 'replay') {
        const stored = claim.response as unknown as StoredResponse;
        return send(reply.header('idempotent-replayed', 'true'), stored);
      }
      let result: StoredResponse;
      try {
        result = await create(p, body);
      } catch (err) {
        // The request did not happen: free the key so a corrected retry can use it.
        await releaseIdempotencyKey(db, { actor: p.actor, key });
        throw err;
      }
      await completeIdempotencyKey(db, { actor: p.actor, key, response: result as unknown as Record<string, unknown> });
      return send(reply, result);
    },
  );

  async function create(p: Principal, body: CreateInstanceBody): Promise<StoredResponse> {
    const owner = p.role === 'admin' ? (body.userId ?? p.userId) : p.userId;
    if (!owner) throw badRequest('/body/userId', 'is required with an admin token that acts for no user');
    const { template, version } = await versions.resolve(body.templateVersionId);
    if (body.domainName !== undefined) checkDomain(p, body.domainName, owner, version.domainSuffixes, deps.domainSuffixes ?? []);
    const namespace = body.namespace ?? generateNamespace(owner);
    const shards = deps.sharding?.shards;
    // Values are validated against the version's schema in the same transaction as the insert (createInstance).
    const created = await createInstance(
      db,
      {
        userId: owner,
        productTemplateVersionId: version.id,
        namespace,
        // The namespace, not the id: it is known before the insert and is the key the sync and the CR share.
        ...(shards ? { shard: assignShard(namespace, shards) } : {}),
        domainName: body.domainName ?? null,
        values: body.values ?? {},
        ...(body.deletionPolicy === undefined ? {} : { deletionPolicy: body.deletionPolicy }),
      },
      { actor: p.actor, quota: { defaultMaxInstances: deps.maxInstancesPerUser } },
    );
    // The row as inserted, not read again: the caller owns it (or is admin), and version and template never change.
    return { status: 201, body: instanceView({ ...created, lastActivityAt: null, templateId: template.id, templateName: template.name, templateVersion: version.version }) };
  }

  function send(reply: FastifyReply, r: StoredResponse): FastifyReply {
    const id = r.body['id'];
    if (r.status === 201 && typeof id === 'string') reply.header('location', `/instances/${id}`);
    return reply.code(r.status).send(r.body);
  }

  app.get(
    '/instances',
    {
      schema: {
        tags,
        summary: "list instances (a user sees only their own; filters; cursor pagination)",
        querystring: listInstancesQuery,
        response: { 200: instanceListSchema, ...problems(403) },
      },
    },
    async (request) => {
      const p = principalOf(request);
      const q = request.query;
      if (q.userId !== undefined && p.role !== 'admin') {
        throw new ApiProblem(403, ProblemType.Forbidden, 'filtering by userId needs an admin token', { errors: [{ field: '/query/userId', message: 'is admin only' }] });
      }
      const sort = q.sort ?? '-createdAt';
      const field = sort.replace(/^-/, '') as InstanceSortField;
      // The newest versions are needed before the query only to filter by `outdated`; otherwise they are read alongside it.
      const newestFirst = q.outdated === undefined ? undefined : await newestTemplateVersions(db);
      const filter: ScopedListFilter = {
        ...(q.userId === undefined ? {} : { userId: q.userId }),
        ...(q.templateId === undefined ? {} : { templateId: q.templateId }),
        ...(q.templateVersionId === undefined ? {} : { templateVersionId: q.templateVersionId }),
        ...(q.status === undefined ? {} : { status: q.status }),
        ...(q.q === undefined ? {} : { search: q.q }),
        ...(q.outdated === undefined || !newestFirst ? {} : { versionIds: { in: !q.outdated, ids: [...newestFirst.values()].map((v) => v.id) } }),
      };
      const [page, total, newest] = await Promise.all([
        listScopedInstances(db, ownerScope(p), {
          ...filter,
          sort: { field, descending: sort.startsWith('-') },
          limit: q.limit ?? DEFAULT_PAGE_SIZE,
          ...(q.cursor === undefined ? {} : { after: decodeCursor(q.cursor, sort, field) }),
        }),
        countScopedInstances(db, ownerScope(p), filter),
        newestFirst ?? newestTemplateVersions(db),
      ]);
      return {
        items: page.items.map((i) => instanceListItemView(i, newest.get(i.templateId))),
        nextCursor: page.next ? encodeCursor(sort, page.next) : null,
        total,
      };
    },
  );

  app.get(
    '/instances/:id',
    {
      schema: {
        tags,
        summary: 'an instance: spec, status, conditions, drift, URL, effective values with their sources',
        params: idParams,
        headers: Type.Object({ 'if-none-match': Type.Optional(Type.String({ maxLength: 1024, description: 'an ETag of an earlier answer: 304 if unchanged' })) }),
        response: { 200: instanceDetailSchema, 304: Type.Null({ description: 'unchanged since the ETag given in If-None-Match (no body)' }), ...problems(404) },
      },
    },
    async (request, reply) => {
      const { instance } = await visibleInstance(db, request);
      const version = await versions.version(instance.productTemplateVersionId);
      const live = deps.liveStatus ? await deps.liveStatus.read(instance) : undefined;
      const view = instanceDetailView(instance, version?.defaultValues ?? {}, live);
      // Of the whole answer, live status included: a polling client learns of a condition change too.
      const etag = `"${createHash('sha256').update(JSON.stringify(view)).digest('base64url').slice(0, 27)}"`;
      reply.header('etag', etag).header('cache-control', 'private, no-cache');
      if (matchesEtag(request.headers['if-none-match'], etag)) return reply.code(304).send(undefined as never);
      return view;
    },
  );

  app.patch(
    '/instances/:id',
    {
      schema: {
        tags,
        summary: 'change values overrides, state, domain name or deletion policy',
        params: idParams,
        body: patchInstanceBody,
        response: { 200: instanceSchema, ...problems(403, 404, 409, 413, 422) },
      },
    },
    async (request) => {
      const { principal, instance } = await visibleInstance(db, request);
      assertApiManaged(instance);
      const body = request.body;
      assertMayWrite(principal, body);
      if (typeof body.domainName === 'string' && body.domainName !== instance.domainName) {
        const version = await versions.version(instance.productTemplateVersionId);
        checkDomain(principal, body.domainName, instance.userId, version?.domainSuffixes ?? null, deps.domainSuffixes ?? []);
      }
      const patch: SpecPatch = {
        ...(body.values === undefined ? {} : { values: body.values }),
        ...(body.state === undefined ? {} : { state: body.state }),
        ...(body.domainName === undefined ? {} : { domainName: body.domainName }),
        ...(body.deletionPolicy === undefined ? {} : { deletionPolicy: body.deletionPolicy }),
      };
      await updateInstanceSpec(db, instance.id, patch, { actor: principal.actor });
      return instanceView(await rereadInstance(db, instance.id, principal));
    },
  );

  app.delete(
    '/instances/:id',
    {
      schema: {
        tags,
        summary: 'delete an instance (the row is marked deleted; the sync deletes the CR)',
        params: idParams,
        response: { 202: deletedInstanceSchema, ...problems(404, 409) },
      },
    },
    async (request, reply) => {
      const { principal, instance } = await visibleInstance(db, request);
      assertApiManaged(instance);
      const deleted = await markInstanceDeleted(db, instance.id, { actor: principal.actor });
      return reply.code(202).send({ id: deleted.id, deletedAt: deleted.deletedAt?.toISOString() ?? null });
    },
  );
};

/** If-None-Match (RFC 9110 §13.1.2): `*` or a list of tags, weak ones compared by their opaque part. */
function matchesEtag(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((tag) => {
    const t = tag.trim();
    return t === '*' || t.replace(/^W\//, '') === etag;
  });
}
