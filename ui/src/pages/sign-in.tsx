import { useState, type FormEvent } from 'react';
import { ErrorNote } from '../components/ui';

export function SignIn({ onSignIn, notice }: { onSignIn: (token: string) => Promise<void>; notice: string | undefined }) {
  const [value, setValue] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await onSignIn(value.trim());
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main id="main" className="signin">
      <h1>Caelus console</h1>
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      <form onSubmit={(e) => void submit(e)} className="card">
        <div className="field">
          <label htmlFor="token">API token</label>
          <input id="token" name="token" type="password" autoComplete="off" required value={value} onChange={(e) => setValue(e.target.value)} aria-describedby="token-help" />
          <p className="hint" id="token-help">
            A token from <code>caelus token create</code> or an admin's Tokens page. It is kept in this tab only (session storage) and sent as a bearer header.
          </p>
        </div>
        <ErrorNote error={error} />
        <button type="submit" className="primary" disabled={busy || value.trim() === ''}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
