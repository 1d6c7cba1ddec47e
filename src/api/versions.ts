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
