// The change stream (GET /changes, server-sent events) read with fetch and a
// stream reader, so the bearer token goes in a header, never in a URL (which
// is what EventSource would need). One connection per page; it reconnects with
// a growing delay and tells the page whether its data is live or stale.
import { useEffect, useRef, useState } from 'react';
import { authHeaders, signalUnauthorized } from './api';
import { parseFrames } from './sse';
import type { InstanceChange } from './types';

export type StreamState =
  | { kind: 'connecting' }
  | { kind: 'live'; since: Date }
  /** Lost: what the page shows may be stale since `since`. */
  | { kind: 'disconnected'; since: Date; error: string }
  /** The server has no change stream: the page polls instead. */
  | { kind: 'unsupported' };

/**
 * `onResync` runs when changes may have been missed (the server re-established its
 * database session, or this stream reconnected): the page refetches what it shows.
 */
export function useChanges(onChange: (c: InstanceChange) => void, onResync: () => void, instanceId?: string): StreamState {
  const [state, setState] = useState<StreamState>({ kind: 'connecting' });
  const handler = useRef(onChange);
  handler.current = onChange;
  const resync = useRef(onResync);
  resync.current = onResync;

  useEffect(() => {
    const abort = new AbortController();
    let attempt = 0;
    let lastLive: Date | undefined;
    const run = async (): Promise<void> => {
      while (!abort.signal.aborted) {
        try {
          const url = `/changes${instanceId ? `?instanceId=${encodeURIComponent(instanceId)}` : ''}`;
          const res = await fetch(url, { headers: { accept: 'text/event-stream', ...authHeaders() }, signal: abort.signal, cache: 'no-store' });
          if (res.status === 404) {
            setState({ kind: 'unsupported' });
            return;
          }
          if (res.status === 401) {
            signalUnauthorized();
            return;
          }
          if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
          // After a reconnect, what happened while disconnected was not seen.
          if (lastLive) resync.current();
          attempt = 0;
          lastLive = new Date();
          setState({ kind: 'live', since: lastLive });
          const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
          let buffer = '';
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            buffer += value;
            const parsed = parseFrames(buffer);
            buffer = parsed.rest;
            for (const e of parsed.events) {
              if (e.event === 'instance') handler.current(JSON.parse(e.data) as InstanceChange);
              else if (e.event === 'resync') resync.current();
              else if (e.event === 'unauthorized') {
                signalUnauthorized();
                return;
              }
            }
          }
          throw new Error('the server closed the stream');
        } catch (err) {
          if (abort.signal.aborted) return;
          setState({ kind: 'disconnected', since: lastLive ?? new Date(), error: err instanceof Error ? err.message : String(err) });
          attempt += 1;
          await new Promise((r) => setTimeout(r, Math.min(1000 * 2 ** (attempt - 1), 15_000)));
        }
      }
    };
    void run();
    return () => abort.abort();
  }, [instanceId]);
  return state;
}

/** Calls fn every intervalMs while `active`. */
export function useInterval(fn: () => void, intervalMs: number, active: boolean): void {
  const saved = useRef(fn);
  saved.current = fn;
  useEffect(() => {
    if (!active) return;
    const t = setInterval(() => saved.current(), intervalMs);
    return () => clearInterval(t);
  }, [intervalMs, active]);
}
