// The operator's TemplateCatalog backed by the database.
import type { Kysely } from 'kysely';
import type { ResolvedTemplateVersion, TemplateCatalog } from '../domain/catalog.ts';
import type { Database } from './schema.ts';
import { resolveTemplateVersionRef, type ProductTemplate, type ProductTemplateVersion } from './repositories/templates.ts';

export class DbTemplateCatalog implements TemplateCatalog {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /** `ref` is a version uuid or `<template name>@<version>`; undefined when it names no version (or is malformed). */
  async resolve(ref: string): Promise<ResolvedTemplateVersion | undefined> {
    const found = await resolveTemplateVersionRef(this.#db, ref);
    return found && resolved(found.template, found.version);
  }
}

function resolved(template: ProductTemplate, v: ProductTemplateVersion): ResolvedTemplateVersion {
  return {
    id: v.id,
    templateId: template.id,
    templateName: template.name,
    version: v.version,
    chart: v.chart,
    ...(v.chartVersion === null ? {} : { chartVersion: v.chartVersion }),
    defaultValues: v.defaultValues,
    ...(v.valuesSchema === null ? {} : { valuesSchema: v.valuesSchema }),
    ...(v.tier === null ? {} : { tier: v.tier }),
    ...(v.allowedTiers === null ? {} : { allowedTiers: v.allowedTiers }),
    ...(v.podSecurity === null ? {} : { podSecurity: v.podSecurity }),
    ...(v.networkRules === null ? {} : { networkRules: v.networkRules }),
  };
}
