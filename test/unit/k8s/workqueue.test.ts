import { jest } from '@jest/globals';
import { silentLogger } from '../../../src/observability/logger.ts';
import { ItemBackoff } from '../../../src/k8s/rate-limiter.ts';
import { ShutdownTimeoutError, WorkQueue, type HandlerContext, type ReconcileResult } from '../../../src/k8s/workqueue.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met');
    await sleep(2);
  }
}

function deferred<T = void>(): PromiseWithResolvers<T> {
  return Promise.withResolvers<T>();
}

function newQueue(extra: Partial<ConstructorParameters<typeof WorkQueue>[0]> = {}): WorkQueue {
  return new WorkQueue({ logger: silentLogger(), ...extra });
}

describe('ItemBackoff', () => {
  it('doubles per failure from the base, caps, and resets on forget', () => {
    const b = new ItemBackoff({ baseDelayMs: 5, maxDelayMs: 100 });
    expect([1, 2, 3, 4, 5, 6, 7].map(() => b.next('a'))).toEqual([5, 10, 20, 40, 80, 100, 100]);
    expect(b.next('b')).toBe(5);
    expect(b.failures('a')).toBe(7);
    b.forget('a');
    expect(b.failures('a')).toBe(0);
    expect(b.next('a')).toBe(5);
  });

  it('defaults to 5 ms base and a 5 minute cap, without overflowing', () => {
    const b = new ItemBackoff();
    let last = 0;
    for (let i = 0; i < 2000; i++) last = b.next('k');
    expect(last).toBe(300_000);
  });

  it('adds jitter as a fraction of the delay, still capped', () => {
    const b = new ItemBackoff({ baseDelayMs: 100, maxDelayMs: 1000, jitter: 0.5, random: () => 1 });
    expect(b.next('k')).toBe(150);
    expect(b.next('k')).toBe(300);
    for (let i = 0; i < 5; i++) b.next('k');
    expect(b.next('k')).toBe(1000);
  });

  it('rejects nonsensical settings', () => {
    expect(() => new ItemBackoff({ baseDelayMs: 0 })).toThrow(RangeError);
    expect(() => new ItemBackoff({ baseDelayMs: 10, maxDelayMs: 5 })).toThrow(RangeError);
    expect(() => new ItemBackoff({ jitter: 2 })).toThrow(RangeError);
  });
});

describe('WorkQueue', () => {
  it('processes added keys and coalesces duplicate adds of a waiting key', async () => {
    const q = newQueue();
    q.add('a');
    q.add('a');
    q.add('b');
    q.add('a');
    expect(q.length).toBe(2);
    const seen: string[] = [];
    const run = q.run((k) => void seen.push(k), { concurrency: 1 });
    await until(() => seen.length === 2);
    await sleep(20);
    expect(seen).toEqual(['a', 'b']);
    await q.shutdown();
    await run;
  });

  it('never runs a key twice at once: a re-add while in flight runs once more afterwards', async () => {
    const q = newQueue();
    const gate = deferred();
    let active = 0;
    let maxActive = 0;
    let calls = 0;
    const run = q.run(
      async () => {
        calls++;
        active++;
        maxActive = Math.max(maxActive, active);
        if (calls === 1) await gate.promise;
        active--;
      },
      { concurrency: 4 },
    );
    q.add('a');
    await until(() => calls === 1);
    // Three re-adds while in flight: marked dirty once, not handed to the idle workers.
    q.add('a');
    q.add('a');
    q.add('a');
    expect(q.length).toBe(0);
    await sleep(20);
    expect(calls).toBe(1);
    gate.resolve();
    await until(() => calls === 2);
    await sleep(20);
    expect(calls).toBe(2);
    expect(maxActive).toBe(1);
    await q.shutdown();
    await run;
  });

  it('bounds concurrency', async () => {
    const q = newQueue();
    let active = 0;
    let maxActive = 0;
    let done = 0;
    const run = q.run(
      async () => {
        active++;
        maxActive = Math.max(maxActive, active);
        await sleep(10);
        active--;
        done++;
      },
      { concurrency: 3 },
    );
    for (let i = 0; i < 20; i++) q.add(`k${i}`);
    await until(() => done === 20);
    expect(maxActive).toBe(3);
    await q.shutdown();
    await run;
  });

  it('addAfter delays a key and the earliest pending time wins', async () => {
    const q = newQueue();
    const seen: Array<[string, number]> = [];
    const t0 = Date.now();
    const run = q.run((k) => void seen.push([k, Date.now() - t0]));
    q.addAfter('late', 60);
    q.addAfter('x', 200);
    q.addAfter('x', 30); // earlier: replaces
    q.addAfter('x', 500); // later: ignored
    expect(q.pendingDelayed().sort()).toEqual(['late', 'x']);
    await until(() => seen.length === 2);
    expect(seen.map(([k]) => k)).toEqual(['x', 'late']);
    expect(seen[0]![1]).toBeGreaterThanOrEqual(25);
    expect(seen[1]![1]).toBeGreaterThanOrEqual(55);
    await sleep(50);
    expect(seen).toHaveLength(2);
    await q.shutdown();
    await run;
  });

  it('addAfter(0) adds at once', () => {
    const q = newQueue();
    q.addAfter('a', 0);
    expect(q.length).toBe(1);
  });

  it('retries a throwing handler with exponential backoff and resets it after a success', async () => {
    const retries = { inc: jest.fn() };
    const q = newQueue({ backoff: { baseDelayMs: 10, maxDelayMs: 1000 }, metrics: { retries } });
    const attempts: Array<{ at: number; retries: number }> = [];
    const t0 = Date.now();
    const run = q.run((_k, ctx: HandlerContext) => {
      attempts.push({ at: Date.now() - t0, retries: ctx.retries });
      if (attempts.length <= 3) throw new Error('boom');
    });
    q.add('a');
    await until(() => attempts.length === 4);
    expect(attempts.map((a) => a.retries)).toEqual([0, 1, 2, 3]);
    // Waits of 10, 20 and 40 ms between attempts: at least 70 ms in all.
    expect(attempts[3]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(65);
    expect(attempts[2]!.at - attempts[1]!.at).toBeGreaterThanOrEqual(18);
    expect(retries.inc).toHaveBeenCalledTimes(3);
    expect(q.numRequeues('a')).toBe(0);
    await q.shutdown();
    await run;
  });

  it('requeueAfter schedules the key again and resets its backoff; requeue:true backs off', async () => {
    const q = newQueue({ backoff: { baseDelayMs: 5 } });
    const results: ReconcileResult[] = [{ requeue: true }, { requeue: true }, { requeueAfter: 30 }, {}];
    const seen: number[] = [];
    const t0 = Date.now();
    const run = q.run(() => {
      seen.push(Date.now() - t0);
      return results.shift();
    });
    q.add('a');
    await until(() => seen.length === 3);
    expect(q.numRequeues('a')).toBe(0); // forgotten by the requeueAfter result
    await until(() => seen.length === 4);
    expect(seen[3]! - seen[2]!).toBeGreaterThanOrEqual(25);
    await q.shutdown();
    await run;
  });

  it('forget resets backoff from outside', () => {
    const q = newQueue();
    q.addRateLimited('a');
    q.addRateLimited('a');
    expect(q.numRequeues('a')).toBe(2);
    q.forget('a');
    expect(q.numRequeues('a')).toBe(0);
    void q.shutdown();
  });

  it('reports depth and queue latency', async () => {
    const depth = { set: jest.fn() };
    const latency = { observe: jest.fn() };
    const q = newQueue({ metrics: { depth, latency } });
    q.add('a');
    q.add('b');
    expect(depth.set).toHaveBeenLastCalledWith(2);
    await sleep(20);
    const run = q.run(() => undefined, { concurrency: 1 });
    await until(() => latency.observe.mock.calls.length === 2);
    expect(depth.set).toHaveBeenLastCalledWith(0);
    const waited = latency.observe.mock.calls[0]![0] as number;
    expect(waited).toBeGreaterThanOrEqual(0.015);
    expect(waited).toBeLessThan(5);
    await q.shutdown();
    await run;
  });

  it('shutdown without drain finishes in-flight work, hands out nothing new, refuses adds', async () => {
    const q = newQueue();
    const gate = deferred();
    const seen: string[] = [];
    const run = q.run(
      async (k) => {
        seen.push(k);
        await gate.promise;
      },
      { concurrency: 1 },
    );
    q.add('a');
    q.add('b');
    q.addAfter('c', 10);
    await until(() => seen.length === 1);
    const stopping = q.shutdown({ drain: false, timeoutMs: 1000 });
    expect(q.add('d')).toBe(false);
    expect(q.pendingDelayed()).toEqual([]);
    gate.resolve();
    const result = await stopping;
    await run;
    expect(seen).toEqual(['a']);
    expect(result).toEqual({ timedOut: false, abandoned: [], dropped: 1 });
  });

  it('shutdown with drain processes what is queued, including a dirty in-flight key', async () => {
    const q = newQueue();
    const gate = deferred();
    const seen: string[] = [];
    const run = q.run(
      async (k) => {
        seen.push(k);
        if (seen.length === 1) await gate.promise;
        throw new Error('retries are dropped while draining');
      },
      { concurrency: 2 },
    );
    q.add('a');
    await until(() => seen.length === 1);
    q.add('a'); // dirty while in flight
    q.add('b');
    q.add('c');
    const stopping = q.shutdown({ drain: true, timeoutMs: 2000 });
    await sleep(20);
    gate.resolve();
    const result = await stopping;
    await run;
    expect(seen.sort()).toEqual(['a', 'a', 'b', 'c']);
    expect(result).toEqual({ timedOut: false, abandoned: [], dropped: 0 });
    expect(q.pendingDelayed()).toEqual([]);
  });

  it('aborts in-flight handlers when the drain times out', async () => {
    const q = newQueue();
    let reason: unknown;
    const run = q.run(
      (_k, { signal }) =>
        new Promise<void>((resolve) => {
          signal.addEventListener('abort', () => {
            reason = signal.reason;
            resolve();
          });
        }),
    );
    q.add('a');
    await until(() => q.processing().length === 1);
    const result = await q.shutdown({ drain: true, timeoutMs: 30, abortGraceMs: 1000 });
    await run;
    expect(result.timedOut).toBe(true);
    expect(result.abandoned).toEqual([]);
    expect(reason).toBeInstanceOf(ShutdownTimeoutError);
  });

  it('abandons a handler that ignores its signal, so shutdown and run still return', async () => {
    const q = newQueue();
    const never = deferred();
    const run = q.run(() => never.promise);
    q.add('stuck');
    await until(() => q.processing().length === 1);
    const result = await q.shutdown({ timeoutMs: 20, abortGraceMs: 20 });
    await run;
    expect(result).toEqual({ timedOut: true, abandoned: ['stuck'], dropped: 0 });
    never.resolve();
  });

  it('shuts down when the run signal is aborted', async () => {
    const q = newQueue();
    const ac = new AbortController();
    const run = q.run(() => undefined, { signal: ac.signal });
    ac.abort();
    await run;
    expect(q.shuttingDown).toBe(true);
    expect(q.add('x')).toBe(false);
  });

  it('shutdown is idempotent and run can only be called once', async () => {
    const q = newQueue();
    const run = q.run(() => undefined);
    await expect(q.run(() => undefined)).rejects.toThrow(/already/);
    const a = q.shutdown();
    const b = q.shutdown({ drain: true });
    expect(a).toBe(b);
    await a;
    await run;
  });

  it('rejects a bad concurrency', async () => {
    await expect(newQueue().run(() => undefined, { concurrency: 0 })).rejects.toThrow(RangeError);
  });

  it('keeps exact backoff delays under fake timers', async () => {
    jest.useFakeTimers();
    try {
      const q = newQueue({ backoff: { baseDelayMs: 100, maxDelayMs: 350 } });
      q.addRateLimited('a'); // 100
      await jest.advanceTimersByTimeAsync(99);
      expect(q.length).toBe(0);
      await jest.advanceTimersByTimeAsync(1);
      expect(q.length).toBe(1);
      q.addRateLimited('b'); // 100
      q.addRateLimited('b'); // 200, later than pending 100: pending kept
      await jest.advanceTimersByTimeAsync(100);
      expect(q.length).toBe(2);
      q.addRateLimited('c');
      q.addRateLimited('c');
      q.addRateLimited('c');
      q.addRateLimited('c'); // 350 (capped)
      expect(q.numRequeues('c')).toBe(4);
      await q.shutdown({ timeoutMs: 10 });
      expect(q.pendingDelayed()).toEqual([]);
    } finally {
      jest.useRealTimers();
    }
  });
});
