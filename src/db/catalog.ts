// The operator's TemplateCatalog backed by the database, with a cache of
// what it resolved: template versions are immutable (a trigger refuses
// updates), so a version resolved once is the same for the life of the
// process, and an instance whose version is cached keeps reconciling while
// the database is down (issue 14 point 8).
import type { Kysely } from 'kysely';
import type { ResolvedTemplateVersion, TemplateCatalog } from '../domain/catalog.ts';
import type { Database } from './schema.ts';
import { resolveTemplateVersionRef, type ProductTemplate, type ProductTemplateVersion } from './repositories/templates.ts';

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
    const cached = this.#resolved.get(ref);
    if (cached) return structuredClone(cached);
    const found = await resolveTemplateVersionRef(this.#db, ref);
    if (!found) return undefined;
    const version = resolved(found.template, found.version);
    this.#resolved.set(ref, version);
    this.#resolved.set(version.id, version);
    this.#resolved.set(`${version.templateName}@${version.version}`, version);
    return structuredClone(version);
  }

  /** How many references are cached (tests, metrics). */
  get cachedReferences(): number {
    return this.#resolved.size;
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
    ...(v.domainSuffixes === null ? {} : { domainSuffixes: v.domainSuffixes }),
  };
}
