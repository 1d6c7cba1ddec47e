import type { StreamState } from '../changes';
import { time } from '../format';

/** Says whether what the page shows is live; when the stream is lost, says the data may be stale and since when. */
export function LiveIndicator({ state, polling }: { state: StreamState; polling?: number }) {
  switch (state.kind) {
    case 'live':
      return (
        <span className="live live-ok" role="status">
          ● Live
        </span>
      );
    case 'connecting':
      return (
        <span className="live" role="status">
          Connecting…
        </span>
      );
    case 'unsupported':
      return (
        <span className="live" role="status">
          Refreshing every {Math.round((polling ?? 3000) / 1000)} s
        </span>
      );
    case 'disconnected':
      return (
        <span className="live live-stale" role="status" data-testid="stale">
          Stale: live updates lost since {time(state.since.toISOString())} ({state.error}); reconnecting…
        </span>
      );
  }
}
