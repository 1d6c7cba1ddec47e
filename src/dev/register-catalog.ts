// Registers every template version of a catalog file (charts/catalog.yaml by
// default) in the database, so `caelus dev` starts with the example products
// the API can instantiate. Idempotent: a template or version that already
// exists is kept (versions are immutable), so a second run on the same data
// creates nothing twice.
import type { Kysely } from 'kysely';
import { parse } from 'yaml';
import type { ResolvedTemplateVersion } from '../domain/catalog.ts';
import { createTemplate, createTemplateVersion, findTemplateVersion, getTemplate, type ProductTemplate } from '../db/repositories/templates.ts';
import type { Database } from '../db/schema.ts';
import { parseCatalog, readCatalogFile } from '../operator/file-catalog.ts';

export type RegistrationOutcome =
  /** Inserted by this run. */
  | 'created'
  /** Already there with the same chart and defaults. */
  | 'exists'
  /** Already there but the file now says something else; versions are immutable, so the stored one stays. */
  | 'differs';

export interface RegisteredVersion {
  template: string;
  version: string;
  /** The version's id in the database. */
  id: string;
  outcome: RegistrationOutcome;
}

/** Template descriptions: optional `description` next to `name` in the file (parseCatalog reads versions only). */
function descriptions(text: string): Map<string, string> {
  const doc = parse(text) as { templates?: Array<{ name?: unknown; description?: unknown }> };
  const out = new Map<string, string>();
  for (const t of doc.templates ?? []) {
    if (typeof t?.name === 'string' && typeof t.description === 'string') out.set(t.name, t.description);
  }
  return out;
}

const sameJson = (a: unknown, b: unknown): boolean => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

export async function registerCatalog(db: Kysely<Database>, file: string, opts: { actor: string }): Promise<RegisteredVersion[]> {
  const { path, text } = await readCatalogFile(file);
  const versions = parseCatalog(path, text);
  const described = descriptions(text);
  const templates = new Map<string, ProductTemplate>();
  const out: RegisteredVersion[] = [];
  for (const v of versions) {
    let template = templates.get(v.templateName) ?? (await getTemplate(db, v.templateName));
    template ??= await createTemplate(db, { name: v.templateName, description: described.get(v.templateName) ?? '' }, opts);
    templates.set(v.templateName, template);
    const existing = await findTemplateVersion(db, v.templateName, v.version);
    if (existing) {
      const same = sameJson(existing.version.chart, v.chart) && sameJson(existing.version.defaultValues, v.defaultValues);
      out.push({ template: v.templateName, version: v.version, id: existing.version.id, outcome: same ? 'exists' : 'differs' });
      continue;
    }
    const created = await createTemplateVersion(db, newVersion(template.id, v), opts);
    out.push({ template: v.templateName, version: v.version, id: created.id, outcome: 'created' });
  }
  return out;
}

function newVersion(templateId: string, v: ResolvedTemplateVersion) {
  return {
    templateId,
    version: v.version,
    chart: v.chart,
    chartVersion: v.chartVersion ?? null,
    defaultValues: v.defaultValues,
    valuesSchema: v.valuesSchema ?? null,
    tier: v.tier ?? null,
    allowedTiers: v.allowedTiers ?? null,
    podSecurity: v.podSecurity ?? null,
    networkRules: v.networkRules ?? null,
    egressRules: v.egressRules ?? null,
  };
}
