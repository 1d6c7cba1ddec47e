import { jest } from '@jest/globals';
import { createProgress, formatElapsed } from '../../../src/dev/progress.ts';

function sink() {
  const chunks: string[] = [];
  return { chunks, stream: { write: (c: string) => chunks.push(c) }, text: () => chunks.join('') };
}

describe('caelus dev progress', () => {
  it('formats elapsed time in seconds, then minutes', () => {
    expect(formatElapsed(870)).toBe('0.9s');
    expect(formatElapsed(59_949)).toBe('59.9s');
    expect(formatElapsed(75_000)).toBe('1m15s');
    expect(formatElapsed(3_605_000)).toBe('60m05s');
  });

  it('writes plain lines off a terminal: start, details, heartbeat, done with the time', async () => {
    jest.useFakeTimers();
    try {
      let t = 0;
      const s = sink();
      const p = createProgress(s.stream, { tty: false, heartbeatMs: 1_000, now: () => t });
      const done = p.step('building', async (detail) => {
        detail('building etcd ...');
        t = 1_500;
        jest.advanceTimersByTime(1_000);
        return 42;
      });
      await expect(done).resolves.toBe(42);
      expect(s.chunks).toEqual([
        'caelus dev: building ...\n',
        'caelus dev:   building etcd ...\n',
        'caelus dev: building: still running (1.5s)\n',
        'caelus dev: building: done (1.5s)\n',
      ]);
      expect(s.text()).not.toContain('\r');
    } finally {
      jest.useRealTimers();
    }
  });

  it('redraws one line on a terminal and names a failed step', async () => {
    const s = sink();
    let t = 0;
    const p = createProgress(s.stream, { tty: true, now: () => t });
    await expect(
      p.step('starting', async (detail) => {
        detail('kube-apiserver');
        t = 2_000;
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(s.chunks[0]?.startsWith('\r\u001b[2K')).toBe(true);
    expect(s.chunks[0]).toMatch(/ starting \(0\.0s\)$/);
    expect(s.text()).toContain('✗ starting: failed after 2.0s\n');
    expect(s.text().split('\n')).toHaveLength(2);
  });
});
