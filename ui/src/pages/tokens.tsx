// Admin: API tokens. A new token is shown once (only its hash is stored).
import { useState, type FormEvent } from 'react';
import { get, post, request } from '../api';
import { ConfirmDialog, ErrorNote, Tag, useLoad } from '../components/ui';
import { time } from '../format';
import type { CreatedToken, Role, Token, TokenList } from '../types';

export function TokensPage() {
  const list = useLoad(() => get<TokenList>('/tokens'), []);
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('user');
  const [userId, setUserId] = useState('');
  const [expiresIn, setExpiresIn] = useState('90d');
  const [error, setError] = useState<unknown>();
  const [created, setCreated] = useState<{ name: string; token: string }>();
  const [revoking, setRevoking] = useState<Token>();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    try {
      const t = await post<CreatedToken>('/tokens', { name, role, ...(role === 'user' ? { userId } : {}), ...(expiresIn ? { expiresIn } : {}) });
      setCreated({ name: t.name, token: t.token });
      setName('');
      list.reload();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <>
      <h1>Tokens</h1>
      {created && (
        <div className="notice" role="status">
          <p>
            Token <strong>{created.name}</strong> — copy it now, it is not shown again:
          </p>
          <p>
            <code className="secret" data-testid="new-token">
              {created.token}
            </code>{' '}
            <button type="button" onClick={() => void navigator.clipboard.writeText(created.token)}>
              Copy
            </button>{' '}
            <button type="button" onClick={() => setCreated(undefined)}>
              Done
            </button>
          </p>
        </div>
      )}
      <form className="card form inline" onSubmit={(e) => void submit(e)}>
        <h2>Create a token</h2>
        <div className="field">
          <label htmlFor="tok-name">Name</label>
          <input id="tok-name" required value={name} onChange={(e) => setName(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="tok-role">Role</label>
          <select id="tok-role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
            <option value="user">user (one tenant)</option>
            <option value="admin">admin</option>
          </select>
        </div>
        {role === 'user' && (
          <div className="field">
            <label htmlFor="tok-user">User id</label>
            <input id="tok-user" required value={userId} onChange={(e) => setUserId(e.target.value.trim())} />
          </div>
        )}
        <div className="field">
          <label htmlFor="tok-exp">Expires in (e.g. 90d, 12h; empty: never)</label>
          <input id="tok-exp" value={expiresIn} onChange={(e) => setExpiresIn(e.target.value.trim())} />
        </div>
        <ErrorNote error={error} />
        <button type="submit" className="primary" disabled={!name || (role === 'user' && !userId)}>
          Create token
        </button>
      </form>
      <ErrorNote error={list.error} />
      <table className="table">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Role</th>
            <th scope="col">User</th>
            <th scope="col">Created</th>
            <th scope="col">Last used</th>
            <th scope="col">Expires</th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {list.data?.items.map((t) => (
            <tr key={t.id}>
              <td>{t.name}</td>
              <td>{t.role}</td>
              <td>{t.userId ?? '—'}</td>
              <td>{time(t.createdAt)}</td>
              <td>{time(t.lastUsedAt)}</td>
              <td>{t.expiresAt ? time(t.expiresAt) : 'never'}</td>
              <td>
                {t.revokedAt ? (
                  <Tag tone="muted">revoked {time(t.revokedAt)}</Tag>
                ) : (
                  <button type="button" className="danger" onClick={() => setRevoking(t)} aria-label={`Revoke token ${t.name}`}>
                    Revoke
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {revoking && (
        <ConfirmDialog
          title={`Revoke token ${revoking.name}?`}
          confirmLabel="Revoke"
          danger
          onClose={() => setRevoking(undefined)}
          onConfirm={async () => (await request('DELETE', `/tokens/${revoking.id}`), list.reload())}
        >
          <p>Requests with this token are refused from now on. This cannot be undone; create a new token instead.</p>
        </ConfirmDialog>
      )}
    </>
  );
}
