// The operator's TemplateCatalog backed by the database, with a cache of
// what it resolved: template versions are immutable (a trigger refuses
// updates), so a version resolved once is the same for the life of the
// process, and an instance whose version is cached keeps reconciling while
// the database is down (issue 14 point 8).
import type { Kysely } from 'kysely';
import type { ResolvedTemplateVersion, TemplateCatalog } from '../domain/catalog.ts';
import type { Database } from './schema.ts';
import { findTemplateVersion, getTemplate, getTemplateVersion, type ProductTemplate, type ProductTemplateVersion } from './repositories/templates.ts';
import { DNS_LABEL, isUuid } from './validate.ts';

export class DbTemplateCatalog implements TemplateCatalog {
  readonly #db: Kysely<Database>;
  /**
   * ref (version id, or name@version) → the version it resolved to. Misses are
   * not cached: a version may be published later. One entry per reference in
   * use, so it grows with the catalog, not with instances.
   */
  readonly #resolved = new Map<string, ResolvedTemplateVersion>();

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /**
   * `ref` is a version uuid or `<template name>@<version>`; undefined when it
   * names no version (or is malformed). A reference resolved before is
   * answered from memory; otherwise a database failure is thrown (DataError).
   */
  async resolve(ref: string): Promise<ResolvedTemplateVersion | undefined> {
    const key = isUuid(ref) ? ref.toLowerCase() : ref;
    const cached = this.#resolved.get(key);
    if (cached) return structuredClone(cached);
    const found = await this.#load(ref);
    if (found) {
      this.#resolved.set(key, found);
      this.#resolved.set(found.id, found);
      return structuredClone(found);
    }
    return undefined;
  }

  /** How many references are cached (tests, metrics). */
  get cachedReferences(): number {
    return this.#resolved.size;
  }

  async #load(ref: string): Promise<ResolvedTemplateVersion | undefined> {
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
    ...(v.egressRules === null ? {} : { egressRules: v.egressRules }),
  };
}
