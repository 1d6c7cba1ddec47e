// Product templates and their versions. Anyone authenticated reads them
// (tenants pick a version to create an instance); only admins write, and a
// version is accepted only once its chart renders with its defaults.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { createTemplate, createTemplateVersion, getTemplate, listTemplateVersions, listTemplates } from '../../db/repositories/templates.ts';
import { checkValuesSchema } from '../../domain/values-schema.ts';
import { principalOf, requireAdmin } from '../auth.ts';
import type { ApiDeps } from '../context.ts';
import { notFound, ProblemType, unprocessable } from '../problems.ts';
import {
  createTemplateBody,
  createVersionBody,
  problems,
  templateDetailSchema,
  templateListSchema,
  templateParams,
  templateSchema,
  versionListSchema,
  versionSchema,
} from '../schemas.ts';
import { templateView, versionView } from '../views.ts';

export const templateRoutes: FastifyPluginAsyncTypebox<{ deps: ApiDeps }> = async (app, { deps }) => {
  const { db } = deps;
  const tags = ['templates'];

  app.post(
    '/templates',
    { schema: { tags, summary: 'create a template (admin)', body: createTemplateBody, response: { 201: templateSchema, ...problems(403, 409) } } },
    async (request, reply) => {
      const p = principalOf(request);
      requireAdmin(p);
      const body = request.body;
      const t = await createTemplate(db, { name: body.name, ...(body.description === undefined ? {} : { description: body.description }) }, { actor: p.actor });
      return reply.code(201).header('location', `/templates/${t.id}`).send(templateView(t));
    },
  );

  app.get(
    '/templates',
    { schema: { tags, summary: 'list templates', response: { 200: templateListSchema, ...problems() } } },
    async () => ({ items: (await listTemplates(db)).map(templateView) }),
  );

  app.get(
    '/templates/:id',
    { schema: { tags, summary: 'a template (by id or name) with its versions', params: templateParams, response: { 200: templateDetailSchema, ...problems(404) } } },
    async (request) => {
      const t = await getTemplate(db, request.params.id);
      if (!t) throw notFound('template');
      return { ...templateView(t), versions: (await listTemplateVersions(db, t.id)).map(versionView) };
    },
  );

  app.get(
    '/templates/:id/versions',
    {
      schema: {
        tags,
        summary: "a template's versions",
        params: templateParams,
        response: { 200: versionListSchema, ...problems(404) },
      },
    },
    async (request) => {
      const t = await getTemplate(db, request.params.id);
      if (!t) throw notFound('template');
      return { items: (await listTemplateVersions(db, t.id)).map(versionView) };
    },
  );

  app.post(
    '/templates/:id/versions',
    {
      schema: {
        tags,
        summary: 'publish a version (admin); its chart must render with its default values',
        params: templateParams,
        body: createVersionBody,
        response: { 201: versionSchema, ...problems(403, 404, 409, 422) },
      },
    },
    async (request, reply) => {
      const p = principalOf(request);
      requireAdmin(p);
      const body = request.body;
      const t = await getTemplate(db, request.params.id);
      if (!t) throw notFound('template');
      if (body.valuesSchema) {
        const problem = checkValuesSchema(body.valuesSchema);
        if (problem) throw unprocessable(ProblemType.Validation, '/body/valuesSchema', `is not a usable JSON Schema: ${problem}`);
      }
      await deps.chartChecker.check({ chart: body.chart, chartVersion: body.chartVersion ?? null, defaultValues: body.defaultValues ?? {} });
      const v = await createTemplateVersion(
        db,
        {
          templateId: t.id,
          version: body.version,
          chart: body.chart,
          chartVersion: body.chartVersion ?? null,
          defaultValues: body.defaultValues ?? {},
          valuesSchema: body.valuesSchema ?? null,
          tier: body.tier ?? null,
          domainSuffixes: body.domainSuffixes ?? null,
        },
        { actor: p.actor },
      );
      return reply.code(201).send(versionView(v));
    },
  );
};
