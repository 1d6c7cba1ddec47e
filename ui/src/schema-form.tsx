// The create/edit form generated from a template version's values schema.
// Validation runs in the browser against the same JSON Schema the API checks
// (src/domain/values-schema.ts) on every change, and errors show at their field.
// The validator is @cfworker/json-schema, not ajv: ajv compiles schemas to
// functions with `new Function`, which the console's CSP (script-src 'self',
// no 'unsafe-eval') forbids; cfworker interprets the schema instead.
import { Validator, type OutputUnit } from '@cfworker/json-schema';
import type { ReactNode } from 'react';

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

function leafErrors(errors: OutputUnit[]): FieldErrors {
  const out: FieldErrors = {};
  // cfworker reports each failing keyword and every parent that failed because of it; keep the deepest.
  for (const e of errors) {
    if (['properties', 'allOf', 'anyOf', 'items', 'additionalProperties', '$ref'].includes(e.keyword) && e.keyword !== 'additionalProperties') continue;
    let pointer = e.instanceLocation.replace(/^#/, '');
    let message = e.error;
    const missing = /required property "([^"]+)"/.exec(e.error);
    if (e.keyword === 'required' && missing) {
      pointer = `${pointer}/${missing[1]}`;
      message = 'is required';
    }
    const extra = /Property "([^"]+)" does not match additional properties schema/.exec(e.error);
    if (e.keyword === 'additionalProperties' && extra) {
      pointer = `${pointer}/${extra[1]}`;
      message = 'is not allowed by the schema';
    } else if (e.keyword === 'additionalProperties') continue;
    out[pointer] ??= message.replace(/^Instance (type )?/, '').replace(/^does not /, 'does not ');
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

const typeOf = (s: Schema): string | undefined => (Array.isArray(s.type) ? s.type.find((t) => t !== 'null') : s.type);
const fieldId = (path: string[]) => `field-${path.join('-').replace(/[^A-Za-z0-9_-]/g, '_')}`;

interface FormProps {
  schema: Schema;
  values: Record<string, unknown>;
  defaults: Record<string, unknown>;
  errors: FieldErrors;
  onChange: (values: Record<string, unknown>) => void;
}

/** Inputs for the schema's properties; kinds it cannot render as inputs are left to the YAML/JSON tab. */
export function SchemaForm(props: FormProps) {
  const props_ = props.schema.properties ?? {};
  if (Object.keys(props_).length === 0) return <p className="hint">This version's schema lists no properties: use the YAML/JSON tab for overrides.</p>;
  return <Fields {...props} schema={props.schema} path={[]} />;
}

function Fields(p: FormProps & { path: string[] }): ReactNode {
  const entries = Object.entries(p.schema.properties ?? {});
  return entries.map(([name, sub]) => {
    const path = [...p.path, name];
    const required = (p.schema.required ?? []).includes(name);
    const t = typeOf(sub);
    if (t === 'object' && sub.properties) {
      return (
        <fieldset key={name} className="fieldset">
          <legend>{sub.title ?? name}</legend>
          {sub.description && <p className="hint">{sub.description}</p>}
          <Fields {...p} schema={sub} path={path} />
        </fieldset>
      );
    }
    return <Field key={name} {...p} name={name} sub={sub} path={path} required={required} />;
  });
}

function Field(p: FormProps & { name: string; sub: Schema; path: string[]; required: boolean }) {
  const id = fieldId(p.path);
  const pointer = `/${p.path.join('/')}`;
  const error = p.errors[pointer];
  const value = getAt(p.values, p.path);
  const def = getAt(p.defaults, p.path) ?? p.sub.default;
  const t = typeOf(p.sub);
  const set = (v: unknown) => p.onChange(setAt(p.values, p.path, v));
  const describedBy = [p.sub.description ? `${id}-help` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined;
  const common = { id, 'aria-invalid': error ? true : undefined, 'aria-describedby': describedBy } as const;
  let input: ReactNode;
  if (p.sub.enum) {
    input = (
      <select {...common} value={value === undefined ? '' : JSON.stringify(value)} onChange={(e) => set(e.target.value === '' ? undefined : JSON.parse(e.target.value))}>
        <option value="">{def === undefined ? '(not set)' : `default: ${JSON.stringify(def)}`}</option>
        {p.sub.enum.map((o) => (
          <option key={JSON.stringify(o)} value={JSON.stringify(o)}>
            {String(o)}
          </option>
        ))}
      </select>
    );
  } else if (t === 'boolean') {
    input = (
      <select {...common} value={value === undefined ? '' : String(value)} onChange={(e) => set(e.target.value === '' ? undefined : e.target.value === 'true')}>
        <option value="">{def === undefined ? '(not set)' : `default: ${String(def)}`}</option>
        <option value="true">true</option>
        <option value="false">false</option>
      </select>
    );
  } else if (t === 'integer' || t === 'number') {
    input = (
      <input
        {...common}
        type="number"
        inputMode={t === 'integer' ? 'numeric' : 'decimal'}
        step={t === 'integer' ? 1 : 'any'}
        placeholder={def === undefined ? '' : `default: ${String(def)}`}
        value={value === undefined ? '' : String(value)}
        // An unparsable entry is kept as text so the schema check names it, instead of silently dropping it.
        onChange={(e) => set(e.target.value === '' ? undefined : Number.isNaN(Number(e.target.value)) ? e.target.value : Number(e.target.value))}
      />
    );
  } else if (t === 'string' || t === undefined) {
    input = (
      <input
        {...common}
        type="text"
        placeholder={def === undefined ? '' : `default: ${String(def)}`}
        value={value === undefined ? '' : String(value)}
        onChange={(e) => set(e.target.value === '' ? undefined : e.target.value)}
      />
    );
  } else {
    input = <p className="hint">{t} — edit it in the YAML/JSON tab</p>;
  }
  return (
    <div className={`field${error ? ' field-invalid' : ''}`}>
      <label htmlFor={id}>
        {p.sub.title ?? p.name}
        {p.required && <span aria-hidden="true"> *</span>}
        <code className="path">{pointer}</code>
      </label>
      {input}
      {p.sub.description && (
        <p className="hint" id={`${id}-help`}>
          {p.sub.description}
        </p>
      )}
      {error && (
        <p className="field-error" id={`${id}-error`}>
          {error}
        </p>
      )}
    </div>
  );
}
