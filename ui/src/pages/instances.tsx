// The instances list: one page at a time from the server (filters, sort and
// cursor pagination are the API's), patched live from the change stream.
import { useCallback, useEffect, useRef, useState } from 'react';
import { get, query } from '../api';
import { useChanges, useInterval } from '../changes';
import { LiveIndicator } from '../components/live';
import { ErrorNote, PhaseBadge, Tag, useLoad } from '../components/ui';
import { age, time } from '../format';
import { Link, navigate } from '../router';
import type { Instance, InstanceChange, InstancePage, Me, TemplateDetail, TemplateList } from '../types';

const PHASES = ['Pending', 'Installing', 'Running', 'Upgrading', 'Hibernated', 'Failed', 'Deleting', 'Suspended'];
const SORTS: Array<[string, string]> = [
  ['-createdAt', 'Newest first'],
  ['createdAt', 'Oldest first'],
  ['namespace', 'Name A–Z'],
  ['-namespace', 'Name Z–A'],
  ['status', 'Phase A–Z'],
  ['-status', 'Phase Z–A'],
  ['-updatedAt', 'Recently changed'],
  ['updatedAt', 'Least recently changed'],
];
const PAGE_SIZE = 25;
const POLL_MS = 3000;
const FILTERS = ['q', 'status', 'templateId', 'templateVersionId', 'outdated', 'userId', 'sort'] as const;

export function InstancesPage({ me, search }: { me: Me; search: URLSearchParams }) {
  const admin = me.role === 'admin';
  // Filters live in the URL: the back button and a shared link keep them.
  const f = Object.fromEntries(FILTERS.map((k) => [k, search.get(k) ?? ''])) as Record<(typeof FILTERS)[number], string>;
  const setFilter = (k: string, v: string) => {
    const next = new URLSearchParams(search);
    if (v) next.set(k, v);
    else next.delete(k);
    if (k === 'templateId') next.delete('templateVersionId');
    navigate(`/${next.toString() ? `?${next}` : ''}`, { replace: true });
  };
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors.at(-1);
  const key = FILTERS.map((k) => f[k]).join('|');
  useEffect(() => setCursors([]), [key]);

  const [page, setPage] = useState<InstancePage>();
  const [error, setError] = useState<unknown>();
  const [loadedAt, setLoadedAt] = useState<Date>();
  const seq = useRef(0);
  const load = useCallback(async () => {
    const mine = ++seq.current;
    try {
      const p = await get<InstancePage>(
        `/instances${query({ limit: PAGE_SIZE, cursor, q: f.q, status: f.status, templateId: f.templateId, templateVersionId: f.templateVersionId, outdated: f.outdated, userId: admin ? f.userId : '', sort: f.sort === '-createdAt' ? '' : f.sort })}`,
      );
      if (mine !== seq.current) return;
      setPage(p);
      setError(undefined);
      setLoadedAt(new Date());
    } catch (err) {
      if (mine === seq.current) setError(err);
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps -- key covers the filters
  }, [key, cursor, admin]);
  useEffect(() => void load(), [load]);

  // A change to a row on this page patches it; anything else (a new or deleted instance) reloads the page, at most every 500 ms.
  const reloadTimer = useRef<ReturnType<typeof setTimeout>>(undefined);
  const onChange = (c: InstanceChange) => {
    const onPage = page?.items.some((i) => i.id === c.id);
    if (onPage && !c.deleted && !f.status) {
      setPage((p) => p && { ...p, items: p.items.map((i) => (i.id === c.id ? { ...i, status: c.status, state: c.state as Instance['state'], helmRevision: c.helmRevision, specVersion: c.specVersion, observedSpecVersion: c.observedSpecVersion, updatedAt: c.updatedAt } : i)) });
      return;
    }
    clearTimeout(reloadTimer.current);
    reloadTimer.current = setTimeout(() => void load(), 500);
  };
  const stream = useChanges(onChange, () => void load());
  useInterval(() => void load(), POLL_MS, stream.kind === 'unsupported' || stream.kind === 'disconnected');

  const templates = useLoad(() => get<TemplateList>('/templates'), []);
  const versions = useLoad(() => (f.templateId ? get<TemplateDetail>(`/templates/${f.templateId}`).then((t) => t.versions) : Promise.resolve([])), [f.templateId]);

  const items = page?.items ?? [];
  const from = cursors.length * PAGE_SIZE;
  return (
    <>
      <div className="page-head">
        <h1>Instances</h1>
        <LiveIndicator state={stream} polling={POLL_MS} />
        <Link to="/new" className="button primary">
          New instance
        </Link>
      </div>
      <form className="filters" role="search" aria-label="Filter instances" onSubmit={(e) => e.preventDefault()}>
        <div className="field">
          <label htmlFor="f-q">Search</label>
          <input id="f-q" type="search" maxLength={100} placeholder="name, namespace or domain" defaultValue={f.q} onChange={(e) => debounce(() => setFilter('q', e.target.value.trim()))} />
        </div>
        <div className="field">
          <label htmlFor="f-status">Phase</label>
          <select id="f-status" value={f.status} onChange={(e) => setFilter('status', e.target.value)}>
            <option value="">any</option>
            {PHASES.map((p) => (
              <option key={p}>{p}</option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="f-template">Template</label>
          <select id="f-template" value={f.templateId} onChange={(e) => setFilter('templateId', e.target.value)}>
            <option value="">any</option>
            {templates.data?.items.map((t) => (
              <option key={t.id} value={t.id}>
                {t.name}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="f-version">Version</label>
          <select id="f-version" value={f.templateVersionId} disabled={!f.templateId} onChange={(e) => setFilter('templateVersionId', e.target.value)}>
            <option value="">any</option>
            {versions.data?.map((v) => (
              <option key={v.id} value={v.id}>
                {v.version}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="f-outdated">Up to date</label>
          <select id="f-outdated" value={f.outdated} onChange={(e) => setFilter('outdated', e.target.value)}>
            <option value="">any</option>
            <option value="true">outdated only</option>
            <option value="false">on the newest version</option>
          </select>
        </div>
        {admin && (
          <div className="field">
            <label htmlFor="f-user">Owner</label>
            <input id="f-user" type="text" defaultValue={f.userId} placeholder="user id" onChange={(e) => debounce(() => setFilter('userId', e.target.value.trim()))} />
          </div>
        )}
        <div className="field">
          <label htmlFor="f-sort">Sort</label>
          <select id="f-sort" value={f.sort || '-createdAt'} onChange={(e) => setFilter('sort', e.target.value === '-createdAt' ? '' : e.target.value)}>
            {SORTS.map(([v, l]) => (
              <option key={v} value={v}>
                {l}
              </option>
            ))}
          </select>
        </div>
      </form>
      <ErrorNote error={error} />
      <table className="table" aria-describedby="list-summary">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Phase</th>
            <th scope="col">Template</th>
            {admin && <th scope="col">Owner</th>}
            <th scope="col">Domain</th>
            <th scope="col">Revision</th>
            <th scope="col">Age</th>
          </tr>
        </thead>
        <tbody>
          {items.map((i) => (
            <tr key={i.id} data-testid="instance-row">
              <td>
                <Link to={`/instances/${i.id}`}>{i.namespace}</Link>
              </td>
              <td>
                <PhaseBadge phase={i.status} />
              </td>
              <td>
                {i.template.name}@{i.templateVersion.version}{' '}
                {i.outdated && (
                  <Tag tone="warn" title={i.latestVersion ? `newest: ${i.latestVersion.version}` : undefined}>
                    outdated
                  </Tag>
                )}
              </td>
              {admin && <td>{i.userId}</td>}
              <td>{i.domainName ?? '—'}</td>
              <td>{i.helmRevision ?? '—'}</td>
              <td title={time(i.createdAt)}>{age(i.createdAt)}</td>
            </tr>
          ))}
          {page && items.length === 0 && (
            <tr>
              <td colSpan={admin ? 7 : 6}>No instances match.</td>
            </tr>
          )}
        </tbody>
      </table>
      <div className="pager">
        <p id="list-summary" aria-live="polite">
          {page ? `${items.length ? `${from + 1}–${from + items.length}` : '0'}${page.total !== undefined ? ` of ${page.total}` : ''} instances` : 'Loading…'}
          {loadedAt && <span className="hint"> · loaded {loadedAt.toLocaleTimeString()}</span>}
        </p>
        <button type="button" disabled={cursors.length === 0} onClick={() => setCursors((c) => c.slice(0, -1))}>
          Previous page
        </button>
        <button type="button" disabled={!page?.nextCursor} onClick={() => page?.nextCursor && setCursors((c) => [...c, page.nextCursor!])}>
          Next page
        </button>
      </div>
    </>
  );
}

let timer: ReturnType<typeof setTimeout> | undefined;
function debounce(fn: () => void, ms = 300): void {
  clearTimeout(timer);
  timer = setTimeout(fn, ms);
}
