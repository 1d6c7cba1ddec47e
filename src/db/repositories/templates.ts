// product_template and product_template_version. Versions are immutable: there
// is no update here, and a trigger refuses updates from anywhere else.
import type { Kysely } from 'kysely';
import { isPodSecurityLevel, type ChartReference, type PodSecurityLevel } from '../../domain/catalog.ts';
import { checkValuesSchema } from '../../domain/values-schema.ts';
import { DOMAIN_SUFFIX_PATTERN } from '../../domain/naming.ts';
import { parseVersionRef } from '../../domain/version-ref.ts';
import { encodeChartReference, parseChartReference } from '../chart-reference.ts';
import { NotFoundError, ValidationError } from '../errors.ts';
import { jsonb } from '../json.ts';
import { translateErrors } from '../map-error.ts';
import type { Database, JsonObject, ProductTemplateRow, ProductTemplateVersionRow } from '../schema.ts';
import { dnsLabel, isUuid, jsonObject, optionalText, semver, text, uuid } from '../validate.ts';
import { recordAudit } from './audit.ts';

export interface ProductTemplate {
  id: string;
  name: string;
  description: string;
  createdAt: Date;
}

export interface ProductTemplateVersion {
  id: string;
  templateId: string;
  version: string;
  chart: ChartReference;
  chartVersion: string | null;
  defaultValues: JsonObject;
  valuesSchema: JsonObject | null;
  tier: string | null;
  podSecurity: PodSecurityLevel | null;
  networkRules: JsonObject[] | null;
  egressRules: JsonObject[] | null;
  allowedTiers: string[] | null;
  /** Domain suffix patterns instances may use (src/domain/naming.ts); null = none declared. */
  domainSuffixes: string[] | null;
  createdAt: Date;
}

export interface NewTemplate {
  name: string;
  description?: string;
}

export interface NewTemplateVersion {
  templateId: string;
  version: string;
  chart: ChartReference;
  chartVersion?: string | null;
  defaultValues?: Record<string, unknown>;
  valuesSchema?: Record<string, unknown> | null;
  tier?: string | null;
  podSecurity?: PodSecurityLevel | null;
  networkRules?: Record<string, unknown>[] | null;
  egressRules?: Record<string, unknown>[] | null;
  allowedTiers?: string[] | null;
  domainSuffixes?: string[] | null;
}

export interface WriteOptions {
  actor: string;
}

const TIER = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export async function createTemplate(db: Kysely<Database>, input: NewTemplate, opts: WriteOptions): Promise<ProductTemplate> {
  const name = dnsLabel('name', input?.name);
  const description = input.description === undefined ? '' : text('description', input.description, { min: 0, max: 4096 });
  return translateErrors(() =>
    db.transaction().execute(async (trx) => {
      const row = await trx.insertInto('product_template').values({ name, description }).returningAll().executeTakeFirstOrThrow();
      await recordAudit(trx, { actor: opts.actor, action: 'template.create', detail: { templateId: row.id, name } });
      return toTemplate(row);
    }),
  );
}

/** By id (uuid) or by name. */
export async function getTemplate(db: Kysely<Database>, idOrName: string): Promise<ProductTemplate | undefined> {
  const key = text('template', idOrName, { max: 63 });
  return translateErrors(async () => {
    const row = await db
      .selectFrom('product_template')
      .selectAll()
      .where(isUuid(key) ? 'id' : 'name', '=', isUuid(key) ? key.toLowerCase() : key)
      .executeTakeFirst();
    return row && toTemplate(row);
  });
}

export async function listTemplates(db: Kysely<Database>): Promise<ProductTemplate[]> {
  return translateErrors(async () => (await db.selectFrom('product_template').selectAll().orderBy('name').execute()).map(toTemplate));
}

export async function createTemplateVersion(db: Kysely<Database>, input: NewTemplateVersion, opts: WriteOptions): Promise<ProductTemplateVersion> {
  const templateId = uuid('templateId', input?.templateId);
  const version = semver('version', input.version);
  const helmChartPath = encodeChartReference(chartInput(input.chart));
  const chartVersion = optionalText('chartVersion', input.chartVersion, { max: 128 });
  const defaultValues = jsonObject('defaultValues', input.defaultValues ?? {});
  const valuesSchema = input.valuesSchema == null ? null : jsonObject('valuesSchema', input.valuesSchema);
  if (valuesSchema) {
    const problem = checkValuesSchema(valuesSchema);
    if (problem) throw new ValidationError('valuesSchema', `is not a usable JSON Schema: ${problem}`);
  }
  const tier = optionalText('tier', input.tier, { max: 63, pattern: TIER, patternHint: 'must be a lower-case tier name such as small' });
  const guardrails = guardrailInput(input);
  const domainSuffixes = domainSuffixInput(input.domainSuffixes);
  return translateErrors(() =>
    db.transaction().execute(async (trx) => {
      const row = await trx
        .insertInto('product_template_version')
        .values({
          template_id: templateId,
          version,
          helm_chart_path: helmChartPath,
          chart_version: chartVersion,
          default_values: jsonb(defaultValues),
          values_schema: valuesSchema === null ? null : jsonb(valuesSchema),
          tier,
          pod_security: guardrails.podSecurity,
          network_rules: guardrails.networkRules === null ? null : jsonb(guardrails.networkRules),
          egress_rules: guardrails.egressRules === null ? null : jsonb(guardrails.egressRules),
          allowed_tiers: guardrails.allowedTiers === null ? null : jsonb(guardrails.allowedTiers),
          domain_suffixes: domainSuffixes === null ? null : jsonb(domainSuffixes),
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      await recordAudit(trx, { actor: opts.actor, action: 'template.version.create', detail: { templateId, versionId: row.id, version } });
      return toVersion(row);
    }),
  );
}

export async function getTemplateVersion(db: Kysely<Database>, id: string): Promise<ProductTemplateVersion | undefined> {
  const key = uuid('versionId', id);
  return translateErrors(async () => {
    const row = await db.selectFrom('product_template_version').selectAll().where('id', '=', key).executeTakeFirst();
    return row && toVersion(row);
  });
}

/** The version `version` of the template named `templateName`. */
export async function findTemplateVersion(
  db: Kysely<Database>,
  templateName: string,
  version: string,
): Promise<{ template: ProductTemplate; version: ProductTemplateVersion } | undefined> {
  const name = dnsLabel('templateName', templateName);
  const v = semver('version', version);
  return translateErrors(async () => {
    const row = await db
      .selectFrom('product_template_version as v')
      .innerJoin('product_template as t', 't.id', 'v.template_id')
      .selectAll('v')
      .select(['t.name as template_name', 't.description as template_description', 't.created_at as template_created_at'])
      .where('t.name', '=', name)
      .where('v.version', '=', v)
      .executeTakeFirst();
    if (!row) return undefined;
    return {
      template: { id: row.template_id, name: row.template_name, description: row.template_description, createdAt: row.template_created_at },
      version: toVersion(row),
    };
  });
}

/**
 * The version a reference names (`<version uuid>` or `<template name>@<version>`,
 * src/domain/version-ref.ts), with its template; undefined when it names none,
 * malformed references included. The API, the operator's database catalog and
 * the sync all resolve through this one function.
 */
export async function resolveTemplateVersionRef(
  db: Kysely<Database>,
  ref: string,
): Promise<{ template: ProductTemplate; version: ProductTemplateVersion } | undefined> {
  const parsed = parseVersionRef(ref);
  if (!parsed) return undefined;
  if (parsed.kind === 'id') {
    if (!isUuid(parsed.id)) return undefined;
    const version = await getTemplateVersion(db, parsed.id);
    const template = version && (await getTemplate(db, version.templateId));
    return version && template ? { template, version } : undefined;
  }
  try {
    return await findTemplateVersion(db, parsed.templateName, parsed.version);
  } catch (err) {
    // A version that is no semantic version ("1.x") names no version; anything else is a real failure.
    if (err instanceof ValidationError) return undefined;
    throw err;
  }
}

export async function listTemplateVersions(db: Kysely<Database>, templateId: string): Promise<ProductTemplateVersion[]> {
  const id = uuid('templateId', templateId);
  return translateErrors(async () => {
    const template = await db.selectFrom('product_template').select('id').where('id', '=', id).executeTakeFirst();
    if (!template) throw new NotFoundError('product template', { id });
    const rows = await db.selectFrom('product_template_version').selectAll().where('template_id', '=', id).orderBy('created_at').execute();
    return rows.map(toVersion);
  });
}


function chartInput(value: unknown): ChartReference {
  if (typeof value !== 'object' || value === null) throw new ValidationError('chart', 'must be a chart reference object');
  const c = value as Record<string, unknown>;
  switch (c['kind']) {
    case 'local':
      return { kind: 'local', path: text('chart.path', c['path'], { max: 2048 }) };
    case 'oci':
      return { kind: 'oci', ref: text('chart.ref', c['ref'], { max: 2048 }) };
    case 'repo':
      return { kind: 'repo', repoUrl: text('chart.repoUrl', c['repoUrl'], { max: 2000 }), chart: text('chart.chart', c['chart'], { max: 128 }) };
    default:
      throw new ValidationError('chart.kind', 'must be local, oci or repo');
  }
}

/** The guardrail fields of a new version (migrations 0007, 0028), checked before they reach SQL. */
function guardrailInput(input: NewTemplateVersion): {
  podSecurity: PodSecurityLevel | null;
  networkRules: JsonObject[] | null;
  egressRules: JsonObject[] | null;
  allowedTiers: string[] | null;
} {
  const podSecurity = input.podSecurity ?? null;
  if (podSecurity !== null && !isPodSecurityLevel(podSecurity)) throw new ValidationError('podSecurity', 'must be restricted or baseline');
  let networkRules: JsonObject[] | null = null;
  if (input.networkRules != null) {
    if (!Array.isArray(input.networkRules)) throw new ValidationError('networkRules', 'must be a list of NetworkPolicy ingress rules');
    networkRules = input.networkRules.map((r, i) => jsonObject(`networkRules[${i}]`, r));
  }
  let egressRules: JsonObject[] | null = null;
  if (input.egressRules != null) {
    if (!Array.isArray(input.egressRules)) throw new ValidationError('egressRules', 'must be a list of NetworkPolicy egress rules');
    egressRules = input.egressRules.map((r, i) => jsonObject(`egressRules[${i}]`, r));
  }
  let allowedTiers: string[] | null = null;
  if (input.allowedTiers != null) {
    if (!Array.isArray(input.allowedTiers)) throw new ValidationError('allowedTiers', 'must be a list of tier names');
    allowedTiers = input.allowedTiers.map((t, i) => text(`allowedTiers[${i}]`, t, { max: 63, pattern: TIER, patternHint: 'must be a lower-case tier name such as small' }));
  }
  return { podSecurity, networkRules, egressRules, allowedTiers };
}

function domainSuffixInput(value: unknown): string[] | null {
  if (value === undefined || value === null) return null;
  if (!Array.isArray(value) || value.length > 64) throw new ValidationError('domainSuffixes', 'must be a list of at most 64 domain patterns');
  return value.map((p, i) =>
    text(`domainSuffixes[${i}]`, p, { max: 253, pattern: DOMAIN_SUFFIX_PATTERN, patternHint: 'must be a host name, optionally starting with "*." and using {userId}' }),
  );
}

function toTemplate(row: ProductTemplateRow): ProductTemplate {
  return { id: row.id, name: row.name, description: row.description, createdAt: row.created_at };
}

export function toVersion(row: ProductTemplateVersionRow): ProductTemplateVersion {
  return {
    id: row.id,
    templateId: row.template_id,
    version: row.version,
    chart: parseChartReference(row.helm_chart_path),
    chartVersion: row.chart_version,
    defaultValues: row.default_values as JsonObject,
    valuesSchema: row.values_schema as JsonObject | null,
    tier: row.tier,
    podSecurity: isPodSecurityLevel(row.pod_security) ? row.pod_security : null,
    networkRules: (row.network_rules as JsonObject[] | null) ?? null,
    egressRules: (row.egress_rules as JsonObject[] | null) ?? null,
    allowedTiers: (row.allowed_tiers as string[] | null) ?? null,
    domainSuffixes: (row.domain_suffixes as string[] | null) ?? null,
    createdAt: row.created_at,
  };
}
