// Admin: instances per user and the per-user limit (override or default).
import { useState, type FormEvent } from 'react';
import { get, request } from '../api';
import { ErrorNote, Tag, useLoad } from '../components/ui';
import type { UserList } from '../types';

export function QuotasPage() {
  const users = useLoad(() => get<UserList>('/users'), []);
  return (
    <>
      <h1>Quotas</h1>
      <p className="hint">The most live instances (plus retained namespaces) each user may have. An empty limit removes the override: the platform default applies.</p>
      <ErrorNote error={users.error} />
      <table className="table">
        <thead>
          <tr>
            <th scope="col">User</th>
            <th scope="col">Instances</th>
            <th scope="col">Used / limit</th>
            <th scope="col">Set limit</th>
          </tr>
        </thead>
        <tbody>
          {users.data?.items.map((u) => (
            <tr key={u.userId}>
              <td>{u.userId}</td>
              <td>{u.instances ?? '—'}</td>
              <td>
                {u.quota.used} / {u.quota.limit} {u.quota.overridden ? <Tag tone="info">override</Tag> : <Tag tone="muted">default</Tag>}
              </td>
              <td>
                <QuotaEditor userId={u.userId} limit={u.quota.overridden ? u.quota.limit : null} onDone={users.reload} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

function QuotaEditor({ userId, limit, onDone }: { userId: string; limit: number | null; onDone: () => void }) {
  const [value, setValue] = useState(limit === null ? '' : String(limit));
  const [error, setError] = useState<unknown>();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    try {
      await request('PUT', `/users/${encodeURIComponent(userId)}/quota`, { body: { maxInstances: value === '' ? null : Number(value) } });
      onDone();
    } catch (err) {
      setError(err);
    }
  };
  const id = `quota-${userId.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  return (
    <form className="inline-form" onSubmit={(e) => void submit(e)}>
      <label htmlFor={id} className="visually-hidden">
        Limit for {userId}
      </label>
      <input id={id} type="number" min={0} step={1} value={value} placeholder="default" onChange={(e) => setValue(e.target.value)} />
      <button type="submit">Save</button>
      <ErrorNote error={error} />
    </form>
  );
}
