// What the console's instance page shows beyond the row: Events, Helm
// history, the release's objects with readiness, ResourceQuota use (all
// read from the cluster, src/api/cluster-insight.ts) and a preview of the
// effective values an upgrade or an edit would give. Each is scoped like
// GET /instances/{id}: another tenant's instance is a 404 before anything is
// read from the cluster.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { getTemplateVersion } from '../../db/repositories/templates.ts';
import { effectiveValues } from '../../domain/values.ts';
import { ClusterReadError, type InstanceClusterReader } from '../cluster-insight.ts';
import type { ApiDeps } from '../context.ts';
import {
  eventListSchema,
  eventsQuery,
  historySchema,
  namespaceQuotaSchema,
  objectsSchema,
  valuesPreviewBody,
  valuesPreviewQuery,
  valuesPreviewSchema,
} from '../console-schemas.ts';
import { ApiProblem, ProblemType, unprocessable } from '../problems.ts';
import { idParams, problems } from '../schemas.ts';
import { resolveVersionRef } from '../versions.ts';
import { visibleInstance } from './access.ts';
import type { TenantInstance } from '../../db/repositories/tenant-instances.ts';

export const instanceInsightRoutes: FastifyPluginAsyncTypebox<{ deps: ApiDeps }> = async (app, { deps }) => {
  const { db } = deps;
  const tags = ['instances'];

  /** Runs a cluster read; no cluster access, or a cluster that does not answer, is a 503 the console shows as such. */
  async function fromCluster<T>(read: (c: InstanceClusterReader) => Promise<T>): Promise<T> {
    if (!deps.cluster) throw new ApiProblem(503, ProblemType.Unavailable, 'this API has no cluster access (start it with a kubeconfig or in a cluster)');
    try {
      return await read(deps.cluster);
    } catch (err) {
      if (err instanceof ClusterReadError) {
        throw new ApiProblem(503, ProblemType.Unavailable, `the cluster did not answer: ${err.message}`, { cause: err, retryAfterSeconds: 5 });
      }
      throw err;
    }
  }

  app.get(
    '/instances/:id/events',
    {
      schema: {
        tags,
        summary: "Kubernetes Events of the instance's CR and of the objects in its namespace, newest first",
        params: idParams,
        querystring: eventsQuery,
        response: { 200: eventListSchema, ...problems(404) },
      },
    },
    async (request) => {
      const { instance } = await visibleInstance(db, request);
      return { items: await fromCluster((c) => c.events(instance, request.query.limit ?? 50)) };
    },
  );

  app.get(
    '/instances/:id/history',
    {
      schema: {
        tags,
        summary: "the release's Helm revisions, newest first, from Helm's release records (shown as data; records failing checks are trusted: false)",
        params: idParams,
        response: { 200: historySchema, ...problems(404) },
      },
    },
    async (request) => {
      const { instance } = await visibleInstance(db, request);
      return { items: await fromCluster((c) => c.history(instance)) };
    },
  );

  app.get(
    '/instances/:id/objects',
    {
      schema: {
        tags,
        summary: 'the objects of the deployed revision with their live readiness',
        params: idParams,
        response: { 200: objectsSchema, ...problems(404) },
      },
    },
    async (request) => {
      const { instance } = await visibleInstance(db, request);
      return fromCluster((c) => c.objects(instance));
    },
  );

  app.get(
    '/instances/:id/quota',
    {
      schema: {
        tags,
        summary: "ResourceQuota use in the instance's namespace (hard and used per resource)",
        params: idParams,
        response: { 200: namespaceQuotaSchema, ...problems(404) },
      },
    },
    async (request) => {
      const { instance } = await visibleInstance(db, request);
      return { items: await fromCluster((c) => c.quota(instance)) };
    },
  );

  async function preview(instance: TenantInstance, ref: string | undefined, values: Record<string, unknown> | undefined, field: string) {
    const current = await getTemplateVersion(db, instance.productTemplateVersionId);
    const target = ref === undefined ? current : (await resolveVersionRef(db, ref, field)).version;
    if (!current || !target) throw new ApiProblem(404, ProblemType.NotFound, `template version of instance ${instance.id} not found`);
    if (target.templateId !== current.templateId) throw unprocessable(ProblemType.Validation, field, `belongs to another template than the instance's (${instance.templateName})`);
    const now = effectiveValues({ defaults: current.defaultValues, overrides: instance.values, domainName: instance.domainName });
    const next = effectiveValues({ defaults: target.defaultValues, overrides: values ?? instance.values, domainName: instance.domainName });
    return { current: now.values, proposed: next.values, proposedVersion: { id: target.id, version: target.version } };
  }

  app.get(
    '/instances/:id/values-preview',
    {
      schema: {
        tags,
        summary: 'effective values now and on another version of the same template (the upgrade dialog)',
        params: idParams,
        querystring: valuesPreviewQuery,
        response: { 200: valuesPreviewSchema, ...problems(404, 422) },
      },
    },
    async (request) => {
      const { instance } = await visibleInstance(db, request);
      return preview(instance, request.query.templateVersionId, undefined, '/query/templateVersionId');
    },
  );

  app.post(
    '/instances/:id/values-preview',
    {
      schema: {
        tags,
        summary: 'effective values now and with other overrides and/or another version (the edit dialog); changes nothing',
        params: idParams,
        body: valuesPreviewBody,
        response: { 200: valuesPreviewSchema, ...problems(404, 413, 422) },
      },
    },
    async (request) => {
      const { instance } = await visibleInstance(db, request);
      return preview(instance, request.body.templateVersionId, request.body.values, '/body/templateVersionId');
    },
  );
};
