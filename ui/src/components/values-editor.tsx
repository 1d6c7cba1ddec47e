// Overrides for a template version: a generated form and a YAML/JSON tab on
// the same object. The text tab parses on every keystroke; while it does not
// parse, the form keeps the last good object and the error is shown.
import { useState, type KeyboardEvent } from 'react';
import { parse, stringify } from 'yaml';
import { SchemaForm } from '../schema-form';
import { validateValues, type FieldErrors, type Schema } from '../values-schema';

export interface ValuesState {
  values: Record<string, unknown>;
  /** Text of the YAML/JSON tab does not parse to an object. */
  parseError?: string;
}

export function useValuesErrors(schema: Schema | null | undefined, state: ValuesState, serverErrors: FieldErrors): FieldErrors {
  return { ...serverErrors, ...validateValues(schema, state.values) };
}

export function ValuesEditor(props: {
  schema: Schema | null | undefined;
  defaults: Record<string, unknown>;
  state: ValuesState;
  errors: FieldErrors;
  onChange: (s: ValuesState) => void;
}) {
  const [tab, setTab] = useState<'form' | 'text'>(props.schema?.properties ? 'form' : 'text');
  const [text, setText] = useState(() => (Object.keys(props.state.values).length ? stringify(props.state.values) : ''));

  const selectTab = (t: 'form' | 'text') => {
    if (t === 'text') setText(Object.keys(props.state.values).length ? stringify(props.state.values) : '');
    setTab(t);
  };
  const onText = (t: string) => {
    setText(t);
    try {
      const v: unknown = t.trim() === '' ? {} : parse(t);
      if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('the overrides must be a mapping (an object), e.g. "replicaCount: 2"');
      props.onChange({ values: v as Record<string, unknown> });
    } catch (err) {
      props.onChange({ values: props.state.values, parseError: err instanceof Error ? err.message : String(err) });
    }
  };
  // Arrow keys move between tabs (WAI-ARIA tabs pattern).
  const onTabKey = (e: KeyboardEvent) => {
    if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
      const next = tab === 'form' ? 'text' : 'form';
      selectTab(next);
      document.getElementById(`tab-${next}`)?.focus();
    }
  };
  const errorList = Object.entries(props.errors);
  return (
    <div className="values-editor">
      <div role="tablist" aria-label="How to edit the values" className="tabs">
        <button type="button" role="tab" id="tab-form" aria-selected={tab === 'form'} aria-controls="panel-form" tabIndex={tab === 'form' ? 0 : -1} onClick={() => selectTab('form')} onKeyDown={onTabKey}>
          Form
        </button>
        <button type="button" role="tab" id="tab-text" aria-selected={tab === 'text'} aria-controls="panel-text" tabIndex={tab === 'text' ? 0 : -1} onClick={() => selectTab('text')} onKeyDown={onTabKey}>
          YAML / JSON
        </button>
      </div>
      {tab === 'form' ? (
        <div role="tabpanel" id="panel-form" aria-labelledby="tab-form">
          {props.schema ? (
            <SchemaForm schema={props.schema} values={props.state.values} defaults={props.defaults} errors={props.errors} onChange={(values) => props.onChange({ values })} />
          ) : (
            <p className="hint">This version has no values schema: write overrides in the YAML/JSON tab.</p>
          )}
        </div>
      ) : (
        <div role="tabpanel" id="panel-text" aria-labelledby="tab-text">
          <label htmlFor="values-text">Overrides (YAML or JSON; merged over the template defaults)</label>
          <textarea id="values-text" rows={10} spellCheck={false} value={text} onChange={(e) => onText(e.target.value)} aria-describedby="values-text-errors" />
          <div id="values-text-errors">
            {props.state.parseError && <p className="field-error">Does not parse: {props.state.parseError}</p>}
            {errorList.length > 0 && (
              <ul className="field-error">
                {errorList.map(([p, m]) => (
                  <li key={p}>
                    <code>{p || '/'}</code> {m}
                  </li>
                ))}
              </ul>
            )}
          </div>
        </div>
      )}
    </div>
  );
}
