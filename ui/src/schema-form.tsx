// The create/edit form generated from a template version's values schema:
// one input per property it can render, errors (values-schema.ts) at the field.
import type { ReactNode } from 'react';
import { getAt, setAt, type FieldErrors, type Schema } from './values-schema';

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
