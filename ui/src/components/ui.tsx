// Shared pieces: phase badges, the confirmation dialog, load states, notices.
import { useEffect, useRef, useState, type ReactNode } from 'react';
import { errorText } from '../api';

const PHASE_TONE: Record<string, string> = {
  Running: 'ok',
  Hibernated: 'muted',
  Pending: 'info',
  Installing: 'info',
  Upgrading: 'info',
  Deleting: 'warn',
  Suspended: 'warn',
  Failed: 'bad',
};

export function PhaseBadge({ phase }: { phase: string }) {
  return <span className={`badge badge-${PHASE_TONE[phase] ?? 'muted'}`}>{phase}</span>;
}

export function Tag({ tone, children, title }: { tone: 'ok' | 'bad' | 'warn' | 'info' | 'muted'; children: ReactNode; title?: string }) {
  return (
    <span className={`badge badge-${tone}`} title={title}>
      {children}
    </span>
  );
}

export function ErrorNote({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <p className="error" role="alert">
      {errorText(error)}
    </p>
  );
}

/** Loads on mount and whenever `deps` change; `reload` refetches. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): { data: T | undefined; error: unknown; loading: boolean; reload: () => void } {
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean }>({ data: undefined, error: undefined, loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => live && setState({ data, error: undefined, loading: false }),
      (error: unknown) => live && setState((s) => ({ data: s.data, error, loading: false })),
    );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps -- callers list what the load depends on
  }, [...deps, tick]);
  return { ...state, reload: () => setTick((t) => t + 1) };
}

/**
 * A modal confirmation (native <dialog>: focus is trapped, Esc cancels).
 * `onConfirm` may fail; its error is shown in the dialog, which stays open.
 */
export function ConfirmDialog(props: {
  title: string;
  confirmLabel: string;
  danger?: boolean;
  children: ReactNode;
  onConfirm: () => Promise<void>;
  onClose: () => void;
  confirmDisabled?: boolean;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
  }, []);
  const confirm = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await props.onConfirm();
      props.onClose();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <dialog ref={ref} className="dialog" aria-labelledby="dialog-title" onClose={props.onClose}>
      <h2 id="dialog-title">{props.title}</h2>
      <div className="dialog-body">{props.children}</div>
      <ErrorNote error={error} />
      <div className="actions">
        <button type="button" onClick={() => ref.current?.close()}>
          Cancel
        </button>
        <button type="button" className={props.danger ? 'danger' : 'primary'} disabled={busy || props.confirmDisabled} onClick={() => void confirm()}>
          {busy ? 'Working…' : props.confirmLabel}
        </button>
      </div>
    </dialog>
  );
}

export function Section({ title, children, actions, id }: { title: string; children: ReactNode; actions?: ReactNode; id?: string }) {
  const hid = `h-${id ?? title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
  return (
    <section className="card" aria-labelledby={hid}>
      <div className="card-head">
        <h2 id={hid}>{title}</h2>
        {actions}
      </div>
      {children}
    </section>
  );
}

/** A sub-resource the server may not offer (older API): says so instead of failing the page. */
export function Unavailable({ error }: { error: unknown }) {
  return <ErrorNote error={error} />;
}
