// One instance: status and conditions, release history and objects, drift,
// events, quota, effective values with their sources, and the actions.
// Live from the change stream filtered to this instance; without a stream it
// polls GET /instances/{id} with If-None-Match.
import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError, get, getIfChanged } from '../api';
import { useChanges, useInterval } from '../changes';
import { InstanceActions } from '../components/instance-actions';
import { LiveIndicator } from '../components/live';
import { ErrorNote, PhaseBadge, Section, Tag } from '../components/ui';
import { age, flatten, show, sourceOf, time } from '../format';
import { Link } from '../router';
import type { EventList, HistoryList, InstanceDetail, Me, QuotaList, ReleaseObjects } from '../types';

const POLL_MS = 2000;
const LIVE_REVALIDATE_MS = 15_000;

interface Sub<T> {
  data?: T;
  error?: unknown;
}

/** A sub-resource re-read whenever `version` changes (the instance changed). */
function useSub<T>(path: string, version: string): Sub<T> {
  const [s, setS] = useState<Sub<T>>({});
  useEffect(() => {
    let live = true;
    get<T>(path).then(
      (data) => live && setS({ data }),
      (error: unknown) => live && setS((prev) => ({ data: prev.data, error })),
    );
    return () => {
      live = false;
    };
  }, [path, version]);
  return s;
}

export function InstancePage({ id, me }: { id: string; me: Me }) {
  const [inst, setInst] = useState<InstanceDetail>();
  const [error, setError] = useState<unknown>();
  const [gone, setGone] = useState(false);
  const etag = useRef<string>(undefined);
  const [tick, setTick] = useState(0);

  const load = useCallback(async () => {
    try {
      const r = await getIfChanged<InstanceDetail>(`/instances/${id}`, etag.current);
      if (r) {
        etag.current = r.etag;
        setInst(r.body);
        setTick((t) => t + 1);
      }
      setError(undefined);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) setGone(true);
      setError(err);
    }
  }, [id]);
  useEffect(() => void load(), [load]);
  const stream = useChanges(() => void load(), () => void load(), id);
  useInterval(() => void load(), POLL_MS, stream.kind !== 'live' && !gone);
  // Even with the stream live, a slow revalidation (a 304 when nothing changed) catches what
  // changes in the cluster without touching the row (a condition's message, new Events).
  useInterval(() => void load(), LIVE_REVALIDATE_MS, stream.kind === 'live' && !gone);

  // Sub-resources follow the instance: re-read when its status, revision or spec changed.
  const version = inst ? `${inst.status}|${inst.helmRevision}|${inst.specVersion}|${inst.observedSpecVersion}|${inst.updatedAt}|${tick}` : '';
  const history = useSub<HistoryList>(`/instances/${id}/history`, version);
  const objects = useSub<ReleaseObjects>(`/instances/${id}/objects`, version);
  const events = useSub<EventList>(`/instances/${id}/events?limit=50`, version);
  const quota = useSub<QuotaList>(`/instances/${id}/quota`, version);

  if (gone)
    return (
      <>
        <h1>Instance gone</h1>
        <p role="status">
          Instance <code>{id}</code> does not exist (deleted, or not yours). <Link to="/">Back to the instances</Link>.
        </p>
      </>
    );
  if (!inst) return error ? <ErrorNote error={error} /> : <p role="status">Loading…</p>;

  return (
    <>
      <p className="crumbs">
        <Link to="/">Instances</Link> / {inst.namespace}
      </p>
      <div className="page-head">
        <h1>{inst.namespace}</h1>
        <span data-testid="phase">
          <PhaseBadge phase={inst.status} />
        </span>
        <LiveIndicator state={stream} polling={POLL_MS} />
      </div>
      <ErrorNote error={error} />
      {inst.statusMessage && <p className="status-message">{inst.statusMessage}</p>}
      <InstanceActions inst={inst} me={me} onDone={() => void load()} />
      <div className="grid">
        <Section title="Overview">
          <dl className="facts">
            <dt>URL</dt>
            <dd>{inst.url ? <a href={inst.url}>{inst.url}</a> : '—'}</dd>
            <dt>Template</dt>
            <dd>
              {inst.template.name}@<span data-testid="version">{inst.templateVersion.version}</span>
            </dd>
            <dt>Owner</dt>
            <dd>{inst.userId}</dd>
            <dt>Desired state</dt>
            <dd>{inst.state}</dd>
            <dt>Helm revision</dt>
            <dd data-testid="revision">{inst.helmRevision ?? '—'}</dd>
            <dt>Spec</dt>
            <dd>
              version {inst.specVersion}, observed {inst.observedSpecVersion ?? '—'}
              {inst.observedSpecVersion !== inst.specVersion && <Tag tone="info"> reconciling</Tag>}
            </dd>
            <dt>Deletion policy</dt>
            <dd>{inst.deletionPolicy}</dd>
            <dt>Source</dt>
            <dd>{inst.source === 'cluster' ? 'adopted from a CR in git (read-only here)' : 'API'}</dd>
            <dt>Created</dt>
            <dd>
              {time(inst.createdAt)} ({age(inst.createdAt)} ago)
            </dd>
            <dt>Status from</dt>
            <dd>{inst.statusSource === 'cluster' ? 'the cluster (live)' : 'the database (last copy)'}</dd>
          </dl>
        </Section>
        <Section title="Conditions">
          {inst.conditions.length === 0 ? (
            <p>No conditions reported yet.</p>
          ) : (
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">Type</th>
                  <th scope="col">Status</th>
                  <th scope="col">Reason</th>
                  <th scope="col">Message</th>
                  <th scope="col">Since</th>
                </tr>
              </thead>
              <tbody>
                {inst.conditions.map((c) => (
                  <tr key={c.type} data-testid="condition">
                    <th scope="row">{c.type}</th>
                    <td>
                      <Tag tone={c.status === 'True' ? 'ok' : c.status === 'False' ? 'bad' : 'muted'}>{c.status}</Tag>
                    </td>
                    <td>{c.reason ?? ''}</td>
                    <td>{c.message ?? ''}</td>
                    <td>{age(c.lastTransitionTime)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </Section>
      </div>
      <Section title="Release objects">
        {objects.data ? (
          <>
            <p className="hint">Objects of Helm revision {objects.data.revision ?? '—'} and their live readiness.</p>
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">Kind</th>
                  <th scope="col">Name</th>
                  <th scope="col">Ready</th>
                  <th scope="col">Summary</th>
                </tr>
              </thead>
              <tbody>
                {objects.data.items.map((o) => (
                  <tr key={`${o.apiVersion}/${o.kind}/${o.namespace}/${o.name}`} data-testid="object">
                    <td>{o.kind}</td>
                    <td>{o.name}</td>
                    <td>{!o.present ? <Tag tone="bad">missing</Tag> : o.ready === null ? <Tag tone="muted">n/a</Tag> : o.ready ? <Tag tone="ok">ready</Tag> : <Tag tone="warn">not ready</Tag>}</td>
                    <td>{o.summary}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        ) : (
          <ErrorNote error={objects.error} />
        )}
      </Section>
      <Section title="Helm history">
        {history.data ? (
          <table className="table">
            <thead>
              <tr>
                <th scope="col">Revision</th>
                <th scope="col">Status</th>
                <th scope="col">Chart</th>
                <th scope="col">App version</th>
                <th scope="col">Updated</th>
                <th scope="col">Description</th>
              </tr>
            </thead>
            <tbody>
              {history.data.items.map((h) => (
                <tr key={h.revision} data-testid="history-row">
                  <td>{h.revision}</td>
                  <td>
                    {h.status}{' '}
                    {h.trusted === false && (
                      <Tag tone="warn" title={h.problem ?? undefined}>
                        untrusted record
                      </Tag>
                    )}
                  </td>
                  <td>
                    {h.chart ?? '—'} {h.chartVersion ?? ''}
                  </td>
                  <td>{h.appVersion ?? '—'}</td>
                  <td>{time(h.updatedAt)}</td>
                  <td>{h.description}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <ErrorNote error={history.error} />
        )}
      </Section>
      <div className="grid">
        <Section title="Drift">
          <Drift inst={inst} />
        </Section>
        <Section title="Quota">
          {quota.data ? (
            quota.data.items.length === 0 ? (
              <p>No ResourceQuota in the namespace.</p>
            ) : (
              <table className="table">
                <thead>
                  <tr>
                    <th scope="col">Resource</th>
                    <th scope="col">Used</th>
                    <th scope="col">Hard</th>
                  </tr>
                </thead>
                <tbody>
                  {quota.data.items.map((q) => (
                    <tr key={`${q.quota}/${q.resource}`}>
                      <td>{q.resource}</td>
                      <td>{q.used}</td>
                      <td>{q.hard}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )
          ) : (
            <ErrorNote error={quota.error} />
          )}
        </Section>
      </div>
      <Section title="Events">
        {events.data ? (
          events.data.items.length === 0 ? (
            <p>No recent events.</p>
          ) : (
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">Type</th>
                  <th scope="col">Reason</th>
                  <th scope="col">Object</th>
                  <th scope="col">Message</th>
                  <th scope="col">Count</th>
                  <th scope="col">Last seen</th>
                </tr>
              </thead>
              <tbody>
                {events.data.items.map((e, i) => (
                  <tr key={i}>
                    <td>{e.type === 'Warning' ? <Tag tone="warn">Warning</Tag> : 'Normal'}</td>
                    <td>{e.reason}</td>
                    <td>
                      {e.object.kind}/{e.object.name}
                    </td>
                    <td>{e.message}</td>
                    <td>{e.count}</td>
                    <td>{age(e.lastSeen)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        ) : (
          <ErrorNote error={events.error} />
        )}
      </Section>
      <Section title="Effective values">
        <p className="hint">What the chart is installed with: template defaults, values Caelus provides, and this instance's overrides, merged.</p>
        <table className="table">
          <thead>
            <tr>
              <th scope="col">Key</th>
              <th scope="col">Value</th>
              <th scope="col">Source</th>
            </tr>
          </thead>
          <tbody>
            {[...flatten(inst.effectiveValues)].map(([p, v]) => {
              const src = sourceOf(p, inst.valuesProvenance);
              return (
                <tr key={p}>
                  <td>
                    <code>{p}</code>
                  </td>
                  <td>
                    <code>{show(v)}</code>
                  </td>
                  <td>{src === 'instance' ? <Tag tone="info">instance override</Tag> : src === 'caelus' ? <Tag tone="muted">Caelus-provided</Tag> : 'template default'}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </Section>
    </>
  );
}

/** status.drift as the operator writes it (src/operator/release/actions.ts) plus the Drifted condition. */
function Drift({ inst }: { inst: InstanceDetail }) {
  const d = (inst.drift ?? {}) as { mode?: string; detectedAt?: string; correctedAt?: string; resources?: Array<{ kind: string; namespace?: string; name: string; missing: boolean; pointers: string[] }> };
  const cond = inst.conditions.find((c) => c.type === 'Drifted');
  return (
    <>
      <dl className="facts">
        <dt>Last check</dt>
        <dd>{inst.lastReconcileAt ? `${time(inst.lastReconcileAt)} (${age(inst.lastReconcileAt)} ago)` : '—'}</dd>
        <dt>Mode</dt>
        <dd>{d.mode ?? '—'}</dd>
        <dt>Now</dt>
        <dd>{cond ? `${cond.status === 'True' ? 'drifted' : 'in sync'}${cond.message ? `: ${cond.message}` : ''}` : 'not checked yet'}</dd>
        <dt>Last drift</dt>
        <dd>{d.detectedAt ? `detected ${time(d.detectedAt)}${d.correctedAt ? `, corrected ${time(d.correctedAt)}` : ', not corrected'}` : 'none recorded'}</dd>
      </dl>
      {d.resources && d.resources.length > 0 && (
        <>
          <h3>{d.correctedAt ? 'Corrected objects' : 'Drifted objects'}</h3>
          <ul>
            {d.resources.map((r) => (
              <li key={`${r.kind}/${r.namespace}/${r.name}`}>
                {r.kind}/{r.name} {r.missing ? '(was missing)' : r.pointers.length ? <code>{r.pointers.join(', ')}</code> : null}
              </li>
            ))}
          </ul>
        </>
      )}
    </>
  );
}
