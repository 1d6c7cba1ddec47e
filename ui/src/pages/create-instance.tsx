// Create an instance from a template version: the values form is generated
// from the version's schema and validated as you type; the API validates
// again and its field errors land on the same inputs.
import { useState, type FormEvent } from 'react';
import { ApiError, get, post } from '../api';
import { ErrorNote, useLoad } from '../components/ui';
import { ValuesEditor, useValuesErrors, type ValuesState } from '../components/values-editor';
import { navigate } from '../router';
import { valuesErrorsFromProblem, type FieldErrors, type Schema } from '../values-schema';
import type { Instance, Me, TemplateDetail, TemplateList } from '../types';

export function CreateInstancePage({ me }: { me: Me }) {
  const admin = me.role === 'admin';
  const templates = useLoad(() => get<TemplateList>('/templates'), []);
  const [templateId, setTemplateId] = useState('');
  const detail = useLoad(() => (templateId ? get<TemplateDetail>(`/templates/${templateId}`) : Promise.resolve(undefined)), [templateId]);
  const [versionId, setVersionId] = useState('');
  const versions = detail.data?.versions ?? [];
  const version = versions.find((v) => v.id === versionId) ?? versions.at(-1);
  const [domainName, setDomainName] = useState('');
  const [userId, setUserId] = useState('');
  const [deletionPolicy, setDeletionPolicy] = useState<'Delete' | 'Retain'>('Delete');
  const [values, setValues] = useState<ValuesState>({ values: {} });
  const [serverErrors, setServerErrors] = useState<FieldErrors>({});
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const errors = useValuesErrors(version?.valuesSchema as Schema | null, values, serverErrors);
  const invalid = Object.keys(errors).length > 0 || values.parseError !== undefined;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!version || invalid) return;
    setBusy(true);
    setError(undefined);
    try {
      const created = await post<Instance>('/instances', {
        templateVersionId: version.id,
        values: values.values,
        ...(domainName ? { domainName } : {}),
        ...(admin && userId ? { userId } : {}),
        ...(deletionPolicy !== 'Delete' ? { deletionPolicy } : {}),
      });
      navigate(`/instances/${created.id}`);
    } catch (err) {
      setError(err);
      if (err instanceof ApiError) {
        setServerErrors(valuesErrorsFromProblem(err.problem.errors));
        const other: Record<string, string> = {};
        for (const fe of err.problem.errors ?? []) if (!fe.field.startsWith('/body/values')) other[fe.field.replace('/body/', '')] = fe.message;
        setFieldErrors(other);
      }
    } finally {
      setBusy(false);
    }
  };
  const fieldError = (name: string) =>
    fieldErrors[name] ? (
      <p className="field-error" id={`${name}-error`}>
        {fieldErrors[name]}
      </p>
    ) : null;

  return (
    <>
      <h1>New instance</h1>
      <form className="card form" onSubmit={(e) => void submit(e)} noValidate>
        <ErrorNote error={templates.error} />
        <div className="field">
          <label htmlFor="template">Template</label>
          <select id="template" required value={templateId} onChange={(e) => (setTemplateId(e.target.value), setVersionId(''), setValues({ values: {} }))}>
            <option value="">Choose a template…</option>
            {templates.data?.items.map((t) => (
              <option key={t.id} value={t.id}>
                {t.name}
                {t.description ? ` — ${t.description}` : ''}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="version">Version</label>
          <select id="version" required disabled={!versions.length} value={version?.id ?? ''} onChange={(e) => setVersionId(e.target.value)}>
            {versions.map((v) => (
              <option key={v.id} value={v.id}>
                {v.version}
              </option>
            ))}
          </select>
          {fieldError('templateVersionId')}
        </div>
        <div className="field">
          <label htmlFor="domainName">Domain name (optional)</label>
          <input
            id="domainName"
            type="text"
            placeholder="app.example.com"
            value={domainName}
            onChange={(e) => setDomainName(e.target.value.trim())}
            aria-invalid={fieldErrors['domainName'] ? true : undefined}
            aria-describedby={fieldErrors['domainName'] ? 'domainName-error' : undefined}
          />
          {fieldError('domainName')}
        </div>
        {admin && (
          <div className="field">
            <label htmlFor="userId">Owner (user id)</label>
            <input id="userId" type="text" value={userId} onChange={(e) => setUserId(e.target.value.trim())} aria-describedby={fieldErrors['userId'] ? 'userId-error' : undefined} />
            {fieldError('userId')}
          </div>
        )}
        <div className="field">
          <label htmlFor="deletionPolicy">When deleted</label>
          <select id="deletionPolicy" value={deletionPolicy} onChange={(e) => setDeletionPolicy(e.target.value as 'Delete' | 'Retain')}>
            <option value="Delete">Delete the namespace and its volumes</option>
            <option value="Retain">Retain the namespace and its volumes (admin only)</option>
          </select>
          {fieldError('deletionPolicy')}
        </div>
        {version && (
          <fieldset className="fieldset">
            <legend>Values for {version.version}</legend>
            <ValuesEditor key={version.id} schema={version.valuesSchema as Schema | null} defaults={version.defaultValues} state={values} errors={errors} onChange={(s) => (setValues(s), setServerErrors({}))} />
          </fieldset>
        )}
        <ErrorNote error={error} />
        <div className="actions">
          <button type="submit" className="primary" disabled={!version || invalid || busy}>
            {busy ? 'Creating…' : 'Create instance'}
          </button>
        </div>
      </form>
    </>
  );
}
