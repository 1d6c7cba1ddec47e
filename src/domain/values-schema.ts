// Validation of instance overrides against a template version's values_schema
// (JSON Schema, draft-07 / 2019 keywords as ajv supports them). Pure: callers
// pass the schema and the values; errors name the JSON path of the offending
// value (`$.resources.limits.cpu`), which is what a user can act on.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';

export interface ValuesSchemaViolation {
  /** JSON path into the values, `$` for the root. */
  path: string;
  message: string;
}

export type ValuesSchemaResult = { ok: true } | { ok: false; violations: ValuesSchemaViolation[] };

// strict: false because schemas are written by template authors (often copied
// from a chart's values.schema.json with `x-` annotations) and unknown
// keywords must not make a template unusable. Formats are not validated:
// ajv-formats is not a dependency, and ignoring `format` is what the JSON
// Schema spec allows (it is an annotation by default).
const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false });

// Compiled validators by schema text: the same version's schema is validated
// on every reconcile, compiling it each time would dominate the cost.
const cache = new Map<string, ValidateFunction>();
const CACHE_LIMIT = 256;

function compile(schema: Record<string, unknown>): ValidateFunction {
  const key = JSON.stringify(schema);
  const hit = cache.get(key);
  if (hit) return hit;
  const fn = ajv.compile(schema);
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
  cache.set(key, fn);
  return fn;
}

/** Undefined when `schema` is a usable JSON Schema, else why not. */
export function checkValuesSchema(schema: Record<string, unknown>): string | undefined {
  try {
    compile(schema);
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

export function validateValues(schema: Record<string, unknown>, values: unknown): ValuesSchemaResult {
  const validate = compile(schema);
  if (validate(values)) return { ok: true };
  return { ok: false, violations: (validate.errors ?? []).map(toViolation) };
}

function toViolation(e: ErrorObject): ValuesSchemaViolation {
  const segments = pointerSegments(e.instancePath);
  // For these keywords ajv reports the parent object; the user wants the property.
  const params = e.params as Record<string, unknown>;
  if (e.keyword === 'required' && typeof params['missingProperty'] === 'string') segments.push(params['missingProperty']);
  if (e.keyword === 'additionalProperties' && typeof params['additionalProperty'] === 'string') {
    segments.push(params['additionalProperty']);
    return { path: jsonPath(segments), message: 'is not allowed by the schema' };
  }
  if (e.keyword === 'required') return { path: jsonPath(segments), message: 'is required' };
  return { path: jsonPath(segments), message: e.message ?? `fails ${e.keyword}` };
}

function pointerSegments(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** ['a', '0', 'b-c'] → `$.a[0]["b-c"]` */
export function jsonPath(segments: readonly string[]): string {
  let out = '$';
  for (const s of segments) {
    if (/^(0|[1-9][0-9]*)$/.test(s)) out += `[${s}]`;
    else if (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(s)) out += `.${s}`;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}
