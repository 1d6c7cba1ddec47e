// The operator's TemplateCatalog backed by the database.
import type { Kysely } from 'kysely';
import type { ResolvedTemplateVersion, TemplateCatalog } from '../domain/catalog.ts';
import type { Database } from './schema.ts';
import { findTemplateVersion, getTemplate, getTemplateVersion, type ProductTemplate, type ProductTemplateVersion } from './repositories/templates.ts';
import { DNS_LABEL, isUuid } from './validate.ts';

export class DbTemplateCatalog implements TemplateCatalog {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /** `ref` is a version uuid or `<template name>@<version>`; undefined when it names no version (or is malformed). */
  async resolve(ref: string): Promise<ResolvedTemplateVersion | undefined> {
    if (isUuid(ref)) {
      const version = await getTemplateVersion(this.#db, ref);
      if (!version) return undefined;
      const template = await getTemplate(this.#db, version.templateId);
      return template && resolved(template, version);
    }
    const at = ref.lastIndexOf('@');
    const name = ref.slice(0, at);
    const version = ref.slice(at + 1);
    if (at <= 0 || !DNS_LABEL.test(name) || version.length === 0 || version.length > 128) return undefined;
    try {
      const found = await findTemplateVersion(this.#db, name, version);
      return found && resolved(found.template, found.version);
    } catch (err) {
      // A malformed version ("1.x") names no version; anything else is a real failure.
      if (err instanceof Error && 'code' in err && err.code === 'VALIDATION') return undefined;
      throw err;
    }
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
    ...(v.chartDigest === null ? {} : { chartDigest: v.chartDigest }),
    ...(v.secrets.length === 0 ? {} : { secrets: v.secrets }),
  };
}
