// The template version a request names. A reference that names nothing is the
// client's mistake in that field (422), not a missing resource (404).
import type { Kysely } from 'kysely';
import { resolveTemplateVersionRef, type ProductTemplate, type ProductTemplateVersion } from '../db/repositories/templates.ts';
import type { Database } from '../db/schema.ts';
import { ProblemType, unprocessable } from './problems.ts';

export interface ResolvedVersion {
  template: ProductTemplate;
  version: ProductTemplateVersion;
}

export async function resolveVersionRef(db: Kysely<Database>, ref: string, field = '/body/templateVersionId'): Promise<ResolvedVersion> {
  const found = await resolveTemplateVersionRef(db, ref);
  if (!found) throw unprocessable(ProblemType.Validation, field, `names no template version (${ref})`);
  return found;
}

/** Versions kept at most; a platform has tens, this only bounds a pathological one. */
const VERSION_CACHE_MAX = 10_000;

/**
 * Template versions (and their templates) by version id, kept for the
 * server's life: a version row never changes once written (the trigger of
 * migration 0001 refuses any update) and nothing updates or deletes
 * templates, so an entry cannot go stale. What the hot routes read per
 * request (GET /instances/{id}: default values; POST /instances: the
 * version) then costs no round trip after the first. Only found versions are
 * kept; name@version references still ask the database.
 */
export class VersionCache {
  readonly #db: Kysely<Database>;
  readonly #byId = new Map<string, ResolvedVersion>();

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /** resolveVersionRef, from memory when `ref` is the id of a version seen before. */
  async resolve(ref: string, field?: string): Promise<ResolvedVersion> {
    const hit = this.#byId.get(ref.toLowerCase());
    if (hit) return hit;
    const found = await resolveVersionRef(this.#db, ref, field);
    this.#remember(found);
    return found;
  }

  /** The version with this id, or undefined. */
  async version(id: string): Promise<ProductTemplateVersion | undefined> {
    const hit = this.#byId.get(id.toLowerCase());
    if (hit) return hit.version;
    const found = await resolveTemplateVersionRef(this.#db, id);
    if (found) this.#remember(found);
    return found?.version;
  }

  #remember(found: ResolvedVersion): void {
    if (this.#byId.size >= VERSION_CACHE_MAX) this.#byId.delete(this.#byId.keys().next().value!);
    this.#byId.set(found.version.id.toLowerCase(), found);
  }
}
