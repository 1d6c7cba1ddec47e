// Values against a template version's values schema, in the browser: the
// same JSON Schema the API checks (src/domain/values-schema.ts), run on every
// change so errors show at their field. The validator is
// @cfworker/json-schema, not ajv: ajv compiles schemas to
// functions with `new Function`, which the console's CSP (script-src 'self',
// no 'unsafe-eval') forbids; cfworker interprets the schema instead.
import { Validator, type OutputUnit } from '@cfworker/json-schema';

export type Schema = {
  type?: string | string[];
  title?: string;
  description?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  enum?: unknown[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  [k: string]: unknown;
};

/** Field errors by JSON pointer into the values ('' = the root). */
export type FieldErrors = Record<string, string>;

// cfworker reports every failing keyword and each parent that failed because
// of a child; these parent keywords only repeat what a child says.
const PARENT_KEYWORDS = new Set(['properties', 'patternProperties', 'items', 'prefixItems', 'additionalItems', 'allOf', '$ref', 'if', 'then', 'else', 'dependentSchemas', 'false']);

/** Errors by JSON pointer, one per field, worded like the API's (src/domain/values-schema.ts). */
export function leafErrors(errors: OutputUnit[]): FieldErrors {
  const out: FieldErrors = {};
  for (const e of errors) {
    if (PARENT_KEYWORDS.has(e.keyword)) continue;
    let pointer = e.instanceLocation.replace(/^#/, '');
    let message = e.error.replace(/^Instance /, '').replace(/\.$/, '');
    const named = /Property "([^"]+)"|property "([^"]+)"/.exec(e.error);
    if (e.keyword === 'required' && named) {
      pointer = `${pointer}/${named[2] ?? named[1]}`;
      message = 'is required';
    } else if (e.keyword === 'additionalProperties' && named) {
      pointer = `${pointer}/${named[1] ?? named[2]}`;
      message = 'is not allowed by the schema';
    }
    out[pointer] ??= message;
  }
  return out;
}

const cache = new Map<string, Validator>();
export function validateValues(schema: Schema | null | undefined, values: unknown): FieldErrors {
  if (!schema) return {};
  const key = JSON.stringify(schema);
  let v = cache.get(key);
  if (!v) {
    v = new Validator(schema as never, '7', false);
    cache.set(key, v);
  }
  const r = v.validate(values);
  return r.valid ? {} : leafErrors(r.errors);
}

/** API problem fields (`/body/values/a/b`) as pointers into the values (`/a/b`). */
export function valuesErrorsFromProblem(errors: Array<{ field: string; message: string }> | undefined): FieldErrors {
  const out: FieldErrors = {};
  for (const e of errors ?? []) {
    if (e.field.startsWith('/body/values')) out[e.field.slice('/body/values'.length)] = e.message;
  }
  return out;
}

export function getAt(obj: unknown, path: string[]): unknown {
  let cur = obj;
  for (const k of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

/** A copy with path set (undefined removes it, and empty parents with it: the default applies again). */
export function setAt(obj: Record<string, unknown>, path: string[], value: unknown): Record<string, unknown> {
  const [head, ...rest] = path;
  if (head === undefined) return obj;
  const copy = { ...obj };
  if (rest.length === 0) {
    if (value === undefined) delete copy[head];
    else copy[head] = value;
    return copy;
  }
  const child = copy[head];
  const next = setAt(child && typeof child === 'object' && !Array.isArray(child) ? (child as Record<string, unknown>) : {}, rest, value);
  if (Object.keys(next).length === 0) delete copy[head];
  else copy[head] = next;
  return copy;
}

