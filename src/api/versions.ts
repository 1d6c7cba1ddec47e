// Resolving the template version a request names: a version UUID or
// `<template name>@<version>`. A reference that names nothing is the client's
// mistake in that field (422), not a missing resource (404).
import type { Kysely } from 'kysely';
import { ValidationError } from '../db/errors.ts';
import { findTemplateVersion, getTemplate, getTemplateVersion, type ProductTemplate, type ProductTemplateVersion } from '../db/repositories/templates.ts';
import type { Database } from '../db/schema.ts';
import { isUuid } from '../db/validate.ts';
import { ProblemType, unprocessable } from './problems.ts';

export interface ResolvedVersion {
  template: ProductTemplate;
  version: ProductTemplateVersion;
}

export async function resolveVersionRef(db: Kysely<Database>, ref: string, field = '/body/templateVersionId'): Promise<ResolvedVersion> {
  if (isUuid(ref)) {
    const version = await getTemplateVersion(db, ref);
    const template = version && (await getTemplate(db, version.templateId));
    if (version && template) return { template, version };
  } else {
    const at = ref.lastIndexOf('@');
    try {
      const found = await findTemplateVersion(db, ref.slice(0, at), ref.slice(at + 1));
      if (found) return found;
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      throw unprocessable(ProblemType.Validation, field, `is not a valid version reference: ${err.message}`);
    }
  }
  throw unprocessable(ProblemType.Validation, field, `names no template version (${ref})`);
}
