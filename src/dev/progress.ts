// What `caelus dev` shows on stderr while it starts: the current step and how
// long it has been running. A cold control-plane build takes many minutes, so
// silence would look like a hang. On a terminal one line is redrawn in place;
// elsewhere (CI logs, pipes) every event is a plain line, with a heartbeat
// while a long step runs.

export interface ProgressStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
}

export interface ProgressOptions {
  /** Redraw one line in place (default: stream.isTTY). */
  tty?: boolean;
  /** Plain mode: how often a still-running step says so (default 30 s). */
  heartbeatMs?: number;
  /** Terminal mode: redraw interval (default 200 ms). */
  redrawMs?: number;
  now?: () => number;
}

/** Called by a step with what it is doing right now (e.g. the build's latest line). */
export type StepDetail = (line: string) => void;

export interface Progress {
  /** Runs fn as a named step: shown while running, then done with its time, or failed. */
  step<T>(label: string, fn: (detail: StepDetail) => Promise<T>): Promise<T>;
  /** A line of its own between steps (e.g. "stopping"). */
  note(line: string): void;
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/** 870 ms → "0.9s", 75 s → "1m15s". */
export function formatElapsed(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.floor(ms / 1000);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

export function createProgress(stream: ProgressStream, opts: ProgressOptions = {}): Progress {
  const tty = opts.tty ?? stream.isTTY === true;
  const now = opts.now ?? Date.now;
  const heartbeatMs = opts.heartbeatMs ?? 30_000;
  const redrawMs = opts.redrawMs ?? 200;
  const prefix = 'caelus dev:';

  return {
    note(line) {
      stream.write(`${tty ? '\r\x1b[2K' : ''}${prefix} ${line}\n`);
    },
    async step(label, fn) {
      const started = now();
      let detail = '';
      let frame = 0;
      const elapsed = () => formatElapsed(now() - started);
      const draw = () => {
        // Keep the line within a typical terminal width so \r redraws cleanly.
        const text = `${SPINNER[frame++ % SPINNER.length]} ${label} (${elapsed()})${detail ? ` ${detail}` : ''}`;
        stream.write(`\r\x1b[2K${text.slice(0, 118)}`);
      };
      let timer: NodeJS.Timeout;
      if (tty) {
        draw();
        timer = setInterval(draw, redrawMs);
      } else {
        stream.write(`${prefix} ${label} ...\n`);
        timer = setInterval(() => stream.write(`${prefix} ${label}: still running (${elapsed()})\n`), heartbeatMs);
      }
      timer.unref();
      const onDetail: StepDetail = (line) => {
        const text = line.trim();
        if (!text) return;
        if (tty) detail = `— ${text}`;
        else stream.write(`${prefix}   ${text}\n`);
      };
      try {
        const result = await fn(onDetail);
        clearInterval(timer);
        stream.write(`${tty ? '\r\x1b[2K✓' : prefix} ${label}${tty ? '' : ': done'} (${elapsed()})\n`);
        return result;
      } catch (err) {
        clearInterval(timer);
        stream.write(`${tty ? '\r\x1b[2K✗' : prefix} ${label}: failed after ${elapsed()}\n`);
        throw err;
      }
    },
  };
}
