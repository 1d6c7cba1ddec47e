// Admin: templates and their versions; publish a new version.
import { useState, type FormEvent } from 'react';
import { parse } from 'yaml';
import { get, post } from '../api';
import { ErrorNote, Section, useLoad } from '../components/ui';
import { time } from '../format';
import type { Template, TemplateDetail, TemplateList, Version } from '../types';

function chartText(c: Record<string, unknown>): string {
  if (c['kind'] === 'local') return `local ${String(c['path'])}`;
  if (c['kind'] === 'oci') return String(c['ref']);
  if (c['kind'] === 'repo') return `${String(c['repoUrl'])} ${String(c['chart'])}`;
  return JSON.stringify(c);
}

function parseObject(text: string, what: string): Record<string, unknown> | null {
  if (text.trim() === '') return null;
  const v: unknown = parse(text);
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error(`${what} must be a mapping (YAML or JSON object)`);
  return v as Record<string, unknown>;
}

export function TemplatesPage() {
  const list = useLoad(() => get<TemplateList>('/templates'), []);
  const [selected, setSelected] = useState<string>('');
  const current = selected || list.data?.items[0]?.id || '';
  const detail = useLoad(() => (current ? get<TemplateDetail>(`/templates/${current}`) : Promise.resolve(undefined)), [current]);
  return (
    <>
      <h1>Templates</h1>
      <ErrorNote error={list.error} />
      <div className="grid">
        <Section title="Templates">
          <ul className="pick-list">
            {list.data?.items.map((t) => (
              <li key={t.id}>
                <button type="button" aria-pressed={t.id === current} onClick={() => setSelected(t.id)}>
                  {t.name}
                </button>{' '}
                <span className="hint">{t.description}</span>
              </li>
            ))}
          </ul>
          <NewTemplate onDone={(id) => (list.reload(), setSelected(id))} />
        </Section>
        {detail.data && (
          <Section title={`Versions of ${detail.data.name}`} id="versions">
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">Version</th>
                  <th scope="col">Chart</th>
                  <th scope="col">Schema</th>
                  <th scope="col">Published</th>
                </tr>
              </thead>
              <tbody>
                {detail.data.versions.map((v: Version) => (
                  <tr key={v.id} data-testid="version-row">
                    <td>{v.version}</td>
                    <td>
                      <code>{chartText(v.chart)}</code>
                      {v.chartVersion ? ` ${v.chartVersion}` : ''}
                    </td>
                    <td>{v.valuesSchema ? 'yes' : 'no'}</td>
                    <td>{time(v.createdAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <PublishVersion template={detail.data} onDone={detail.reload} />
          </Section>
        )}
      </div>
    </>
  );
}

function NewTemplate({ onDone }: { onDone: (id: string) => void }) {
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [error, setError] = useState<unknown>();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    try {
      const t = await post<Template>('/templates', { name, ...(description ? { description } : {}) });
      setName('');
      setDescription('');
      onDone(t.id);
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form onSubmit={(e) => void submit(e)} className="form">
      <h3>New template</h3>
      <div className="field">
        <label htmlFor="t-name">Name (a DNS label)</label>
        <input id="t-name" required value={name} onChange={(e) => setName(e.target.value.trim())} />
      </div>
      <div className="field">
        <label htmlFor="t-desc">Description</label>
        <input id="t-desc" value={description} onChange={(e) => setDescription(e.target.value)} />
      </div>
      <ErrorNote error={error} />
      <button type="submit" disabled={!name}>
        Create template
      </button>
    </form>
  );
}

function PublishVersion({ template, onDone }: { template: TemplateDetail; onDone: () => void }) {
  const [version, setVersion] = useState('');
  const [kind, setKind] = useState<'local' | 'oci' | 'repo'>('oci');
  const [ref, setRef] = useState('');
  const [chart, setChart] = useState('');
  const [chartVersion, setChartVersion] = useState('');
  const [defaults, setDefaults] = useState('');
  const [schema, setSchema] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState<string>();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    setDone(undefined);
    setBusy(true);
    try {
      const chartRef = kind === 'local' ? { kind, path: ref } : kind === 'oci' ? { kind, ref } : { kind, repoUrl: ref, chart };
      const body = {
        version,
        chart: chartRef,
        ...(chartVersion ? { chartVersion } : {}),
        ...(defaults.trim() ? { defaultValues: parseObject(defaults, 'Default values') } : {}),
        ...(schema.trim() ? { valuesSchema: parseObject(schema, 'Values schema') } : {}),
      };
      const v = await post<Version>(`/templates/${template.id}/versions`, body);
      setDone(`Published ${template.name}@${v.version}.`);
      setVersion('');
      onDone();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form onSubmit={(e) => void submit(e)} className="form">
      <h3>Publish a version</h3>
      <p className="hint">Versions are immutable once published; the chart is checked (rendered) before it is accepted.</p>
      <div className="field">
        <label htmlFor="v-version">Version (semver)</label>
        <input id="v-version" required placeholder="1.2.0" value={version} onChange={(e) => setVersion(e.target.value.trim())} />
      </div>
      <div className="field">
        <label htmlFor="v-kind">Chart source</label>
        <select id="v-kind" value={kind} onChange={(e) => setKind(e.target.value as 'local' | 'oci' | 'repo')}>
          <option value="oci">OCI registry</option>
          <option value="repo">Helm repository</option>
          <option value="local">Local path (development)</option>
        </select>
      </div>
      <div className="field">
        <label htmlFor="v-ref">{kind === 'local' ? 'Chart directory' : kind === 'oci' ? 'OCI reference (oci://…)' : 'Repository URL'}</label>
        <input id="v-ref" required value={ref} onChange={(e) => setRef(e.target.value.trim())} />
      </div>
      {kind === 'repo' && (
        <div className="field">
          <label htmlFor="v-chart">Chart name</label>
          <input id="v-chart" required value={chart} onChange={(e) => setChart(e.target.value.trim())} />
        </div>
      )}
      {kind !== 'local' && (
        <div className="field">
          <label htmlFor="v-chartversion">Chart version</label>
          <input id="v-chartversion" value={chartVersion} onChange={(e) => setChartVersion(e.target.value.trim())} />
        </div>
      )}
      <div className="field">
        <label htmlFor="v-defaults">Default values (YAML or JSON)</label>
        <textarea id="v-defaults" rows={5} spellCheck={false} value={defaults} onChange={(e) => setDefaults(e.target.value)} />
      </div>
      <div className="field">
        <label htmlFor="v-schema">Values schema (JSON Schema, YAML or JSON; optional)</label>
        <textarea id="v-schema" rows={5} spellCheck={false} value={schema} onChange={(e) => setSchema(e.target.value)} />
      </div>
      <ErrorNote error={error} />
      {done && (
        <p className="notice" role="status">
          {done}
        </p>
      )}
      <button type="submit" className="primary" disabled={busy || !version || !ref}>
        {busy ? 'Publishing…' : 'Publish version'}
      </button>
    </form>
  );
}
