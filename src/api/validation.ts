// Request validation with ajv, one instance per kind of input. Bodies are
// JSON: no type coercion (a string "3" for an integer is a client bug to
// report, not to paper over), no removal of unknown properties (they are
// rejected: `additionalProperties: false`), every error reported at once.
// Query strings and path parameters are text by nature, so there numbers and
// booleans are coerced and defaults applied.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { FastifySchemaCompiler } from 'fastify';
import type { FieldError } from './problems.ts';

const bodyAjv = new Ajv({ allErrors: true, discriminator: true, coerceTypes: false, removeAdditional: false, useDefaults: false, strict: false, validateFormats: false, verbose: true });
const textAjv = new Ajv({ allErrors: true, coerceTypes: true, removeAdditional: false, useDefaults: true, strict: false, validateFormats: false, verbose: true });

export const validatorCompiler: FastifySchemaCompiler<Record<string, unknown>> = ({ schema, httpPart }) => {
  const fn: ValidateFunction = (httpPart === 'body' ? bodyAjv : textAjv).compile(schema);
  return fn;
};

/** Fastify's name for the part → the first segment of our field pointers. */
const PART: Record<string, string> = { body: 'body', querystring: 'query', params: 'params', headers: 'headers' };

/** ajv errors → field errors naming a JSON pointer into the request (`/body/values/port`). */
export function fieldErrors(context: string, errors: readonly ErrorObject[]): FieldError[] {
  const base = `/${PART[context] ?? context}`;
  const out: FieldError[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    const params = e.params as Record<string, unknown>;
    let field = base + e.instancePath;
    let message = e.message ?? `fails ${e.keyword}`;
    if (e.keyword === 'additionalProperties' && typeof params['additionalProperty'] === 'string') {
      field += `/${escape(params['additionalProperty'])}`;
      message = 'is not a known field';
    } else if (e.keyword === 'required' && typeof params['missingProperty'] === 'string') {
      field += `/${escape(params['missingProperty'])}`;
      message = 'is required';
    } else if (e.keyword === 'discriminator' && typeof params['tag'] === 'string') {
      field += `/${escape(params['tag'])}`;
      message = `must be one of ${discriminatorValues(e.parentSchema, params['tag']).join(', ')}`;
    } else if (e.keyword === 'pattern' && typeof e.parentSchema === 'object' && e.parentSchema !== null) {
      const hint = (e.parentSchema as Record<string, unknown>)['description'];
      if (typeof hint === 'string') message = `must match ${hint}`;
    }
    // oneOf/anyOf add a summary error after their branch errors; keep the specific ones.
    const key = `${field}\u0000${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ field, message });
  }
  return out;
}

/** The `const` values of the tag property across a discriminated oneOf. */
function discriminatorValues(schema: unknown, tag: string): string[] {
  const branches = (schema as { oneOf?: Array<{ properties?: Record<string, { const?: unknown }> }> } | undefined)?.oneOf ?? [];
  return branches.map((b) => b.properties?.[tag]?.const).filter((v): v is string => typeof v === 'string');
}

function escape(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** `$.a[0]["b-c"]` (src/domain/values-schema.ts) → `/a/0/b-c`. */
export function jsonPathToPointer(path: string): string {
  let out = '';
  const re = /\.([A-Za-z_$][A-Za-z0-9_$]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/g;
  for (const m of path.slice(1).matchAll(re)) {
    const seg = m[1] ?? m[2] ?? (m[3] === undefined ? '' : (JSON.parse(m[3]) as string));
    out += `/${escape(seg)}`;
  }
  return out;
}
