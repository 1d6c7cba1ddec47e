import { mixSequence, runOpenLoop, scheduledAt, summarizeOpenLoop, type Clock } from '../../../bench/lib/open-loop.ts';

/** Time moves only when the generator sleeps or the test says so. */
function virtualClock(): Clock & { set(t: number): void } {
  let t = 0;
  return {
    now: () => t,
    sleepUntil: async (x) => {
      t = Math.max(t, x);
    },
    set: (x) => {
      t = x;
    },
  };
}

/** A send whose answers the test releases by hand. */
function heldServer() {
  const pending: Array<() => void> = [];
  return {
    send: () => new Promise<{ ok: true }>((resolve) => pending.push(() => resolve({ ok: true }))),
    releaseAll: () => pending.splice(0).forEach((r) => r()),
    get waiting() {
      return pending.length;
    },
  };
}

const flush = () => new Promise((r) => setImmediate(r));

describe('mixSequence', () => {
  it('holds each kind exactly its weight per cycle, interleaved', () => {
    const seq = mixSequence({ get: 70, list: 20, create: 10 });
    expect(seq).toHaveLength(100);
    expect(seq.filter((k) => k === 'get')).toHaveLength(70);
    expect(seq.filter((k) => k === 'list')).toHaveLength(20);
    expect(seq.filter((k) => k === 'create')).toHaveLength(10);
    // Spread out: no ten requests in a row without a create, no run of lists.
    for (let i = 0; i + 10 <= seq.length; i += 10) expect(seq.slice(i, i + 10)).toContain('create');
    expect(seq.join(',')).not.toContain('list,list');
  });

  it('refuses a mix without weight or with a fractional one', () => {
    expect(() => mixSequence({ get: 0 })).toThrow(RangeError);
    expect(() => mixSequence({ get: 0.5 })).toThrow(RangeError);
  });
});

describe('runOpenLoop', () => {
  it('keeps sending on schedule while the server stalls, and times every request from its due time', async () => {
    const clock = virtualClock();
    const server = heldServer();
    const run = runOpenLoop({ rate: 100, durationMs: 50, mix: { get: 1 }, send: server.send, clock });
    await flush();
    // All five were sent at their due times (0, 10, …, 40 ms) although none has been answered.
    expect(server.waiting).toBe(5);
    clock.set(140);
    server.releaseAll();
    const samples = await run;
    expect(samples.map((s) => s.sent)).toEqual([0, 10, 20, 30, 40]);
    const report = summarizeOpenLoop(samples, ['get']);
    // A closed loop would report one 140 ms request; here every request that waited on the stall shows it.
    expect(report.latency.get).toMatchObject({ count: 5, p50: 120, max: 140, min: 100, errors: 0 });
  });

  it('charges the generator being late to the latency, and reports the lag', async () => {
    const clock = virtualClock();
    let calls = 0;
    const run = runOpenLoop({
      rate: 100,
      durationMs: 30,
      mix: { get: 1 },
      clock,
      send: async () => {
        // The first send blocks the generator's event loop for 35 ms; answers are otherwise instant.
        if (calls++ === 0) clock.set(35);
        return { ok: true };
      },
    });
    const samples = await run;
    expect(samples.map((s) => [s.scheduled, s.sent])).toEqual([
      [0, 0],
      [10, 35],
      [20, 35],
    ]);
    const report = summarizeOpenLoop(samples, ['get']);
    expect(report.latency.get.max).toBe(35);
    expect(report.sendLag.max).toBe(25);
  });

  it('counts failures and rejections as errors, not as latency samples', async () => {
    const clock = virtualClock();
    let i = 0;
    const samples = await runOpenLoop({
      rate: 1000,
      durationMs: 4,
      mix: { get: 1, create: 1 },
      clock,
      send: async () => {
        i++;
        if (i === 2) return { ok: false, error: 'HTTP 500' };
        if (i === 3) throw new Error('socket hang up');
        return { ok: true };
      },
    });
    const report = summarizeOpenLoop(samples, ['get', 'create']);
    expect(report.sent).toBe(4);
    expect(report.errors).toBe(2);
    expect(report.latency.get.count + report.latency.create.count).toBe(2);
    expect(report.latency.get.errors + report.latency.create.errors).toBe(2);
    expect(report.errorExamples.sort()).toEqual(['create: HTTP 500', 'get: socket hang up']);
  });
});

describe('scheduledAt', () => {
  it('spaces requests 1000/rate ms apart', () => {
    expect(scheduledAt(0, 200)).toBe(0);
    expect(scheduledAt(200, 200)).toBe(1000);
    expect(scheduledAt(3, 200)).toBe(15);
  });
});
